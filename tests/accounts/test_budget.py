from __future__ import annotations

import pytest
from sqlalchemy import select

from servicehub.accounts.budget import HOUR, MemoryBudget, RedisBudget, budget_for, may_poll, paced_interval
from servicehub.core.models import PollCursor
from servicehub.core.runtime import Runtime
from servicehub.listener import poller
from tests import fakes
from tests.factories import build_world, mention
from tests.services import redis_url


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_memory_budget_counts_per_account_and_resets_each_hour() -> None:
    clock = Clock(10 * HOUR + 5)
    budget = MemoryBudget(100, clock)
    assert budget.spend(1, 30) == 70
    assert budget.spend(1, 30) == 40
    assert budget.remaining(2) == 100
    clock.now += HOUR
    assert budget.remaining(1) == 100


@pytest.mark.integration
def test_redis_budget_is_shared_between_instances() -> None:
    clock = Clock(1_000_000 * HOUR + 1.0)  # an hour no other test uses
    a = RedisBudget(redis_url(), 50, clock)
    b = RedisBudget(redis_url(), 50, clock)
    a._redis.delete(a._key(7))
    a.spend(7, 20)
    assert b.spend(7, 20) == 10
    assert a.remaining(7) == 10


def test_service_sources_may_spend_what_comments_and_analytics_must_leave() -> None:
    budget = MemoryBudget(100, Clock(0))
    budget.spend(1, 85)  # 15 left
    assert may_poll(budget, 1, tier=0, per_hour=100)
    assert may_poll(budget, 1, tier=1, per_hour=100)
    assert not may_poll(budget, 1, tier=2, per_hour=100)
    budget.spend(1, 10)  # 5 left
    assert may_poll(budget, 1, tier=0, per_hour=100)
    assert not may_poll(budget, 1, tier=1, per_hour=100)


def test_interval_stretches_as_the_budget_runs_down() -> None:
    plenty = paced_interval(3, 600, remaining=4000, sources=4, now=0)
    scarce = paced_interval(3, 600, remaining=40, sources=4, now=0)
    assert plenty == 3.6  # 3600 s / (4000 / 4) calls
    assert scarce == 360.0
    assert paced_interval(3, 60, remaining=0, sources=4, now=HOUR - 100) == 100


def test_a_spent_budget_pauses_comments_before_mentions(
    sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(sqlite_runtime)
    platform = fakes.install(monkeypatch)
    platform.mentions.append(mention("4900000000000001", "还能收到吗"))
    budget = budget_for(sqlite_runtime)
    per_hour = sqlite_runtime.settings.listener.hourly_budget
    budget.spend(world.inhouse_account_id, per_hour - 3)  # 3 calls left: under the comments' reserve
    with sqlite_runtime.sessions() as s:
        cursors = dict(
            s.execute(
                select(PollCursor.source, PollCursor.id).where(
                    PollCursor.account_id == world.inhouse_account_id
                )
            ).all()
        )
    assert poller.poll_cursor(sqlite_runtime, cursors["comments_to_me"]).error == "budget"
    assert poller.poll_cursor(sqlite_runtime, cursors["mentions"]).stored == 1
    with sqlite_runtime.sessions() as s:
        waiting = s.get(PollCursor, cursors["comments_to_me"])
        assert waiting is not None and "budget" in waiting.last_error
