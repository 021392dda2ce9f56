"""Set-wise intake and chunked polling: big batches, replays, races and crashes lose and duplicate nothing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from servicehub.adapters.base import InboundItem
from servicehub.core.models import Account, Customer, CustomerIdentity, Message, PollCursor, ServiceRequest
from servicehub.core.runtime import Runtime
from servicehub.listener import poller
from servicehub.listener.filtering import chain_for
from servicehub.listener.intake import intake
from servicehub.routing import conversations
from tests import fakes
from tests.concurrency import run_at_once
from tests.factories import World, build_world, mention


@pytest.fixture
def world(runtime: Runtime) -> World:
    return build_world(runtime)


def _intake(runtime: Runtime, account_id: int, items: list[InboundItem], chain: Any = None) -> list[int]:
    with runtime.sessions() as s:
        account = s.get(Account, account_id)
        assert account is not None
        ids = intake(s, account, items, chain or chain_for(s, runtime))
        s.commit()
        return ids


class CountingChain:
    """Wraps the real chain and counts the items it is asked to judge."""

    def __init__(self, chain: Any) -> None:
        self.chain, self.judged = chain, 0

    def run_batch(self, items: Any, recent: Any = None) -> Any:
        self.judged += len(items)
        return self.chain.run_batch(items, recent)


def test_a_batch_larger_than_one_lookup_is_stored_whole_and_a_replay_is_not_filtered_again(
    runtime: Runtime, world: World
) -> None:
    page = [
        mention(str(4900000000100000 + i), f"第{i}号工单：宽带故障{i % 13}", author_uid=str(30000 + i % 1100))
        for i in range(2300)
    ]
    first = _intake(runtime, world.inhouse_account_id, page)
    assert len(first) == 2300 and first == sorted(first)
    with runtime.sessions() as s:
        chain = CountingChain(chain_for(s, runtime))
    assert _intake(runtime, world.inhouse_account_id, page, chain) == []
    assert chain.judged == 0  # already stored: neither filtered nor inserted again
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 2300
        assert s.scalar(select(func.count()).select_from(CustomerIdentity)) == 1100
        assert s.scalar(select(func.count()).select_from(Customer)) == 1100


def test_stored_rows_keep_every_value_as_given(runtime: Runtime, world: World) -> None:
    when = datetime(2026, 3, 1, 8, 30, 15, 123000, tzinfo=UTC)
    item = dataclasses.replace(
        mention("4900000000000777", '宽带断网 "引号" \\ 反斜杠 {花括号}', name="老王", when=when),
        raw={"id": 4900000000000777, "user": {"screen_name": "老王"}, "nested": [1, None, "二"]},
    )
    [message_id] = _intake(runtime, world.inhouse_account_id, [item])
    with runtime.sessions() as s:
        stored = s.get(Message, message_id)
        assert stored is not None
        assert stored.text == item.text and stored.author_name == "老王"
        assert stored.created_at == when
        assert abs(stored.received_at - datetime.now(UTC)) < timedelta(minutes=1)
        assert stored.raw == dict(item.raw)
        assert stored.reply_target == {
            "kind": "comment_status",
            "status_id": "4900000000000777",
            "comment_id": None,
            "user_uid": None,
        }
        assert stored.keep is True and stored.routed is False and stored.sentiment is not None
        assert isinstance(stored.tags, list) and stored.duplicate_of is None


def test_a_repeat_in_a_later_batch_is_found_among_the_authors_recent_texts(
    runtime: Runtime, world: World
) -> None:
    text = "宽带已经断了三天了，报修也没人来，到底什么时候能修好？"
    _intake(runtime, world.inhouse_account_id, [mention("4900000000000801", text, author_uid="66")])
    others = [mention(str(4900000000000900 + i), f"别的客户{i}", author_uid=str(700 + i)) for i in range(30)]
    _intake(
        runtime,
        world.inhouse_account_id,
        [*others, mention("4900000000000802", text + "！", author_uid="66")],
    )
    with runtime.sessions() as s:
        repeat = s.scalars(select(Message).where(Message.platform_id == "4900000000000802")).one()
        assert repeat.keep is True and repeat.duplicate_of == "4900000000000801"


def test_workers_taking_in_overlapping_authors_in_any_order_store_each_once(
    runtime: Runtime, world: World
) -> None:
    pages = [
        [
            mention(str(4900000000200000 + 1000 * w + i), f"第{w}批第{i}条：信号差", author_uid=str(5000 + i))
            for i in (range(60) if w % 2 else reversed(range(60)))
        ]
        for w in range(4)
    ]
    run_at_once([lambda page=page: _intake(runtime, world.inhouse_account_id, page) for page in pages])
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 240
        assert s.scalar(select(func.count()).select_from(CustomerIdentity)) == 60
        assert s.scalar(select(func.count()).select_from(Customer)) == 60  # no spare customers left


class RecordingRunner:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def enqueue(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))

    def shutdown(self) -> None:
        return None


def _mentions_cursor(runtime: Runtime, account_id: int) -> int:
    with runtime.sessions() as s:
        return s.scalars(
            select(PollCursor.id).where(PollCursor.account_id == account_id, PollCursor.source == "mentions")
        ).one()


def _walk_in_chunks_of_four(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, n: int) -> RecordingRunner:
    """``n`` new mentions by ``n`` authors waiting on the platform; intake chunks of 4; tasks recorded."""
    monkeypatch.setattr(poller, "INTAKE_CHUNK", 4)
    runner = RecordingRunner()
    monkeypatch.setattr(runtime, "tasks", runner)
    platform = fakes.install(monkeypatch)
    platform.mentions += [
        mention(str(4900000000000010 + i), f"问题{i}", author_uid=str(80 + i)) for i in range(n)
    ]
    return runner


def test_a_large_walk_is_stored_and_routed_chunk_by_chunk_without_tasks(
    runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = _walk_in_chunks_of_four(runtime, monkeypatch, 10)
    cursor_id = _mentions_cursor(runtime, world.inhouse_account_id)
    outcome = poller.poll_cursor(runtime, cursor_id)
    assert (outcome.fetched, outcome.stored) == (10, 10)
    assert [name for name, _ in runner.calls if name == "routing.route_messages"] == []  # routed in place
    with runtime.sessions() as s:
        rows = s.execute(
            select(Message.platform_id, Message.routed, ServiceRequest.id)
            .join(ServiceRequest, ServiceRequest.id == Message.request_id)
            .order_by(ServiceRequest.id)
        ).all()
        cursor = s.get(PollCursor, cursor_id)
        assert cursor is not None and cursor.cursor == "4900000000000019" and cursor.leased_until is None
    assert len(rows) == 10 and all(routed for _, routed, _ in rows)  # ten authors: ten requests
    assert [pid for pid, _, _ in rows] == sorted(pid for pid, _, _ in rows)  # opened oldest first


def test_routing_that_fails_in_place_leaves_the_chunk_stored_and_queues_it(
    runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deadlock while routing a chunk in place undoes only the routing; a task routes it later."""
    runner = _walk_in_chunks_of_four(runtime, monkeypatch, 6)
    real = conversations.assign_requests

    def deadlock_on_second_chunk(session: Any, runtime_: Runtime, requests: Any, **options: Any) -> Any:
        if any(r.thread_key.endswith((":84", ":85")) for r in requests):  # the last two authors
            raise OperationalError("UPDATE users", {}, Exception("deadlock detected"))
        return real(session, runtime_, requests, **options)

    monkeypatch.setattr(conversations, "assign_requests", deadlock_on_second_chunk)
    outcome = poller.poll_cursor(runtime, _mentions_cursor(runtime, world.inhouse_account_id))
    assert (outcome.fetched, outcome.stored) == (6, 6)
    queued = [kwargs["message_ids"] for name, kwargs in runner.calls if name == "routing.route_messages"]
    with runtime.sessions() as s:
        unrouted = list(s.scalars(select(Message.id).where(Message.routed.is_(False)).order_by(Message.id)))
        assert s.scalar(select(func.count()).select_from(ServiceRequest)) == 4  # first chunk only
    assert queued == [unrouted] and len(unrouted) == 2
    monkeypatch.setattr(conversations, "assign_requests", real)
    assert len(conversations.route_messages(runtime, queued[0])) == 2
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).where(Message.routed.is_(False))) == 0
        assert s.scalar(select(func.count()).select_from(ServiceRequest)) == 6


def test_a_crash_after_some_chunks_keeps_the_cursor_and_the_next_poll_completes(
    runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(poller, "INTAKE_CHUNK", 4)
    platform = fakes.install(monkeypatch)
    platform.mentions += [
        mention(str(4900000000000010 + i), f"问题{i}", author_uid=str(80 + i)) for i in range(10)
    ]
    cursor_id = _mentions_cursor(runtime, world.inhouse_account_id)
    real, calls = poller.store_and_route, []

    def crash_on_third_chunk(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(poller, "store_and_route", crash_on_third_chunk)
    assert "worker killed" in poller.poll_cursor(runtime, cursor_id).error
    monkeypatch.setattr(poller, "store_and_route", real)
    with runtime.sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 8  # two chunks committed
        cursor = s.get(PollCursor, cursor_id)
        assert cursor is not None and cursor.cursor is None and cursor.error_kind == "internal"
        s.execute(update(PollCursor).where(PollCursor.id == cursor_id).values(leased_until=None))
    again = poller.poll_cursor(runtime, cursor_id)
    assert (again.fetched, again.stored) == (10, 2)
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 10
        assert s.scalar(select(func.count()).where(Message.routed.is_(False))) == 0
