"""Work orders: opening one, every step allowed and refused, who sees what, what each step leaves
behind (steps, audit events, notifications, live events) -- on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from servicehub.core.db import utcnow
from servicehub.core.errors import ActionError
from servicehub.core.models import (
    AuditEvent,
    Notification,
    RequestState,
    ServiceRequest,
    WorkOrder,
    WorkOrderState,
    WorkOrderStep,
)
from servicehub.core.permissions import Forbidden, NotVisible
from servicehub.core.runtime import Runtime
from servicehub.routing.requests import do_resolve_request
from servicehub.workorders.actions import (
    do_accept,
    do_add_progress,
    do_close,
    do_open_work_order,
    do_reopen,
    do_return_with_result,
    do_send_back,
)
from servicehub.workorders.machine import TRANSITIONS, Step, next_state, steps_from
from servicehub.workorders.reads import list_orders, order_detail, overdue_orders, target_choices
from tests.workbench.conftest import hear
from tests.workday_support import Desk, build_desk, tomorrow


@pytest.fixture
def desk(runtime: Runtime) -> Desk:
    return build_desk(runtime)


def _open(desk: Desk, target: str, **kw: object) -> int:
    fields = {
        "kind": "billing",
        "description": "核查上月话费多扣 50 元",
        "target": target,
        "due_at": tomorrow(),
    }
    fields.update(kw)
    order = desk.do(desk.world.operator_id, do_open_work_order, desk.mine, **fields)
    return int(order.id)


def _events(desk: Desk, action: str) -> list[AuditEvent]:
    with desk.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _notified(desk: Desk, user_id: int, kind: str) -> int:
    with desk.session() as s:
        stmt = select(func.count()).where(Notification.user_id == user_id, Notification.kind == kind)
        return int(s.scalar(stmt) or 0)


def test_the_whole_loop_to_a_team_is_stepped_audited_and_told(desk: Desk) -> None:
    order_id = _open(desk, f"team:{desk.billing_team}")
    with desk.session() as s:
        order = s.get(WorkOrder, order_id)
        request = s.get(ServiceRequest, desk.mine)
        assert order is not None and request is not None
        assert order.state == WorkOrderState.SENT and order.to_team_id == desk.billing_team
        assert request.state == RequestState.TRANSFERRED  # the queue shows it handed over
    assert _notified(desk, desk.billing, "workorder_received") == 1
    assert [e.object_id for e in _events(desk, "workorder.opened")] == [str(order_id)]

    desk.do(desk.billing, do_accept, order_id)
    assert _notified(desk, desk.world.operator_id, "workorder_accepted") == 1
    desk.do(desk.billing, do_add_progress, order_id, "已调取计费详单")
    desk.do(desk.billing, do_return_with_result, order_id, "确认重复扣费，已退 50 元")
    assert _notified(desk, desk.world.operator_id, "workorder_returned") == 1
    with desk.session() as s:
        request = s.get(ServiceRequest, desk.mine)
        assert request is not None and request.state == RequestState.IN_PROGRESS  # back with its operator
    desk.do(desk.world.operator_id, do_close, order_id, "已回复客户")

    with desk.session() as s:
        order = s.get(WorkOrder, order_id)
        assert order is not None
        assert order.state == WorkOrderState.CLOSED and order.handler_id == desk.billing
        assert order.result == "确认重复扣费，已退 50 元"
        assert order.accepted_at and order.returned_at and order.closed_at
        steps = list(s.scalars(select(WorkOrderStep).where(WorkOrderStep.work_order_id == order_id)))
    assert [(st.action, st.from_state, st.to_state) for st in steps] == [
        ("open", None, "sent"),
        ("accept", "sent", "accepted"),
        ("progress", "accepted", "accepted"),
        ("return", "accepted", "returned"),
        ("close", "returned", "closed"),
    ]
    for action in ("accepted", "progress", "returned", "closed"):
        [event] = _events(desk, f"workorder.{action}")
        assert event.object_type == "work_order" and event.object_id == str(order_id)
    closing = _events(desk, "workorder.closed")[0]
    assert closing.actor_id == desk.world.operator_id
    assert closing.detail["wo_state_before"] == "returned" and closing.detail["wo_state_after"] == "closed"


def test_steps_carry_the_account_in_their_live_events(desk: Desk) -> None:
    published: list[dict[str, object]] = []
    desk.runtime.events.publish = published.append  # type: ignore[method-assign,assignment]
    order_id = _open(desk, f"team:{desk.billing_team}")
    desk.do(desk.billing, do_accept, order_id)
    orders = [e for e in published if e["type"] == "workorder"]
    assert orders and all(e["account_id"] == desk.world.inhouse_account_id for e in orders)
    assert all(e["work_order_id"] == order_id and e["request_id"] == desk.mine for e in orders)
    told = [e for e in published if e["type"] == "notification"]
    assert {"user_ids": [desk.billing], "account_id": desk.world.inhouse_account_id}.items() <= told[
        0
    ].items()


# -- the state machine ---------------------------------------------------------------------------

ALL_STATES = [None, *WorkOrderState]


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("step", list(Step))
def test_the_machine_allows_exactly_its_table(state: WorkOrderState | None, step: Step) -> None:
    if (state, step) in TRANSITIONS:
        assert next_state(state, step) == TRANSITIONS[state, step]
    else:
        with pytest.raises(ActionError) as refused:
            next_state(state, step)
        assert refused.value.code == "workorder_step_not_allowed"


def test_steps_from_lists_the_buttons_of_each_state() -> None:
    assert steps_from(WorkOrderState.SENT) == [Step.ACCEPT, Step.SEND_BACK, Step.CLOSE]
    assert steps_from(WorkOrderState.ACCEPTED) == [Step.SEND_BACK, Step.PROGRESS, Step.RETURN]
    assert steps_from(WorkOrderState.CLOSED) == [Step.REOPEN]


def test_a_refused_step_changes_nothing(desk: Desk) -> None:
    order_id = _open(desk, f"team:{desk.billing_team}")
    with pytest.raises(ActionError) as refused:
        desk.do(desk.billing, do_return_with_result, order_id, "还没受理就回复")
    assert refused.value.code == "workorder_step_not_allowed"
    assert refused.value.params == {"wo_step": "return", "wo_state": "sent"}
    with desk.session() as s:
        order = s.get(WorkOrder, order_id)
        assert order is not None and order.state == WorkOrderState.SENT and order.result == ""
        assert s.scalar(select(func.count()).where(WorkOrderStep.work_order_id == order_id)) == 1
    assert _events(desk, "workorder.returned") == []


def test_send_back_then_resend_then_withdraw(desk: Desk) -> None:
    order_id = _open(desk, f"user:{desk.world.operator2_id}")
    with pytest.raises(ActionError) as empty:
        desk.do(desk.world.operator2_id, do_send_back, order_id, "  ")
    assert empty.value.code == "field_required"
    desk.do(desk.world.operator2_id, do_send_back, order_id, "这不是计费问题，是网络故障")
    assert _notified(desk, desk.world.operator_id, "workorder_sent_back") == 1
    with desk.session() as s:
        request = s.get(ServiceRequest, desk.mine)
        assert request is not None and request.state == RequestState.IN_PROGRESS
    desk.do(desk.world.operator_id, do_reopen, order_id, "补充了客户的账单截图")
    assert _notified(desk, desk.world.operator2_id, "workorder_reopened") == 1
    desk.do(desk.world.operator_id, do_close, order_id)
    with desk.session() as s:
        order = s.get(WorkOrder, order_id)
        assert order is not None and order.state == WorkOrderState.CLOSED and order.handler_id is None


def test_a_reopened_order_follows_the_customer_to_the_newer_request(desk: Desk) -> None:
    order_id = _open(desk, f"team:{desk.billing_team}")
    desk.do(desk.billing, do_accept, order_id)
    desk.do(desk.billing, do_return_with_result, order_id, "已退费")
    desk.do(desk.world.operator_id, do_close, order_id)
    desk.do(desk.world.operator_id, do_resolve_request, desk.mine)
    with desk.session() as s:
        old = s.get(ServiceRequest, desk.mine)
        assert old is not None
        newer = ServiceRequest(
            account_id=old.account_id,
            customer_id=old.customer_id,
            thread_key=old.thread_key,
            subject="退费还没到账",
            due_at=utcnow() + timedelta(hours=4),
        )
        s.add(newer)
        s.commit()
        newer_id = newer.id
    desk.do(desk.world.operator_id, do_reopen, order_id, "客户说退费没有到账")
    with desk.session() as s:
        order = s.get(WorkOrder, order_id)
        again = s.get(ServiceRequest, newer_id)
        assert order is not None and again is not None
        assert order.request_id == newer_id and order.state == WorkOrderState.SENT
        assert order.result == "" and order.handler_id is None
        assert again.state == RequestState.TRANSFERRED
    [moved] = _events(desk, "workorder.moved")
    assert moved.detail == {"from_request_id": desk.mine, "request_id": newer_id}
    assert _notified(desk, desk.billing, "workorder_reopened") == 1


# -- opening: permission and validation ----------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"kind": "party"}, "invalid_choice"),
        ({"description": "   "}, "field_required"),
        ({"due_at": None}, "field_required"),
        ({"due_at": "past"}, "workorder_due"),
        ({"due_at": "far"}, "workorder_due"),
        ({"target": "nobody"}, "field_required"),
        ({"target": "me"}, "workorder_to_self"),
    ],
)
def test_opening_refuses_bad_input_and_writes_nothing(
    desk: Desk, fields: dict[str, object], code: str
) -> None:
    fields = dict(fields)  # the parameter is shared by both databases' runs
    when = {"past": utcnow() - timedelta(minutes=1), "far": utcnow() + timedelta(days=91)}
    if fields.get("due_at") in when:
        fields["due_at"] = when[str(fields["due_at"])]
    if fields.get("target") == "me":
        fields["target"] = f"user:{desk.world.operator_id}"
    with pytest.raises(ActionError) as refused:
        _open(desk, fields.pop("target", f"team:{desk.billing_team}"), **fields)  # type: ignore[arg-type]
    assert refused.value.code == code
    with desk.session() as s:
        assert s.scalar(select(func.count()).select_from(WorkOrder)) == 0
        request = s.get(ServiceRequest, desk.mine)
        assert request is not None and request.state != RequestState.TRANSFERRED


def test_a_team_nobody_may_receive_for_is_refused(desk: Desk) -> None:
    from servicehub.core.models import Team

    with desk.runtime.sessions.begin() as s:
        empty = Team(name="空组", org_id=desk.world.inhouse_org_id)
        s.add(empty)
        s.flush()
        empty_id = empty.id
    with pytest.raises(ActionError) as refused:
        _open(desk, f"team:{empty_id}")
    assert refused.value.code == "workorder_no_receiver"


def test_opening_needs_the_request_in_scope_and_the_transfer_function(desk: Desk) -> None:
    fields = {
        "kind": "billing",
        "description": "x",
        "target": f"team:{desk.billing_team}",
        "due_at": tomorrow(),
    }
    with pytest.raises(NotVisible):  # another company's request: as if it did not exist
        desk.do(desk.world.partner_id, do_open_work_order, desk.mine, **fields)
    with pytest.raises(NotVisible):
        desk.do(desk.world.operator_id, do_open_work_order, 999999, **fields)
    with pytest.raises(NotVisible):  # a person outside one's own scope is not a choice
        desk.do(
            desk.world.partner_id,
            do_open_work_order,
            desk.theirs,
            **{**fields, "target": f"user:{desk.billing}"},
        )
    with pytest.raises(NotVisible):
        desk.do(desk.world.operator_id, do_open_work_order, desk.mine, **{**fields, "target": "team:999999"})


def test_only_the_receiving_side_works_and_only_the_originating_side_closes(desk: Desk) -> None:
    order_id = _open(desk, f"team:{desk.billing_team}")
    with pytest.raises(Forbidden):  # the originator sees the order but is not its receiver
        desk.do(desk.world.operator_id, do_accept, order_id)
    with pytest.raises(Forbidden):  # a colleague who can see the request is not in the team
        desk.do(desk.world.operator2_id, do_accept, order_id)
    with pytest.raises(NotVisible):  # a partner sees neither the request nor the order
        desk.do(desk.world.partner_id, do_accept, order_id)
    to_partner = _open(desk, f"org:{desk.world.partner_org_id}")
    desk.do(desk.world.partner_id, do_accept, to_partner)
    desk.do(desk.world.partner_id, do_return_with_result, to_partner, "已处理")
    with pytest.raises(Forbidden):  # the receiver may not close in the originator's place
        desk.do(desk.world.partner_id, do_close, to_partner)
    with pytest.raises(Forbidden):
        desk.do(desk.world.partner_id, do_reopen, to_partner, "再看看")
    desk.do(desk.world.operator2_id, do_close, to_partner)  # anyone working the request may


# -- who sees what ---------------------------------------------------------------------------------


def test_a_partner_receiver_sees_the_request_read_only_and_nothing_more(desk: Desk) -> None:
    """The decision of ``servicehub.workorders``: an order sent to a partner company shows its
    request's conversation on the order (masked), while the request itself stays out of scope."""
    order_id = _open(desk, f"org:{desk.world.partner_org_id}")
    lina = desk.who(desk.world.partner_id)
    with desk.session() as s:
        detail = order_detail(s, lina, order_id)
        assert detail.receiver and not detail.originator and not detail.may_open_request
        assert detail.allowed == ["accept", "send_back"]
        [message] = detail.thread
        assert "138****5678" in message.text and "13812345678" not in message.text
        assert [r.id for r in list_orders(s, lina, "inbox").rows] == [order_id]
        from servicehub.routing.requests import access_request

        with pytest.raises(NotVisible):
            access_request(s, lina, desk.mine)
    desk.do(desk.world.partner_id, do_accept, order_id)
    desk.do(desk.world.partner_id, do_return_with_result, order_id, "已由上海营业厅核实")
    with desk.session() as s:
        request = s.get(ServiceRequest, desk.mine)
        assert request is not None and request.state == RequestState.IN_PROGRESS  # nothing else changed
    zhaolei = desk.who(desk.world.other_partner_id)
    with desk.session() as s, pytest.raises(NotVisible):
        order_detail(s, zhaolei, order_id)


def test_an_in_house_reader_sees_the_request_link_not_a_copy(desk: Desk) -> None:
    order_id = _open(desk, f"team:{desk.billing_team}")
    billing = desk.who(desk.billing)
    with desk.session() as s:
        detail = order_detail(s, billing, order_id)
    assert detail.may_open_request and detail.thread == []


def test_lists_hold_only_orders_in_view(desk: Desk) -> None:
    mine = _open(desk, f"team:{desk.billing_team}")
    fields = {
        "kind": "broadband",
        "description": "上门",
        "target": f"org:{desk.world.inhouse_org_id}",
        "due_at": tomorrow(),
    }
    theirs = desk.do(desk.world.partner_id, do_open_work_order, desk.theirs, **fields).id
    expected = {
        desk.world.manager_id: {mine, theirs},
        desk.world.operator_id: {mine, theirs},  # its own, and one sent to its company
        desk.billing: {mine, theirs},
        desk.world.partner_id: {theirs},
        desk.psup: {theirs},
        desk.world.other_partner_id: set(),
    }
    for user_id, ids in expected.items():
        who = desk.who(user_id)
        with desk.session() as s:
            page = list_orders(s, who, "all", "any")
        assert {r.id for r in page.rows} == ids and page.total == len(ids), user_id
    billing, operator = desk.who(desk.billing), desk.who(desk.world.operator_id)
    with desk.session() as s:
        assert [r.id for r in list_orders(s, billing, "inbox").rows] == [theirs, mine]
        assert [r.id for r in list_orders(s, operator, "sent").rows] == [mine]


def test_overdue_orders_show_until_the_receiver_answers(desk: Desk) -> None:
    order_id = _open(desk, f"team:{desk.billing_team}", due_at=utcnow() + timedelta(minutes=5))
    later = utcnow() + timedelta(hours=1)
    manager, partner = desk.who(desk.world.manager_id), desk.who(desk.world.partner_id)
    with desk.session() as s:
        late = overdue_orders(s, manager, now=later)
        assert [r.id for r in late.rows] == [order_id] and late.rows[0].overdue
        assert overdue_orders(s, partner, now=later).total == 0
    desk.do(desk.billing, do_accept, order_id)
    desk.do(desk.billing, do_return_with_result, order_id, "已处理")
    with desk.session() as s:
        assert overdue_orders(s, manager, now=later).total == 0


def test_target_choices_are_teams_companies_and_own_people_who_receive(desk: Desk) -> None:
    partner = desk.who(desk.world.partner_id)
    with desk.session() as s:
        choices = {c.value for c in target_choices(s, partner)}
    assert f"team:{desk.billing_team}" in choices and f"org:{desk.world.inhouse_org_id}" in choices
    assert f"user:{desk.psup}" in choices  # a colleague of the partner company
    assert f"user:{desk.world.operator_id}" not in choices and f"user:{desk.world.partner_id}" not in choices


def test_a_second_request_of_the_same_customer_sees_the_customer_s_open_orders(desk: Desk) -> None:
    from servicehub.workorders.reads import open_orders_of_customer

    order_id = _open(desk, f"team:{desk.billing_team}")
    other = hear(
        desk.runtime, desk.world.inhouse_account_id, "4900000000000103", "还有一个问题：积分怎么兑换"
    )
    operator = desk.who(desk.world.operator_id)
    with desk.session() as s:
        request = s.get(ServiceRequest, other)
        assert request is not None
        rows = open_orders_of_customer(s, operator, request.customer_id)
    assert [r.id for r in rows] == [order_id]
