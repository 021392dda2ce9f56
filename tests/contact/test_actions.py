"""Confirming a phone, linking the CRM record, sending SMS/MMS/e-mail and linking identities:
the actions against the CRM + SMS gateway simulator and a local SMTP server, as each role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from servicehub.adapters.base import InboundItem, ItemKind, PlatformUser, ReplyTarget
from servicehub.contact.actions import (
    do_confirm_phone,
    do_link_crm,
    do_queue_email,
    do_queue_sms,
    do_unlink_crm,
)
from servicehub.contact.identities import do_link_customers, do_unlink_identity, same_phone
from servicehub.contact.panel import contact_panel
from servicehub.core.errors import ActionError
from servicehub.core.models import (
    Account,
    AuditEvent,
    Customer,
    CustomerIdentity,
    DeliveryState,
    Grant,
    Message,
    Organization,
    OutboundKind,
    OutboundMessage,
    Priority,
    Role,
    Scope,
    ServiceRequest,
)
from servicehub.core.permissions import Forbidden, NotVisible
from servicehub.core.runtime import Runtime
from servicehub.listener.filtering import chain_for
from servicehub.listener.intake import intake
from servicehub.publishing.outbox import do_retry_outbound, send_outbound
from servicehub.routing.conversations import route_messages
from servicehub.routing.history import customer_history
from tests.contact.support import ContactServices, act, contact_services, queue_sms
from tests.factories import World, add_wechat_account, build_world, principal_of
from tests.workbench.conftest import hear

PHONE = "13812345678"  # 王建国 in the simulator's CRM: CRM0001001, tier 2, wangjg@example.com
DM = f"宽带又断了，我的手机号是{PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}，麻烦尽快联系我"


@pytest.fixture
def services() -> Iterator[ContactServices]:
    with contact_services() as made:
        yield made


@pytest.fixture
def rt(services: ContactServices, sqlite_runtime_with: Callable[..., Runtime]) -> Runtime:
    return sqlite_runtime_with(**services.sections())


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt)


def _customer(runtime: Runtime, request_id: int) -> Customer:
    with runtime.sessions() as s:
        request = s.get(ServiceRequest, request_id)
        assert request is not None
        customer = s.get(Customer, request.customer_id)
        assert customer is not None
        return customer


def test_operator_confirms_the_phone_found_in_a_dm_and_links_the_crm_record(
    rt: Runtime, world: World
) -> None:
    request_id = hear(rt, world.inhouse_account_id, "4900000000000101", DM)
    with rt.sessions() as s:
        panel = contact_panel(s, rt, principal_of(s, world.operator_id), request_id)
    assert panel.phone_suggestions == [PHONE] and panel.can_confirm_phone and panel.crm_candidates == []

    with pytest.raises(ActionError) as early:
        act(rt, world.operator_id, do_link_crm, request_id, "CRM0001001")
    assert early.value.code == "phone_first"
    with pytest.raises(ActionError) as bad:
        act(rt, world.operator_id, do_confirm_phone, request_id, "1381234567")
    assert bad.value.code == "invalid_phone"
    act(rt, world.operator_id, do_confirm_phone, request_id, f"+86 {PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}")
    assert _customer(rt, request_id).phone == PHONE

    with rt.sessions() as s:
        panel = contact_panel(s, rt, principal_of(s, world.operator_id), request_id)
        before = s.get(ServiceRequest, request_id)
        assert before is not None and before.priority == Priority.HIGH  # negative sentiment only
    assert panel.phone_suggestions == [] and [r.crm_number for r in panel.crm_candidates] == ["CRM0001001"]
    with pytest.raises(ActionError) as mismatch:
        act(rt, world.operator_id, do_link_crm, request_id, "CRM0001002")  # 李秀英's number is another
    assert mismatch.value.code == "crm_phone_mismatch"
    act(rt, world.operator_id, do_link_crm, request_id, "CRM0001001")

    customer = _customer(rt, request_id)
    assert (customer.crm_number, customer.tier, customer.email) == ("CRM0001001", 2, "wangjg@example.com")
    assert customer.crm_profile is not None and customer.crm_profile["plan"] == "5G畅爽套餐 129元"
    with rt.sessions() as s:
        request = s.get(ServiceRequest, request_id)
        assert request is not None and request.priority == Priority.URGENT  # the tier raised it
        events = {
            e.action: e.detail
            for e in s.scalars(select(AuditEvent).where(AuditEvent.object_type == "customer"))
        }
    assert events["customer.phone_confirmed"]["after"] == "138****5678"  # never whole in the audit log
    assert events["customer.crm_linked"]["tier"] == [0, 2]

    act(rt, world.operator_id, do_unlink_crm, request_id)
    customer = _customer(rt, request_id)
    assert (customer.crm_number, customer.crm_profile, customer.tier) == (None, None, 0)


def test_crm_that_does_not_answer_is_said_so(rt: Runtime, world: World, services: ContactServices) -> None:
    request_id = hear(rt, world.inhouse_account_id, "4900000000000102", DM)
    act(rt, world.operator_id, do_confirm_phone, request_id, PHONE)
    services.sim.sim.config.crm_token = "rotated"  # the CRM no longer accepts the hub's token
    with rt.sessions() as s:
        panel = contact_panel(s, rt, principal_of(s, world.operator_id), request_id)
    assert panel.crm_unavailable and panel.crm_candidates == []
    with pytest.raises(ActionError) as down:
        act(rt, world.operator_id, do_link_crm, request_id, "CRM0001001")
    assert down.value.code == "crm_unavailable"


def test_sms_and_email_go_out_once_each(rt: Runtime, world: World, services: ContactServices) -> None:
    request_id = hear(rt, world.inhouse_account_id, "4900000000000103", DM)
    with pytest.raises(ActionError) as no_phone:
        queue_sms(rt, world.operator_id, request_id, "n0")
    assert no_phone.value.code == "no_phone"
    act(rt, world.operator_id, do_confirm_phone, request_id, PHONE)
    act(rt, world.operator_id, do_link_crm, request_id, "CRM0001001")
    for _ in range(2):  # a double click: the same nonce adds nothing
        sms = queue_sms(rt, world.operator_id, request_id, "n1")
    mms = queue_sms(rt, world.operator_id, request_id, "n2", "MMS_200001", name="王先生", plan="5G尊享")
    mail = act(
        rt,
        world.operator_id,
        do_queue_email,
        request_id,
        to="",
        subject="宽带报修进度",
        body="王先生您好：师傅明天上午上门。",
        nonce="n3",
    )
    assert isinstance(mail, OutboundMessage)
    received = services.sim.sim.received  # the SyncRunner sent each on commit
    assert [(r.template, r.phone, r.out_id) for r in received] == [
        ("SMS_100001", PHONE, sms.idempotency_key),
        ("MMS_200001", PHONE, mms.idempotency_key),
    ]
    assert received[0].params == {"name": "王先生", "hours": "24"}
    [letter] = services.smtp.received()
    assert letter.rcpt_tos == ["wangjg@example.com"] and letter.message["Subject"] == "宽带报修进度"
    customer_id = _customer(rt, request_id).id
    with rt.sessions() as s:
        rows = list(
            s.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.request_id == request_id)
                .order_by(OutboundMessage.id)
            )
        )
        assert [(o.kind, o.state) for o in rows] == [
            (OutboundKind.SMS, DeliveryState.SENT),
            (OutboundKind.MMS, DeliveryState.SENT),
            (OutboundKind.EMAIL, DeliveryState.SENT),
        ]
        assert rows[0].text == "尊敬的王先生，您反映的问题已受理，我们将在24小时内处理完毕。"
        assert rows[0].platform_id == received[0].biz_id
        history = customer_history(s, principal_of(s, world.operator_id), customer_id)
    sent = [(e.kind, e.to, e.state) for e in history.events if e.direction == "out"]
    assert sorted(sent) == [
        ("email", "wangjg@example.com", "sent"),
        ("mms", PHONE, "sent"),
        ("sms", PHONE, "sent"),
    ]
    assert send_outbound(rt, sms.id) is None  # sent rows are never claimed again
    assert len(services.sim.sim.received) == 2


def test_partners_do_not_collect_phones_or_send_unless_granted_and_see_only_masks(
    rt: Runtime, world: World, services: ContactServices
) -> None:
    theirs = hear(rt, world.partner_account_id, "4900000000000104", DM, author_uid="88")
    mine = hear(rt, world.inhouse_account_id, "4900000000000105", "在吗", author_uid="99")
    with rt.sessions() as s:
        panel = contact_panel(s, rt, principal_of(s, world.partner_id), theirs)
    assert (
        not (panel.can_confirm_phone or panel.can_contact or panel.can_link_identity)
        and panel.phone_suggestions == []
    )
    for action, args in (
        (do_confirm_phone, (PHONE,)),
        (do_link_crm, ("CRM0001001",)),
        (do_queue_sms, ("SMS_100001", {"name": "王先生", "hours": "2"})),
    ):
        kwargs = {"nonce": "x"} if action is do_queue_sms else {}
        with pytest.raises(Forbidden):
            act(rt, world.partner_id, action, theirs, *args, **kwargs)
        with pytest.raises(NotVisible):  # another company's request: as if it did not exist
            act(rt, world.other_partner_id, action, theirs, *args, **kwargs)
        with pytest.raises(NotVisible):
            act(rt, world.partner_id, action, mine, *args, **kwargs)

    customer_id = _customer(rt, theirs).id
    with rt.sessions.begin() as s:  # the partner's company decides its operators may send SMS
        s.get(Customer, customer_id).phone = PHONE  # type: ignore[union-attr]
        role = s.scalars(select(Role).where(Role.name == "partner_operator")).one()
        role.grants.append(Grant(function="customer.contact", scope=Scope.ORG, states=[]))
    queue_sms(rt, world.partner_id, theirs, "p1", name=f"机主{PHONE}", hours="2")
    assert services.sim.sim.received[-1].phone == PHONE
    with pytest.raises(ActionError) as masked:  # a masked address can never overwrite the real one
        act(
            rt,
            world.partner_id,
            do_queue_email,
            theirs,
            to="w***@example.com",
            subject="s",
            body="b",
            nonce="p2",
        )
    assert masked.value.code == "invalid_email"
    with rt.sessions() as s:
        lina = principal_of(s, world.partner_id)
        panel = contact_panel(s, rt, lina, theirs)
        history = customer_history(s, lina, customer_id)
    assert panel.customer.phone == "138****5678" and panel.can_contact
    [send] = panel.sends
    assert send.to == "138****5678" and PHONE not in send.text and "138****5678" in send.text
    assert PHONE not in repr(history) and any(e.to == "138****5678" for e in history.events)


def _wechat_dm(runtime: Runtime, world: World, openid: str, text: str) -> int:
    """The same person writing to the WeChat account: a request of another customer."""
    with runtime.sessions.begin() as s:
        org = s.get(Organization, world.inhouse_org_id)
        assert org is not None
        account = add_wechat_account(
            s,
            runtime,
            org=org,
            original_id="gh_test",
            appid="wxtest",
            secret="s",
            push_token="t",
            operator_ids=(world.operator_id,),
        )
        account_id = account.id
    item = InboundItem(
        platform="wechat",
        kind=ItemKind.PRIVATE_MESSAGE,
        platform_id="wx-msg-1",
        account_uid="gh_test",
        author=PlatformUser(platform="wechat", uid=openid, screen_name=openid),
        text=text,
        created_at=datetime.now(UTC),
        thread_id=openid,
        reply_target=ReplyTarget(kind="private_message", user_uid=openid),
    )
    with runtime.sessions() as s:
        account = s.get(Account, account_id)
        assert account is not None
        ids = intake(s, account, [item], chain_for(s, runtime))
        s.commit()
    route_messages(runtime, ids)
    with runtime.sessions() as s:
        message = s.get(Message, ids[0])
        assert message is not None and message.request_id is not None
        return message.request_id


def test_a_weibo_and_a_wechat_identity_are_linked_by_phone_and_split_again(runtime: Runtime) -> None:
    rt, world = runtime, build_world(runtime)  # SQLite and PostgreSQL: the moves are bulk updates
    weibo = hear(rt, world.inhouse_account_id, "4900000000000106", DM, author_uid="5001")
    wechat = _wechat_dm(rt, world, "o_wx_5001", f"微信这边再说一次，号码{PHONE}")
    a, b = _customer(rt, weibo).id, _customer(rt, wechat).id
    for request_id in (weibo, wechat):
        act(rt, world.operator_id, do_confirm_phone, request_id, PHONE)
    with rt.sessions() as s:
        zhang = principal_of(s, world.operator_id)
        assert [c.id for c in same_phone(s, zhang, s.get(Customer, a))] == [b]  # type: ignore[arg-type]
        assert same_phone(s, principal_of(s, world.partner_id), s.get(Customer, a)) == []  # type: ignore[arg-type]
    with pytest.raises(NotVisible):  # the partner sees neither customer
        act(rt, world.partner_id, do_link_customers, a, b, by_phone=True)
    act(rt, world.operator_id, do_link_customers, a, b, by_phone=True)

    with rt.sessions() as s:
        zhang = principal_of(s, world.operator_id)
        history = customer_history(s, zhang, a)
        assert {i.platform for i in history.identities} == {"weibo", "wechat"}
        assert {e.platform for e in history.events} == {"weibo", "wechat"} and history.requests == 2
        merged = s.get(Customer, b)
        assert merged is not None and merged.merged_into_id == a
        wechat_identity = s.scalars(
            select(CustomerIdentity).where(CustomerIdentity.platform == "wechat")
        ).one()
    with pytest.raises(NotVisible):  # a merged customer is gone for linking
        act(rt, world.operator_id, do_link_customers, b, a, by_phone=False)

    own = act(rt, world.operator_id, do_unlink_identity, a, wechat_identity.id)
    assert isinstance(own, Customer)
    with rt.sessions() as s:
        assert s.get(ServiceRequest, wechat).customer_id == own.id  # type: ignore[union-attr]
        assert s.get(ServiceRequest, weibo).customer_id == a  # type: ignore[union-attr]
        moved = s.scalar(select(func.count()).where(Message.customer_id == own.id))
        assert moved == 1
        weibo_identity = s.scalars(select(CustomerIdentity.id).where(CustomerIdentity.customer_id == a)).one()
    with pytest.raises(ActionError) as last:
        act(rt, world.operator_id, do_unlink_identity, a, weibo_identity)
    assert last.value.code == "last_identity"


def test_an_operator_retry_of_an_undelivered_sms_is_a_new_send(
    rt: Runtime, world: World, services: ContactServices
) -> None:
    request_id = hear(rt, world.inhouse_account_id, "4900000000000107", DM)
    act(rt, world.operator_id, do_confirm_phone, request_id, PHONE)
    sms = queue_sms(rt, world.operator_id, request_id, "r1")
    with rt.sessions.begin() as s:  # as a report saying 停机 would leave it
        row = s.get(OutboundMessage, sms.id)
        assert row is not None and row.platform_id
        row.state = DeliveryState.FAILED
    act(rt, world.operator_id, do_retry_outbound, sms.id)
    first, second = services.sim.sim.received
    assert first.out_id == sms.idempotency_key and second.out_id.startswith(f"{sms.idempotency_key}.")


def test_the_builtin_crm_of_the_embedded_mode_through_the_request_page(
    sqlite_runtime_with: Callable[..., Runtime],
) -> None:
    """The built-in CRM is read inside the page's and the action's own transaction (SQLite
    has one writer, and every hub session takes it): the request page lists the record
    and links it, within one HTTP request each."""
    from starlette.testclient import TestClient

    from servicehub.demo_contact import seed_contact_demo
    from servicehub.workbench.app import create_app
    from tests.workbench.conftest import csrf_of, login

    runtime = sqlite_runtime_with()  # [crm] backend = "builtin": the default
    world = build_world(runtime)
    seed_contact_demo(runtime)
    request_id = hear(runtime, world.inhouse_account_id, "4900000000000108", DM)
    with TestClient(create_app(runtime), follow_redirects=False) as client:
        login(client, "zhangwei")
        page = client.get(f"/requests/{request_id}")
        token = csrf_of(page.text)
        assert (
            client.post(
                f"/requests/{request_id}/phone", data={"phone": PHONE, "csrf_token": token}
            ).status_code
            == 303
        )
        page = client.get(f"/requests/{request_id}")
        assert "王建国" in page.text and "CRM0001001" in page.text and "关联此档案" in page.text
        linked = client.post(
            f"/requests/{request_id}/crm", data={"crm_number": "CRM0001001", "csrf_token": token}
        )
        assert linked.headers["location"] == f"/requests/{request_id}?notice=contact_crm_linked#contact"
        page = client.get(linked.headers["location"])
        assert "已关联 CRM 档案" in page.text and "5G畅爽套餐 129元" in page.text and "VIP2" in page.text
