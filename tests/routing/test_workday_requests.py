"""Around one request: notes and mentions, who is viewing, the VIP tier, the live queue rows,
the handled view, the next request and the home page's figures -- on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from servicehub.core.db import utcnow
from servicehub.core.errors import ActionError
from servicehub.core.models import (
    AuditEvent,
    Notification,
    Priority,
    RequestNote,
    RequestState,
    RequestViewer,
    ServiceRequest,
)
from servicehub.core.notifications import do_mark_read, latest, unread_count
from servicehub.core.permissions import Forbidden, NotVisible
from servicehub.core.runtime import Runtime
from servicehub.publishing.outbox import do_queue_reply
from servicehub.routing.customers import access_customer, customer_panel, do_set_tier
from servicehub.routing.home import day_start, my_day, team_board, week_start
from servicehub.routing.notes import do_add_note, notes_of
from servicehub.routing.queue import list_handled, next_request_id, queue_rows
from servicehub.routing.requests import do_resolve_request
from servicehub.routing.viewers import TTL, do_heartbeat, viewers
from tests.workday_support import Desk, build_desk


@pytest.fixture
def desk(runtime: Runtime) -> Desk:
    return build_desk(runtime)


# -- notes and mentions ---------------------------------------------------------------------------


def test_a_note_mentions_colleagues_who_may_see_the_request(desk: Desk) -> None:
    note, mentioned = desk.do(
        desk.world.operator_id,
        do_add_note,
        desk.mine,
        "@刘洋 这个客户上周也来过，@李娜（外包） 不用管 @liuyang",
    )
    assert [c.name for c in mentioned] == ["刘洋"]  # 李娜 may not see this request: not told
    with desk.session() as s:
        told = list(s.scalars(select(Notification)))
        assert [(n.user_id, n.kind, n.note_id, n.request_id) for n in told] == [
            (desk.world.operator2_id, "mention", note.id, desk.mine)
        ]
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "request.note_added"))
        assert event.detail == {"note_id": note.id, "mentioned": ["刘洋"]}
    liuyang = desk.who(desk.world.operator2_id)
    with desk.session() as s:
        request = s.get(ServiceRequest, desk.mine)
        assert request is not None
        [shown] = notes_of(s, liuyang, request)
        assert shown.mentions_me and shown.author == "张伟"
        assert (
            unread_count(s, liuyang) == 1
            and latest(s, liuyang)[0].href == f"/requests/{desk.mine}#note-{note.id}"
        )


def test_notes_are_masked_like_messages_and_need_the_request_in_scope(desk: Desk) -> None:
    desk.do(desk.world.operator_id, do_add_note, desk.mine, "客户另一个号码 13900001111")
    with pytest.raises(NotVisible):
        desk.do(desk.world.partner_id, do_add_note, desk.mine, "看不到的请求")
    with pytest.raises(ActionError) as empty:
        desk.do(desk.world.operator_id, do_add_note, desk.mine, "   ")
    assert empty.value.code == "text_empty"
    with pytest.raises(ActionError) as long:
        desk.do(desk.world.operator_id, do_add_note, desk.mine, "长" * 2001)
    assert long.value.code == "too_long"
    manager = desk.who(desk.world.manager_id)
    with desk.session() as s:
        request = s.get(ServiceRequest, desk.mine)
        assert request is not None
        assert [n.body for n in notes_of(s, manager, request)] == ["客户另一个号码 13900001111"]
        assert s.scalar(select(RequestNote.id).where(RequestNote.body.like("%看不到%"))) is None


def test_marking_notifications_read_touches_only_one_s_own(desk: Desk) -> None:
    desk.do(desk.world.operator_id, do_add_note, desk.mine, "@刘洋 @陈静 一起看看")
    with desk.session() as s:
        ids = list(s.scalars(select(Notification.id).order_by(Notification.id)))
    assert desk.do(desk.world.operator2_id, do_mark_read, ids) == 1  # only 刘洋's own
    billing = desk.who(desk.billing)
    with desk.session() as s:
        assert unread_count(s, billing) == 1
    assert desk.do(desk.billing, do_mark_read) == 1


# -- who is viewing ---------------------------------------------------------------------------------


def test_viewers_see_each_other_until_the_heartbeat_stops(desk: Desk) -> None:
    assert desk.do(desk.world.operator_id, do_heartbeat, desk.mine, "viewing") == []
    others = desk.do(desk.world.operator2_id, do_heartbeat, desk.mine, "replying")
    assert [(v.name, v.mode) for v in others] == [("张伟", "viewing")]
    again = desk.do(desk.world.operator_id, do_heartbeat, desk.mine, "viewing")  # renews, never duplicates
    assert [(v.name, v.mode) for v in again] == [("刘洋", "replying")]
    with desk.session() as s:
        assert len(list(s.scalars(select(RequestViewer)))) == 2
    operator = desk.who(desk.world.operator_id)
    with desk.session() as s:
        assert viewers(s, operator, desk.mine, now=utcnow() + TTL + timedelta(seconds=1)) == []


def test_a_heartbeat_needs_the_request_in_scope_and_a_known_mode(desk: Desk) -> None:
    with pytest.raises(NotVisible):
        desk.do(desk.world.partner_id, do_heartbeat, desk.mine, "viewing")
    with pytest.raises(ActionError) as bad:
        desk.do(desk.world.operator_id, do_heartbeat, desk.mine, "dancing")
    assert bad.value.code == "invalid_choice"


# -- VIP tier ------------------------------------------------------------------------------------


def _customer(desk: Desk) -> int:
    with desk.session() as s:
        request = s.get(ServiceRequest, desk.mine)
        assert request is not None
        return request.customer_id


def test_setting_the_tier_raises_the_customer_s_open_requests(desk: Desk) -> None:
    customer_id = _customer(desk)
    with desk.session() as s:
        before = s.get(ServiceRequest, desk.mine)
        assert before is not None
        start = before.priority
    assert desk.do(desk.world.manager_id, do_set_tier, customer_id, 3) is True
    assert desk.do(desk.world.manager_id, do_set_tier, customer_id, 3) is False  # no change, no event
    with desk.session() as s:
        request = s.get(ServiceRequest, desk.mine)
        assert request is not None and request.priority == min(Priority.URGENT, start + 1)
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "customer.tier_set"))
        assert event.detail == {"before": 0, "after": 3}


def test_the_tier_needs_the_function_and_the_customer_in_scope(desk: Desk) -> None:
    customer_id = _customer(desk)
    with pytest.raises(Forbidden):  # an operator sees the customer but may not set the tier
        desk.do(desk.world.operator_id, do_set_tier, customer_id, 1)
    with pytest.raises(NotVisible):
        desk.do(desk.world.partner_id, do_set_tier, customer_id, 1)
    with pytest.raises(ActionError) as bad:
        desk.do(desk.world.manager_id, do_set_tier, customer_id, 9)
    assert bad.value.code == "out_of_range"
    partner = desk.who(desk.world.partner_id)
    with desk.session() as s, pytest.raises(NotVisible):
        access_customer(s, partner, customer_id)


def test_the_customer_panel_counts_only_what_the_reader_sees(desk: Desk) -> None:
    operator = desk.who(desk.world.operator_id)
    with desk.session() as s:
        request = s.get(ServiceRequest, desk.mine)
        assert request is not None
        panel = customer_panel(s, operator, request)
    assert (panel.requests, panel.open_requests) == (1, 1)
    assert [i.platform for i in panel.identities] == ["weibo"] and panel.recent == []


# -- the live queue, the handled view, the next request ----------------------------------------


def test_queue_rows_answer_in_scope_rows_and_the_rest_as_gone(desk: Desk) -> None:
    operator = desk.who(desk.world.operator_id)
    with desk.session() as s:
        live = queue_rows(s, operator, "open", [desk.mine, desk.theirs, 999999])
    assert [r.id for r in live.rows] == [desk.mine] and live.gone == [desk.theirs, 999999]
    assert "138****5678" in live.rows[0].subject or "13812345678" in live.rows[0].subject
    desk.do(desk.world.operator_id, do_resolve_request, desk.mine)
    with desk.session() as s:
        assert queue_rows(s, operator, "open", [desk.mine]).gone == [desk.mine]
        assert [r.id for r in queue_rows(s, operator, "all", [desk.mine]).rows] == [desk.mine]
    partner = desk.who(desk.world.partner_id)
    with desk.session() as s:
        subject = queue_rows(s, partner, "all", [desk.theirs]).rows[0].subject
    assert subject == "上海这边宽带三天没网了"


def test_the_handled_view_lists_what_one_resolved_newest_first(desk: Desk) -> None:
    with desk.runtime.sessions.begin() as s:
        for request_id in (desk.mine,):
            request = s.get(ServiceRequest, request_id)
            assert request is not None
            request.assignee_id = desk.world.operator_id
    desk.do(desk.world.operator_id, do_resolve_request, desk.mine)
    operator, other = desk.who(desk.world.operator_id), desk.who(desk.world.operator2_id)
    with desk.session() as s:
        page = list_handled(s, operator)
        assert [r.id for r in page.rows] == [desk.mine] and page.rows[0].resolved_at is not None
        assert list_handled(s, other).total == 0
        assert list_handled(s, operator, since=utcnow() + timedelta(minutes=1)).total == 0


def test_the_handled_view_pages_by_keyset(desk: Desk) -> None:
    with desk.runtime.sessions.begin() as s:
        base = s.get(ServiceRequest, desk.mine)
        assert base is not None
        for n in range(5):
            s.add(
                ServiceRequest(
                    account_id=base.account_id,
                    customer_id=base.customer_id,
                    thread_key=f"done:{n}",
                    subject=f"已处理 {n}",
                    state=RequestState.RESOLVED,
                    assignee_id=desk.world.operator_id,
                    resolved_at=utcnow() - timedelta(minutes=n),
                )
            )
    operator = desk.who(desk.world.operator_id)
    with desk.session() as s:
        first = list_handled(s, operator, limit=2)
        second = list_handled(s, operator, after=first.next_after, limit=2)
        third = list_handled(s, operator, after=second.next_after, limit=2)
    titles = [r.subject for page in (first, second, third) for r in page.rows]
    assert titles == [f"已处理 {n}" for n in range(5)] and third.next_after is None


def test_the_next_request_is_one_s_own_first_then_the_open_queue(desk: Desk) -> None:
    from tests.workbench.conftest import hear

    with desk.runtime.sessions.begin() as s:
        request = s.get(ServiceRequest, desk.mine)
        assert request is not None
        request.assignee_id = desk.world.operator_id
    operator = desk.who(desk.world.operator_id)
    with desk.session() as s:
        assert next_request_id(s, operator, 0) == desk.mine
        assert next_request_id(s, operator, desk.mine) is None  # the partner's request is not in view
    other = hear(desk.runtime, desk.world.inhouse_account_id, "4900000000000199", "营业厅几点关门")
    with desk.runtime.sessions.begin() as s:
        request = s.get(ServiceRequest, other)
        assert request is not None
        request.assignee_id = desk.world.operator2_id
    with desk.session() as s:
        assert next_request_id(s, operator, desk.mine) == other  # from the open queue


# -- the home page's figures ----------------------------------------------------------------------


def test_my_day_counts_open_handled_and_the_median_first_response(desk: Desk) -> None:
    with desk.runtime.sessions.begin() as s:
        request = s.get(ServiceRequest, desk.mine)
        assert request is not None
        request.assignee_id = desk.world.operator_id
        request.created_at = utcnow() - timedelta(minutes=30)
    desk.do(desk.world.operator_id, do_queue_reply, desk.mine, "您好，已为您核查", nonce="n1")
    operator = desk.who(desk.world.operator_id)
    with desk.session() as s:
        day = my_day(s, operator)
    assert day.open_mine == 1 and day.handled_today == 0 and day.answered_week == 1
    assert day.median_first_response_minutes is not None and 29 <= day.median_first_response_minutes <= 31
    assert [a.name for a in day.accounts] == ["中国联通客服"] and day.accounts[0].health == "ok"
    desk.do(desk.world.operator_id, do_resolve_request, desk.mine)
    with desk.session() as s:
        day = my_day(s, operator)
    assert (day.open_mine, day.handled_today, day.handled_week) == (0, 1, 1)


def test_today_and_this_week_are_china_time() -> None:
    from datetime import UTC, datetime

    late_sunday_utc = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)  # Monday 01:00 in China
    assert day_start(late_sunday_utc).isoformat() == "2026-12-07T00:00:00+08:00"
    assert week_start(late_sunday_utc).isoformat() == "2026-12-07T00:00:00+08:00"


def test_the_team_board_is_scoped_to_the_supervisor(desk: Desk) -> None:
    later = utcnow() + timedelta(days=2)
    manager, psup = desk.who(desk.world.manager_id), desk.who(desk.psup)
    with desk.session() as s:
        everyone = team_board(s, manager, now=later)
        partner = team_board(s, psup, now=later)
    assert everyone.open_total == 2 and everyone.overdue_total == 2
    assert partner.open_total == 1 and [r.id for r in partner.overdue] == [desk.theirs]
    assert {w.name for w in partner.loads} == {"李娜", "孙主管"}
