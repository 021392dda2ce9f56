"""Contact lists: rules and members, CSV import within scope, who each account can reach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from servicehub.core.errors import ActionError
from servicehub.core.models import Account, AuditEvent, Customer, CustomerIdentity
from servicehub.core.permissions import NotVisible
from servicehub.core.runtime import Runtime
from servicehub.listener.filtering import chain_for
from servicehub.listener.intake import intake
from servicehub.publishing.audiences import (
    ListRule,
    do_import_csv,
    do_save_list,
    member_ids,
    recipients,
)
from servicehub.routing.conversations import route_messages
from tests.factories import build_world, mention, principal_of

NOW = datetime.now(UTC)


def _customer(runtime: Runtime, account_id: int, uid: str, name: str, *, hours_ago: float = 1.0) -> int:
    with runtime.sessions() as s:
        account = s.get(Account, account_id)
        assert account is not None
        item = mention(
            f"49{uid}",
            f"@{account.display_name} 宽带怎么办理",
            author_uid=uid,
            name=name,
            account_uid=account.platform_uid,
            when=NOW - timedelta(hours=hours_ago),
        )
        ids = intake(s, account, [item], chain_for(s, runtime))
        s.commit()
    route_messages(runtime, ids)
    with runtime.sessions() as s:
        return s.scalars(
            select(CustomerIdentity.customer_id).where(CustomerIdentity.platform_uid == uid)
        ).one()


def test_a_csv_adds_the_customers_it_names_in_scope_and_reports_the_rest(runtime: Runtime) -> None:
    w = build_world(runtime)
    mine = _customer(runtime, w.partner_account_id, "3000000001", "阿强")
    by_phone = _customer(runtime, w.partner_account_id, "3000000002", "阿珍")
    elsewhere = _customer(runtime, w.inhouse_account_id, "3000000003", "别家客户")
    with runtime.sessions() as s:
        customer = s.get(Customer, by_phone)
        assert customer is not None
        customer.phone = "13800001111"
        who = principal_of(s, w.partner_id)
        contact_list = do_save_list(s, who, name="回访", rule=ListRule())
        csv = "\n".join(
            [
                "平台,用户ID",
                "weibo,3000000001",
                "+86 138-0000-1111",
                "weibo,3000000003",
                "weibo,3000000001",
                "乱写的一行",
            ]
        )
        report = do_import_csv(s, who, contact_list.id, csv.encode())
        s.commit()
        assert (report.added, report.already, report.unknown) == (2, 0, [4, 6])  # line 4: out of scope
        assert member_ids(s, contact_list) == {mine, by_phone}
        assert elsewhere not in member_ids(s, contact_list)
        again = do_import_csv(s, who, contact_list.id, b"weibo,3000000001\n")
        assert (again.added, again.already) == (0, 1)
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "contact_list")))
        assert actions == ["contact_list.created", "contact_list.imported", "contact_list.imported"]


def test_a_bad_csv_is_refused_whole(runtime: Runtime) -> None:
    w = build_world(runtime)
    with runtime.sessions() as s:
        who = principal_of(s, w.operator_id)
        contact_list = do_save_list(s, who, name="名单", rule=ListRule())
        with pytest.raises(ActionError) as refused:
            do_import_csv(s, who, contact_list.id, "weibo,1".encode("gbk") + "\n张三".encode("gbk"))
        assert refused.value.code == "csv_encoding"


def test_another_companys_list_is_missing(runtime: Runtime) -> None:
    w = build_world(runtime)
    with runtime.sessions() as s:
        ours = do_save_list(s, principal_of(s, w.operator_id), name="总部名单", rule=ListRule())
        s.commit()
        with pytest.raises(NotVisible):
            do_import_csv(s, principal_of(s, w.partner_id), ours.id, b"weibo,1\n")
        with pytest.raises(NotVisible):
            do_save_list(s, principal_of(s, w.partner_id), name="改名", rule=ListRule(), list_id=ours.id)


def test_a_rule_picks_customers_by_tags_and_tier_and_each_account_says_who_it_can_reach(
    runtime: Runtime,
) -> None:
    w = build_world(runtime)
    fresh = _customer(runtime, w.inhouse_account_id, "3000000011", "新客户", hours_ago=2)
    old = _customer(runtime, w.inhouse_account_id, "3000000012", "老客户", hours_ago=60)
    plain = _customer(runtime, w.inhouse_account_id, "3000000013", "普通客户", hours_ago=1)
    with runtime.sessions() as s:
        for customer_id in (fresh, old, plain):
            customer = s.get(Customer, customer_id)
            assert customer is not None
            customer.tags = ["宽带", "投诉过"] if customer_id != plain else ["宽带"]
            customer.tier = 2 if customer_id != plain else 0
        contact_list = do_save_list(
            s,
            principal_of(s, w.operator_id),
            name="宽带VIP",
            rule=ListRule(tags=("宽带", "投诉过"), min_tier=1),
        )
        assert member_ids(s, contact_list) == {fresh, old}
        account = s.get(Account, w.inhouse_account_id)
        assert account is not None
        found = {r.customer_id: r.reachable for r in recipients(s, account, {fresh, old}, NOW)}
        assert found == {fresh: True, old: False}  # 60 hours: beyond Weibo's 48-hour window
