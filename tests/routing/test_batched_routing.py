"""Set-wise routing: a batch joins and opens requests correctly, races end in one request per thread."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from servicehub.adapters.base import InboundItem, ItemKind
from servicehub.core.db import utcnow
from servicehub.core.models import (
    OPEN_STATES,
    Account,
    AuditEvent,
    Customer,
    CustomerIdentity,
    ListeningTask,
    Message,
    RequestState,
    ServiceRequest,
)
from servicehub.core.runtime import Runtime
from servicehub.listener.filtering import chain_for
from servicehub.listener.intake import intake
from servicehub.routing import conversations
from servicehub.routing.assign import previous_assignee, previous_assignees
from servicehub.routing.conversations import route_messages
from servicehub.routing.priority import pending_of, score, signals, sla
from servicehub.routing.rules import heard
from tests.concurrency import run_at_once
from tests.factories import World, build_world, mention
from tests.routing.support import add_customer, add_request


@pytest.fixture
def world(runtime: Runtime) -> World:
    return build_world(runtime)


def _store(runtime: Runtime, world: World, items: list[InboundItem]) -> list[int]:
    with runtime.sessions() as s:
        account = s.get(Account, world.inhouse_account_id)
        assert account is not None
        ids = intake(s, account, items, chain_for(s, runtime))
        s.commit()
    return ids


def _comment(platform_id: str, text: str, author: str, post: str = "4800000000000001") -> InboundItem:
    """A comment under the account's post ``post``: its thread is the post."""
    return dataclasses.replace(
        mention(platform_id, text, author_uid=author), kind=ItemKind.COMMENT, thread_id=post
    )


def test_one_batch_opens_and_joins_requests_thread_by_thread(runtime: Runtime, world: World) -> None:
    _store(runtime, world, [_comment("4900000000000001", "第一次问：宽带怎么又断了", "11")])
    route_messages(runtime, list(range(1, 2)))
    ids = _store(
        runtime,
        world,
        [
            _comment("4900000000000002", "还是断的，服务太差了，投诉！", "11"),  # joins the open request
            _comment("4900000000000003", "我也断网了", "12"),  # a new thread (another author)
            _comment("4900000000000004", "谢谢，已经好了", "12"),  # the same new thread
            mention("4900000000000005", "话费问题咨询", author_uid="13"),
        ],
    )
    touched = route_messages(runtime, ids)
    with runtime.sessions() as s:
        requests = {r.thread_key: r for r in s.scalars(select(ServiceRequest))}
        assert sorted(touched) == sorted(r.id for r in requests.values())
        old = requests["4800000000000001:11"]
        assert old.message_count == 2 and old.subject == "第一次问：宽带怎么又断了"
        new = requests["4800000000000001:12"]
        assert new.message_count == 2 and new.subject == "我也断网了"
        sentiments = list(
            s.scalars(
                select(Message.sentiment).where(Message.author_uid == "12", Message.sentiment.is_not(None))
            )
        )
        assert new.sentiment == min(sentiments)
        assert new.due_at is not None and new.last_message_at >= new.created_at
        assert requests["4900000000000005:13"].message_count == 1
        assert all(m.routed and m.request_id is not None for m in s.scalars(select(Message)))
        opened: dict[str, int] = {}  # one event per routed batch
        for event in s.scalars(select(AuditEvent).where(AuditEvent.action == "requests.opened")):
            opened.update(event.detail["first_message"])
        first = s.scalars(select(Message.id).where(Message.platform_id == "4900000000000003")).one()
        assert opened[str(new.id)] == first
        assert sorted(opened) == sorted(str(r.id) for r in requests.values())


def test_priority_counts_a_vip_and_repeats_within_the_batch(runtime: Runtime, world: World) -> None:
    _store(
        runtime,
        world,
        [mention("4900000000000100", "你们的宽带太差了，三天两头断网，我要投诉", author_uid="21")],
    )
    with runtime.sessions.begin() as s:
        ident = s.scalars(select(CustomerIdentity).where(CustomerIdentity.platform_uid == "21")).one()
        customer = s.get(Customer, ident.customer_id)
        assert customer is not None
        customer.tier = 2
    ids = [m for m in range(1, 2)]
    ids += _store(
        runtime,
        world,
        [
            mention("4900000000000101", "请问套餐怎么改", author_uid="22"),
            mention("4900000000000102", "再问一次套餐", author_uid="22"),
            mention("4900000000000103", "第三次问套餐", author_uid="22"),
        ],
    )
    route_messages(runtime, ids)
    with runtime.sessions() as s:
        by_thread = {r.thread_key: r for r in s.scalars(select(ServiceRequest))}
        vip = by_thread["4900000000000100:21"]
        assert vip.priority == 3 and "vip" in vip.priority_reasons  # a VIP's complaint is urgent
        for r in by_thread.values():  # what routing.priority decides for each one on its own
            level, _ = score(signals(s, [pending_of(r)], r.created_at)[0])
            assert r.priority == level and r.due_at == r.created_at + sla(runtime, level)
        assert "repeat" in score(signals(s, [pending_of(by_thread["4900000000000101:22"])], utcnow())[0])[1]


def test_routers_racing_on_the_same_threads_end_in_one_request_each(runtime: Runtime, world: World) -> None:
    items = [
        _comment(
            str(4900000000001000 + i),
            f"第{i}次催：宽带什么时候修",
            str(40 + i % 6),
            post=str(4800000000000100 + (i // 6) % 3),
        )
        for i in range(72)
    ]
    ids = _store(runtime, world, items)
    batches = [ids[k::4] for k in range(4)]  # every thread spread over every router
    run_at_once([lambda batch=batch: route_messages(runtime, batch) for batch in batches])
    with runtime.sessions() as s:
        requests = list(s.scalars(select(ServiceRequest).where(ServiceRequest.state.in_(OPEN_STATES))))
        assert len(requests) == len({r.thread_key for r in requests}) == 18  # 3 posts x 6 authors
        kept = s.scalar(select(func.count()).where(Message.keep.is_(True)))
        assert kept and sum(r.message_count for r in requests) == kept
        assert s.scalar(select(func.count()).where(Message.routed.is_(False))) == 0


def test_previous_assignees_agree_with_previous_assignee(runtime: Runtime, world: World) -> None:
    with runtime.sessions.begin() as s:
        a, b = add_customer(s, "甲").id, add_customer(s, "乙").id
        old = add_request(s, world.inhouse_account_id, a, created=utcnow() - timedelta(days=2))
        old.assignee_id, old.state = world.operator_id, RequestState.RESOLVED
        newer = add_request(s, world.inhouse_account_id, a, created=utcnow() - timedelta(days=1))
        newer.assignee_id = world.operator2_id
        other = add_request(s, world.partner_account_id, a)
        other.assignee_id = world.partner_id
        batch = [
            add_request(s, world.inhouse_account_id, a),
            add_request(s, world.inhouse_account_id, b),
            newer,  # itself assigned: its previous is the one before it
        ]
        s.flush()
        expected = {r.id: previous_assignee(s, r) for r in batch}
        assert previous_assignees(s, batch) == expected
        assert expected[batch[0].id] == world.operator2_id and expected[newer.id] == world.operator_id


def test_a_deadlock_victim_routes_its_batch_again(
    runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _store(runtime, world, [mention("4900000000002001", "信号差", author_uid="31")])
    real, calls = conversations._route, []

    class Deadlock(Exception):
        sqlstate = "40P01"

    def flaky(rt: Runtime, message_ids: list[int]) -> list[int]:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("UPDATE ...", {}, Deadlock("deadlock detected"))
        return real(rt, message_ids)

    monkeypatch.setattr(conversations, "_route", flaky)
    assert len(route_messages(runtime, ids)) == 1 and len(calls) == 2


def test_what_routing_holds_of_new_requests_is_what_it_would_read_back(
    runtime: Runtime, world: World
) -> None:
    """Assignment rules read each new request's texts and tags; for requests opened in the batch
    the router hands over the messages it holds instead of reading them back."""
    with runtime.sessions.begin() as s:
        s.add(ListeningTask(name="断网", keywords=["断网"], account_ids=[], is_active=True))
    ids = _store(
        runtime,
        world,
        [
            _comment("4900000000000201", "我家断网了", "31"),
            _comment("4900000000000202", "还是断网，投诉", "31"),
            _comment("4900000000000203", "话费问题", "32"),
        ],
    )
    with runtime.sessions() as s:
        joined = conversations.join_requests(s, runtime, conversations._claim(s, ids))
        conversations._point_messages(s, sorted(joined.request_of.items()))
        read_back = heard(s, [r.id for r in joined.created])
        assert len(joined.created) == 2 and any(tags for _, tags in read_back.values())
        assert {k: (sorted(t.split("\n")), tags) for k, (t, tags) in joined.heard.items()} == {
            k: (sorted(t.split("\n")), tags) for k, (t, tags) in read_back.items()
        }
