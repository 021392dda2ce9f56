"""Per-account hourly API budget: shared in Redis across workers, in memory when embedded.

Platforms count calls per user per hour (Weibo: 150-2000/h by app level) and cut off an
account that overdraws. Pollers spend from one budget per account and hour: service-facing
sources (mentions, private messages, comments) may use all of it, analytics reads only what
is left above a reserve, and polling intervals stretch as the budget runs down.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from servicehub.core.runtime import Runtime

HOUR = 3600
# Share of the hourly budget each tier must leave for the tiers above it: customer-facing
# mentions and private messages (tier 0) may spend everything, comments (1) stop at the last
# 10 %, analytics reads such as engagement counts and follower lists (2) at the last 30 %.
RESERVE = {0: 0.0, 1: 0.1, 2: 0.3}


class Budget(Protocol):
    def spend(self, account_id: int, calls: int = 1) -> int:
        """Record ``calls`` and return how many calls this hour are left (may go negative)."""
        ...

    def remaining(self, account_id: int) -> int: ...


def _hour(now: float) -> int:
    return int(now // HOUR)


class MemoryBudget:
    def __init__(self, per_hour: int, clock: object = time.time) -> None:
        self.per_hour = per_hour
        self._clock = clock
        self._used: dict[tuple[int, int], int] = {}
        self._lock = threading.Lock()

    def _now(self) -> float:
        return float(self._clock())  # type: ignore[operator]

    def spend(self, account_id: int, calls: int = 1) -> int:
        key = (account_id, _hour(self._now()))
        with self._lock:
            self._used = {k: v for k, v in self._used.items() if k[1] >= key[1]}
            self._used[key] = self._used.get(key, 0) + calls
            return self.per_hour - self._used[key]

    def remaining(self, account_id: int) -> int:
        with self._lock:
            return self.per_hour - self._used.get((account_id, _hour(self._now())), 0)


class RedisBudget:
    """One counter per account and clock hour (``INCRBY`` + ``EXPIRE``): atomic across processes."""

    def __init__(self, url: str, per_hour: int, clock: object = time.time) -> None:
        import redis

        self.per_hour = per_hour
        self._clock = clock
        self._redis = redis.Redis.from_url(url)

    def _key(self, account_id: int) -> str:
        return f"servicehub:budget:{account_id}:{_hour(float(self._clock()))}"  # type: ignore[operator]

    def spend(self, account_id: int, calls: int = 1) -> int:
        key = self._key(account_id)
        pipe = self._redis.pipeline()
        pipe.incrby(key, calls)
        pipe.expire(key, HOUR * 2)
        used, _ = pipe.execute()
        return self.per_hour - int(used)

    def remaining(self, account_id: int) -> int:
        used = self._redis.get(self._key(account_id))
        return self.per_hour - int(used or 0)


def may_poll(budget: Budget, account_id: int, *, tier: int, per_hour: int) -> bool:
    return budget.remaining(account_id) > per_hour * RESERVE[tier]


def budget_for(runtime: Runtime) -> Budget:
    """The runtime's budget: Redis in production (shared by all workers), memory when embedded."""
    if runtime.budget is None:
        per_hour = runtime.settings.listener.hourly_budget
        if runtime.settings.hub.mode == "production":
            runtime.budget = RedisBudget(runtime.settings.redis.url, per_hour)
        else:
            runtime.budget = MemoryBudget(per_hour)
    budget: Budget = runtime.budget
    return budget


def paced_interval(base: float, ceiling: float, remaining: int, sources: int, now: float) -> float:
    """Seconds until the next poll of one source so the rest of the hour's budget lasts the hour."""
    seconds_left = HOUR - (now % HOUR)
    if remaining <= 0:
        return max(base, seconds_left)
    per_source_calls = remaining / max(sources, 1)
    return min(max(base, seconds_left / per_source_calls), max(ceiling, base))
