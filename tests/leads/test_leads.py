"""Sales leads: logging, stages, owners, scope by company, and the masked CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import select

from servicehub.core.errors import ActionError
from servicehub.core.models import (
    AuditEvent,
    Grant,
    LeadEvent,
    LeadStage,
    Notification,
    Role,
    SalesLead,
    User,
)
from servicehub.core.permissions import Forbidden, NotVisible
from servicehub.core.runtime import Runtime
from servicehub.leads.actions import STAGES, do_change_owner, do_create_lead, do_move_stage, do_update_lead
from servicehub.leads.reads import LeadFilter, export_csv, lead_detail, leads_of_customer, list_leads
from tests.workday_support import Desk, build_desk

HEADER = ["id", "created", "customer", "phone", "account", "product", "value", "stage", "owner", "notes"]
NAMES = {"potential": "潜在", "intentional": "意向", "won": "成交", "lost": "流失"}


@pytest.fixture
def desk(runtime: Runtime) -> Desk:
    return build_desk(runtime)


def _lead(desk: Desk, user_id: int | None = None, request_id: int | None = None, **kw: Any) -> int:
    fields = {"product": "5G 套餐升级", "value": 199, "notes": "客户手机 13812345678，晚上联系"}
    fields.update(kw)
    lead = desk.do(
        user_id or desk.world.operator_id, do_create_lead, request_id=request_id or desk.mine, **fields
    )
    return int(lead.id)


def test_a_lead_from_a_request_belongs_to_the_logger_s_company(desk: Desk) -> None:
    lead_id = _lead(desk)
    with desk.session() as s:
        lead = s.get(SalesLead, lead_id)
        assert lead is not None
        assert (lead.org_id, lead.owner_id, lead.account_id, lead.request_id) == (
            desk.world.inhouse_org_id,
            desk.world.operator_id,
            desk.world.inhouse_account_id,
            desk.mine,
        )
        assert lead.stage == LeadStage.POTENTIAL
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "lead.created"))
        assert event.actor_id == desk.world.operator_id and event.detail["product"] == "5G 套餐升级"
        assert [e.kind for e in s.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead_id))] == [
            "created"
        ]


def test_a_lead_from_a_customer_takes_the_account_of_their_latest_conversation(desk: Desk) -> None:
    with desk.session() as s:
        from servicehub.core.models import ServiceRequest

        request = s.get(ServiceRequest, desk.mine)
        assert request is not None
        customer_id = request.customer_id
    lead = desk.do(desk.world.operator_id, do_create_lead, customer_id=customer_id, product="宽带提速")
    assert lead.account_id == desk.world.inhouse_account_id and lead.request_id is None
    with pytest.raises(NotVisible):  # a partner never heard this customer: as if missing
        desk.do(desk.world.partner_id, do_create_lead, customer_id=customer_id, product="宽带提速")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"product": "  "}, "field_required"),
        ({"product": "x" * 121}, "too_long"),
        ({"value": 100_000_001}, "out_of_range"),
        ({"notes": "x" * 2001}, "too_long"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(desk: Desk, fields: dict[str, Any], code: str) -> None:
    with pytest.raises(ActionError) as refused:
        _lead(desk, None, None, **fields)
    assert refused.value.code == code
    with desk.session() as s:
        assert s.scalars(select(SalesLead)).first() is None


def test_logging_needs_the_request_in_scope_and_the_function(desk: Desk) -> None:
    with pytest.raises(NotVisible):
        _lead(desk, desk.world.partner_id, request_id=desk.mine)
    with desk.runtime.sessions.begin() as s:
        role = Role(name="readonly", label="只读")
        role.grants.append(Grant(function="request.view", scope="org", states=[]))
        s.add(role)
        user = s.get(User, desk.world.operator2_id)
        assert user is not None
        user.roles = [role]
    with pytest.raises(Forbidden):
        _lead(desk, desk.world.operator2_id)


def test_partners_see_only_their_company_s_leads(desk: Desk) -> None:
    ours = _lead(desk)
    theirs = _lead(desk, desk.world.partner_id, request_id=desk.theirs, product="融合套餐")
    seen = {}
    for user_id in (
        desk.world.manager_id,
        desk.world.operator_id,
        desk.world.partner_id,
        desk.psup,
        desk.world.other_partner_id,
    ):
        who = desk.who(user_id)
        with desk.session() as s:
            seen[user_id] = (
                {r.id for r in list_leads(s, who, LeadFilter()).rows} if who.can("lead.manage") else set()
            )
    assert seen == {
        desk.world.manager_id: {ours, theirs},
        desk.world.operator_id: {ours},
        desk.world.partner_id: {theirs},
        desk.psup: {theirs},  # the partner company's supervisor too
        desk.world.other_partner_id: set(),
    }
    with pytest.raises(NotVisible):
        desk.do(desk.world.partner_id, do_move_stage, ours, "intentional")
    operator = desk.who(desk.world.operator_id)
    with desk.session() as s, pytest.raises(NotVisible):
        lead_detail(s, operator, theirs)


@pytest.mark.parametrize("before", list(LeadStage))
@pytest.mark.parametrize("after", list(LeadStage))
def test_stages_move_only_as_the_table_says(desk: Desk, before: LeadStage, after: LeadStage) -> None:
    lead_id = _lead(desk)
    with desk.runtime.sessions.begin() as s:
        lead = s.get(SalesLead, lead_id)
        assert lead is not None
        lead.stage = before
    if after in STAGES[before]:
        desk.do(desk.world.operator_id, do_move_stage, lead_id, str(after), "客户确认要办")
        with desk.session() as s:
            events = list(
                s.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead_id, LeadEvent.kind == "stage"))
            )
            assert [(e.before, e.after) for e in events] == [(str(before), str(after))]
            [audited] = s.scalars(select(AuditEvent).where(AuditEvent.action == "lead.stage"))
            assert audited.detail == {"lead_from": str(before), "lead_to": str(after)}
    else:
        with pytest.raises(ActionError) as refused:
            desk.do(desk.world.operator_id, do_move_stage, lead_id, str(after))
        assert refused.value.code == "lead_stage_not_allowed"
        with desk.session() as s:
            lead = s.get(SalesLead, lead_id)
            assert lead is not None and lead.stage == before


def test_the_owner_changes_only_to_a_colleague_who_follows_leads(desk: Desk) -> None:
    lead_id = _lead(desk)
    with pytest.raises(NotVisible):  # someone of another company
        desk.do(desk.world.operator_id, do_change_owner, lead_id, desk.world.partner_id)
    desk.do(desk.world.operator_id, do_change_owner, lead_id, desk.world.operator2_id)
    with desk.session() as s:
        lead = s.get(SalesLead, lead_id)
        assert lead is not None and lead.owner_id == desk.world.operator2_id
        [event] = s.scalars(select(LeadEvent).where(LeadEvent.kind == "owner"))
        assert (event.before, event.after) == ("张伟", "刘洋")
        told = s.scalars(select(Notification).where(Notification.kind == "lead_assigned")).one()
        assert told.user_id == desk.world.operator2_id and told.lead_id == lead_id
        assert (
            s.scalars(select(AuditEvent).where(AuditEvent.action == "lead.owner")).one().detail["user_id"]
            == desk.world.operator2_id
        )


def test_editing_records_what_changed(desk: Desk) -> None:
    lead_id = _lead(desk)
    desk.do(
        desk.world.operator_id,
        do_update_lead,
        lead_id,
        product="5G 套餐升级",
        value=299,
        notes="改为 299 元档",
    )
    with desk.session() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "lead.updated")).one().detail == {
            "changed": ["notes", "value"]
        }


def test_filters_narrow_the_list(desk: Desk) -> None:
    first = _lead(desk)
    second = _lead(desk, product="宽带提速", value=100)
    desk.do(desk.world.operator_id, do_move_stage, second, "intentional")
    desk.do(desk.world.operator_id, do_change_owner, second, desk.world.operator2_id)
    manager = desk.who(desk.world.manager_id)
    with desk.session() as s:
        page = list_leads(s, manager, LeadFilter(stage="intentional"))
        assert [r.id for r in page.rows] == [second] and page.total_value == 100
        assert [r.id for r in list_leads(s, manager, LeadFilter(owner_id=desk.world.operator_id)).rows] == [
            first
        ]
        assert list_leads(s, manager, LeadFilter(account_id=desk.world.partner_account_id)).total == 0
        assert {o for o, _ in list_leads(s, manager, LeadFilter()).owners} == {
            desk.world.operator_id,
            desk.world.operator2_id,
        }


def test_export_needs_the_function_and_masks_phones_for_who_may_not_see_them(desk: Desk) -> None:
    _lead(desk)
    manager = desk.who(desk.world.manager_id)
    with desk.session() as s:
        rows = list(
            csv.reader(io.StringIO(export_csv(s, manager, LeadFilter(), HEADER, NAMES).lstrip("\ufeff")))
        )
    assert rows[0] == HEADER and rows[1][3] == "" and "13812345678" in rows[1][9]  # manager sees phones
    operator = desk.who(desk.world.operator_id)
    with desk.session() as s, pytest.raises(Forbidden):
        export_csv(s, operator, LeadFilter(), HEADER, NAMES)
    with desk.runtime.sessions.begin() as s:  # an exporter who may not see phones
        role = Role(name="lead_exporter", label="线索导出")
        role.grants.extend(
            [
                Grant(function="lead.manage", scope="all", states=[]),
                Grant(function="export", scope="all", states=[]),
            ]
        )
        s.add(role)
        from servicehub.core.models import Customer, ServiceRequest

        request = s.get(ServiceRequest, desk.mine)
        assert request is not None
        customer = s.get(Customer, request.customer_id)
        assert customer is not None
        customer.phone = "13987654321"
        user = s.get(User, desk.world.other_partner_id)
        assert user is not None
        user.roles = [role]
    exporter = desk.who(desk.world.other_partner_id)
    with desk.session() as s:
        text = export_csv(s, exporter, LeadFilter(), HEADER, NAMES)
    assert "13812345678" not in text and "138****5678" in text
    assert "13987654321" not in text and "139****4321" in text
    assert ",潜在," in text


def test_formula_cells_are_neutralized(desk: Desk) -> None:
    _lead(desk, product='=HYPERLINK("http://x")')
    manager = desk.who(desk.world.manager_id)
    with desk.session() as s:
        text = export_csv(s, manager, LeadFilter(), HEADER, NAMES)
    assert "'=HYPERLINK" in text


def test_a_customer_s_leads_for_the_request_page(desk: Desk) -> None:
    lead_id = _lead(desk)
    operator, partner = desk.who(desk.world.operator_id), desk.who(desk.world.partner_id)
    with desk.session() as s:
        from servicehub.core.models import ServiceRequest

        request = s.get(ServiceRequest, desk.mine)
        assert request is not None
        assert [r.id for r in leads_of_customer(s, operator, request.customer_id)] == [lead_id]
        assert leads_of_customer(s, partner, request.customer_id) == []
