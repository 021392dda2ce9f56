"""Login throttling: failed attempts counted per user name and per client address.

Each failure adds one to both counters; a counter lives ``lock_minutes`` from its first
failure. When the user's counter reaches its limit the name is locked until the counter
expires (no password is checked meanwhile); the same for an address, whose limit is higher
because an office behind one NAT shares it. A success clears the user's counter; an
administrator can clear it too (``core.auth.do_unlock_login``).

Where the counters live: **Redis in production**, because several web processes on several
machines must see one count (otherwise an attacker spreads attempts over them); **process
memory when embedded**, because the embedded hub is one process by construction, and
counting in the database would add a write to SQLite's single writer for every wrong
password -- exactly what an attacker would use to slow everyone else down.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

Clock = Callable[[], float]


class Counters(Protocol):
    def add(self, key: str, window_seconds: int) -> int:
        """Add one failure; the count so far (the window starts at the first)."""
        ...

    def get(self, key: str) -> tuple[int, int]:
        """(count, seconds until it is forgotten); (0, 0) when there is none."""
        ...

    def clear(self, key: str) -> None: ...


class MemoryCounters:
    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def add(self, key: str, window_seconds: int) -> int:
        now = self._clock()
        with self._lock:
            count, until = self._counts.get(key, (0, 0.0))
            if until <= now:
                count, until = 0, now + window_seconds
            self._counts[key] = (count + 1, until)
            if len(self._counts) > 100_000:  # a spray of names: forget the expired ones
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            return count + 1

    def get(self, key: str) -> tuple[int, int]:
        now = self._clock()
        with self._lock:
            count, until = self._counts.get(key, (0, 0.0))
        return (count, max(1, int(until - now + 0.999))) if until > now else (0, 0)

    def clear(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


class RedisCounters:
    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix

    def add(self, key: str, window_seconds: int) -> int:
        pipe = self._redis.pipeline()
        pipe.incr(self._prefix + key)
        pipe.expire(self._prefix + key, window_seconds, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def get(self, key: str) -> tuple[int, int]:
        pipe = self._redis.pipeline()
        pipe.get(self._prefix + key)
        pipe.ttl(self._prefix + key)
        count, ttl = pipe.execute()
        if count is None or int(ttl) <= 0:
            return (0, 0)
        return int(count), int(ttl)

    def clear(self, key: str) -> None:
        self._redis.delete(self._prefix + key)


@dataclass(frozen=True)
class Lock:
    """Why a login is refused now, and for how long."""

    by: str  # "user" | "address"
    seconds: int


class LoginThrottle:
    def __init__(self, counters: Counters, *, per_user: int, per_address: int, lock_minutes: int) -> None:
        self.counters = counters
        self.per_user = per_user
        self.per_address = per_address
        self.window = lock_minutes * 60

    @staticmethod
    def _user(username: str) -> str:
        name = username.strip().lower()[:64]
        return "user:" + hashlib.sha256(name.encode()).hexdigest()[:32]

    @staticmethod
    def _address(ip: str) -> str:
        return "addr:" + ip[:64]

    def lock(self, username: str, ip: str) -> Lock | None:
        """The lock in force for this name or address, if any."""
        count, ttl = self.counters.get(self._user(username))
        if count >= self.per_user:
            return Lock("user", ttl)
        if ip:
            count, ttl = self.counters.get(self._address(ip))
            if count >= self.per_address:
                return Lock("address", ttl)
        return None

    def failed(self, username: str, ip: str) -> Lock | None:
        """Count a failure; the lock it starts, if this one reached a limit."""
        started = None
        if self.counters.add(self._user(username), self.window) == self.per_user:
            started = Lock("user", self.window)
        if ip and self.counters.add(self._address(ip), self.window) == self.per_address:
            started = started or Lock("address", self.window)
        return started

    def succeeded(self, username: str) -> None:
        self.counters.clear(self._user(username))

    def unlock(self, username: str) -> None:
        self.counters.clear(self._user(username))

    def locked(self, usernames: Iterable[str]) -> dict[str, int]:
        """The given names that are locked now, with the seconds left."""
        found = {}
        for name in usernames:
            count, ttl = self.counters.get(self._user(name))
            if count >= self.per_user:
                found[name] = ttl
        return found
