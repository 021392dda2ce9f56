"""Storing and routing in one transaction: each message written once, races fall back safely."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import func, select, text

from servicehub.adapters.base import InboundItem
from servicehub.core.models import Account, Message, ServiceRequest
from servicehub.core.runtime import Runtime
from servicehub.listener import store
from servicehub.listener.filtering import chain_for
from servicehub.listener.intake import intake
from tests.factories import World, build_world, mention


def said_in(thread: str, platform_id: str, text: str, author_uid: str) -> InboundItem:
    """A mention that continues the conversation ``thread`` (as a comment under one post does)."""
    return dataclasses.replace(mention(platform_id, text, author_uid=author_uid), thread_id=thread)


@pytest.fixture
def world(runtime: Runtime) -> World:
    return build_world(runtime)


def _store(runtime: Runtime, account_id: int, items: list[InboundItem]) -> store.Stored:
    with runtime.sessions() as s:
        account = s.get(Account, account_id)
        assert account is not None
        stored = store.store_and_route(s, runtime, account, items, chain_for(s, runtime))
        s.commit()
        return stored


def _consistent(runtime: Runtime) -> list[tuple[int, int]]:
    """(message_count, messages pointing at it) per request: the two must agree."""
    with runtime.sessions() as s:
        counted = s.execute(select(Message.request_id, func.count()).group_by(Message.request_id))
        pointing = {request_id: n for request_id, n in counted}
        return [(r.message_count, pointing.get(r.id, 0)) for r in s.scalars(select(ServiceRequest))]


def test_a_chunk_is_stored_routed_and_counted_once(runtime: Runtime, world: World) -> None:
    items = [
        said_in("t1", str(4900000000300000 + i), f"宽带又断了{i}", author_uid=str(900 + i % 3))
        for i in range(9)
    ]
    assert len(_store(runtime, world.inhouse_account_id, items).ids) == 9
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).where(Message.routed.is_(False))) == 0
        assert s.scalar(select(func.count()).select_from(ServiceRequest)) == 3  # one per author
    assert all(count == pointing == 3 for count, pointing in _consistent(runtime))
    assert _store(runtime, world.inhouse_account_id, items).ids == []  # a replay adds nothing


def test_items_another_worker_stores_meanwhile_are_neither_duplicated_nor_counted_twice(
    pg_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL only: on SQLite the first writer holds the database until it commits."""
    runtime, world = pg_runtime, build_world(pg_runtime)
    items = [
        said_in("t2", str(4900000000400000 + i), f"信号很差{i}", author_uid=str(950 + i % 2))
        for i in range(6)
    ]
    for uid in ("950", "951"):  # known customers: the racing insert then waits on no row of ours
        _store(runtime, world.inhouse_account_id, [said_in("t0", f"48{uid}", "你好", author_uid=uid)])
    real_judge = store.judge

    def judge_then_lose_a_race(session: Any, account: Any, batch: Any, chain: Any) -> Any:
        rows = real_judge(session, account, batch, chain)
        with runtime.sessions() as other:  # a push delivers two of them first, and commits
            other_account = other.get(Account, account.id)
            assert other_account is not None
            intake(other, other_account, batch[:2], chain)
            other.commit()
        return rows

    monkeypatch.setattr(store, "judge", judge_then_lose_a_race)
    stored = _store(runtime, world.inhouse_account_id, items)
    assert len(stored.ids) == 4  # the other two are the push's
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 8
        assert s.scalar(select(func.count()).where(Message.request_id.is_not(None))) == 6
    assert all(count == pointing for count, pointing in _consistent(runtime))


def test_a_new_author_heard_by_two_workers_holds_up_neither(pg_runtime: Runtime) -> None:
    """PostgreSQL only. The first intake's transaction is still open (it is filtering and
    routing its chunk) when a second worker hears the same new author: the second must find
    the customer at once instead of waiting for the first transaction to end."""
    runtime, world = pg_runtime, build_world(pg_runtime)
    with runtime.sessions() as first, runtime.sessions() as second:
        account = first.get(Account, world.inhouse_account_id)
        assert account is not None
        intake(
            first,
            account,
            [mention("4900000000500001", "宽带断了", author_uid="777")],
            chain_for(first, runtime),
        )
        second.execute(text("SET LOCAL lock_timeout = '2s'"))  # a wait fails the test, not hangs it
        other = second.get(Account, world.partner_account_id)
        assert other is not None
        intake(
            second,
            other,
            [mention("4900000000500002", "宽带也断了", author_uid="777")],
            chain_for(second, runtime),
        )
        second.commit()
        first.commit()
    with runtime.sessions() as s:
        customers = set(s.scalars(select(Message.customer_id)))
        assert len(customers) == 1 and s.scalar(select(func.count()).select_from(Message)) == 2
