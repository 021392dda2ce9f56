from __future__ import annotations

import pytest
from sqlalchemy import select, update

from servicehub.accounts.registration import store_token
from servicehub.accounts.sources import set_sources
from servicehub.adapters.errors import RateLimited, TokenExpired, Unavailable
from servicehub.core.db import utcnow
from servicehub.core.models import Account, Health, Message, PollCursor, ServiceRequest
from servicehub.core.runtime import Runtime
from servicehub.listener import poller
from tests import fakes
from tests.factories import World, build_world, mention


def _mentions_cursor(runtime: Runtime, account_id: int) -> int:
    with runtime.sessions() as s:
        return s.scalars(
            select(PollCursor.id).where(PollCursor.account_id == account_id, PollCursor.source == "mentions")
        ).one()


@pytest.fixture
def world(runtime: Runtime) -> World:
    return build_world(runtime)


def test_poll_stores_new_items_advances_cursor_and_routes(
    runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = fakes.install(monkeypatch)
    platform.mentions += [
        mention("4900000000000001", "宽带坏了"),
        mention("4900000000000002", "信号差", author_uid="5"),
    ]
    cursor_id = _mentions_cursor(runtime, world.inhouse_account_id)
    outcome = poller.poll_cursor(runtime, cursor_id)
    assert (outcome.fetched, outcome.stored) == (2, 2)
    platform.mentions.append(mention("4900000000000003", "话费问题", author_uid="6"))
    again = poller.poll_cursor(runtime, cursor_id)
    assert (again.fetched, again.stored) == (1, 1)  # only what is newer than the cursor
    with runtime.sessions() as s:
        cursor = s.get(PollCursor, cursor_id)
        assert cursor is not None and cursor.cursor == "4900000000000003"
        assert len(list(s.scalars(select(ServiceRequest)))) == 3


def test_a_held_lease_keeps_a_second_poller_out(
    runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = fakes.install(monkeypatch)
    cursor_id = _mentions_cursor(runtime, world.inhouse_account_id)
    assert poller.take_lease(runtime, cursor_id)
    outcome = poller.poll_cursor(runtime, cursor_id)
    assert outcome.error == "leased by another worker" and platform.fetches == 0


def test_crash_between_fetch_and_commit_loses_nothing(
    runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = fakes.install(monkeypatch)
    platform.mentions += [
        mention("4900000000000001", "第一条"),
        mention("4900000000000002", "第二条", author_uid="5"),
    ]
    cursor_id = _mentions_cursor(runtime, world.inhouse_account_id)

    def crash(*args: object, **kwargs: object) -> list[int]:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(poller, "store_and_route", crash)
    outcome = poller.poll_cursor(runtime, cursor_id)  # the failure is caught, logged and shown
    assert outcome.stored == 0 and "worker killed" in outcome.error
    with runtime.sessions() as s:
        cursor, account = s.get(PollCursor, cursor_id), s.get(Account, world.inhouse_account_id)
        assert cursor is not None and cursor.error_kind == "internal" and "worker killed" in cursor.last_error
        assert account is not None and "worker killed" in account.intake_error
    monkeypatch.undo()
    platform = fakes.install(monkeypatch)
    platform.mentions += [
        mention("4900000000000001", "第一条"),
        mention("4900000000000002", "第二条", author_uid="5"),
    ]
    with runtime.sessions.begin() as s:  # the crashed worker's lease runs out
        s.execute(update(PollCursor).where(PollCursor.id == cursor_id).values(leased_until=None))
        cursor = s.get(PollCursor, cursor_id)
        assert cursor is not None and cursor.cursor is None  # the cursor did not move
    assert poller.poll_cursor(runtime, cursor_id).stored == 2
    with runtime.sessions() as s:  # a poll that succeeds clears what the failure showed
        cursor, account = s.get(PollCursor, cursor_id), s.get(Account, world.inhouse_account_id)
        assert cursor is not None and cursor.last_error == "" and cursor.error_kind is None
        assert account is not None and account.intake_error == ""


def test_expired_token_stops_polling_until_reauthorized_then_nothing_is_lost(
    runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = fakes.install(monkeypatch)
    cursor_id = _mentions_cursor(runtime, world.inhouse_account_id)
    platform.mentions.append(mention("4900000000000001", "在吗"))
    assert poller.poll_cursor(runtime, cursor_id).stored == 1
    platform.fail_next.append(TokenExpired("expired_token", code=21327))
    platform.mentions.append(mention("4900000000000002", "token过期期间发的", author_uid="8"))
    assert "expired_token" in poller.poll_cursor(runtime, cursor_id).error
    with runtime.sessions() as s:
        account = s.get(Account, world.inhouse_account_id)
        assert account is not None and account.health == Health.NEEDS_REAUTH
        s.execute(update(PollCursor).values(next_poll_at=utcnow()))
        s.commit()
        assert cursor_id not in poller.due_cursors(s, utcnow())
    with runtime.sessions.begin() as s:
        account = s.get(Account, world.inhouse_account_id)
        assert account is not None
        store_token(s, runtime, account, "2.00renewed", None)
    with runtime.sessions() as s:
        assert cursor_id in poller.due_cursors(s, utcnow())
    assert poller.poll_cursor(runtime, cursor_id).stored == 1
    assert platform.sent == []
    with runtime.sessions() as s:
        texts = sorted(s.scalars(select(Message.text)))
    assert texts == sorted(["在吗", "token过期期间发的"])


def test_rate_limit_pauses_the_account_until_reset(
    runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    platform = fakes.install(monkeypatch)
    reset = utcnow() + timedelta(minutes=20)
    platform.fail_next.append(RateLimited("User requests out of rate limit!", reset_at=reset, code=10023))
    cursor_id = _mentions_cursor(runtime, world.inhouse_account_id)
    poller.poll_cursor(runtime, cursor_id)
    with runtime.sessions() as s:
        account = s.get(Account, world.inhouse_account_id)
        assert account is not None and account.health == Health.RATE_LIMITED
        assert (
            account.rate_limited_until is not None
            and abs((account.rate_limited_until - reset).total_seconds()) < 1
        )
        s.execute(update(PollCursor).values(next_poll_at=utcnow()))
        s.commit()
        due = poller.due_cursors(s, utcnow())
        assert not any(c for c in due if s.get(PollCursor, c).account_id == world.inhouse_account_id)  # type: ignore[union-attr]


def test_outage_backs_off(runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    platform = fakes.install(monkeypatch)
    cursor_id = _mentions_cursor(runtime, world.inhouse_account_id)
    platform.fail_next += [Unavailable("502"), Unavailable("502")]
    intervals = []
    for _ in range(2):
        with runtime.sessions.begin() as s:
            s.execute(update(PollCursor).where(PollCursor.id == cursor_id).values(next_poll_at=utcnow()))
        poller.poll_cursor(runtime, cursor_id)
        with runtime.sessions() as s:
            cursor = s.get(PollCursor, cursor_id)
            assert cursor is not None
            intervals.append(cursor.interval_seconds)
            assert "502" in cursor.last_error
    assert intervals[1] > intervals[0]


def test_a_source_switched_off_is_not_polled_and_resumes_from_its_cursor_when_switched_on(
    runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = fakes.install(monkeypatch)
    platform.mentions.append(mention("4900000000000041", "宽带坏了"))
    cursor_id = _mentions_cursor(runtime, world.inhouse_account_id)
    assert poller.poll_cursor(runtime, cursor_id).stored == 1

    def listen(sources: list[str]) -> None:
        with runtime.sessions.begin() as s:
            account = s.get(Account, world.inhouse_account_id)
            assert account is not None
            set_sources(s, account, sources)

    listen(["direct_messages", "comments_to_me"])
    platform.mentions.append(mention("4900000000000042", "还是坏的", author_uid="5"))
    fetches = platform.fetches
    assert poller.poll_cursor(runtime, cursor_id).error == "switched off"
    assert platform.fetches == fetches  # the platform was not asked
    listen(["mentions", "direct_messages", "comments_to_me"])
    with runtime.sessions() as s:
        assert cursor_id in poller.due_cursors(s, utcnow())  # due at once
    outcome = poller.poll_cursor(runtime, cursor_id)
    assert (outcome.fetched, outcome.stored) == (1, 1)  # from the cursor: nothing lost, nothing again


def test_a_due_cursor_is_enqueued_once_while_its_poll_waits_in_the_queue(
    runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers behind: beat's next runs must not queue the same poll again and again."""
    from servicehub.listener.tasks import poll_due

    queued: list[int] = []
    monkeypatch.setattr(
        runtime,
        "tasks",
        type("Queue", (), {"enqueue": lambda self, name, **kw: queued.append(kw["cursor_id"])})(),
    )
    with runtime.sessions.begin() as s:
        s.execute(update(PollCursor).values(next_poll_at=utcnow()))
        cursors = set(s.scalars(select(PollCursor.id)))
    assert poll_due() == len(cursors)
    assert poll_due() == 0 and poll_due() == 0  # still waiting in the queue: not again
    assert sorted(queued) == sorted(cursors)
    with runtime.sessions.begin() as s:  # the task was lost: once the lease time has passed, again
        s.execute(update(PollCursor).values(next_poll_at=utcnow()))
    assert poll_due() == len(cursors)
