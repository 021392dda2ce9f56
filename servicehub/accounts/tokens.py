"""Platform access tokens shared by the hub's processes, in Redis (production mode).

WeChat issues one access token per app, and a new one invalidates the old after a few
minutes; every worker and web process fetching its own would keep invalidating the others'
(see ``adapters.wechat.access_token``). :class:`RedisTokens` is the store those caches
share: the token and when to refresh it in one hash per app, a compare-and-delete to
forget a rejected token, and redis-py's own lock around a refresh.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import redis
from redis.exceptions import LockError

from servicehub.core.runtime import Runtime

PREFIX = "servicehub:tokens:"
# Drop the hash itself a while after its refresh time: a stale entry only costs one look.
KEEP_AFTER_REFRESH_SECONDS = 600
# Deletes the token only if it is still the rejected one (another process may have refreshed).
_FORGET = (
    "if redis.call('HGET', KEYS[1], 'value') == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)


class RedisTokens:
    def __init__(
        self, url: str, *, prefix: str = PREFIX, lock_seconds: float = 30.0, wait_seconds: float = 15.0
    ) -> None:
        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix
        self._lock_seconds, self._wait_seconds = lock_seconds, wait_seconds
        self._forget: Any = self._redis.register_script(_FORGET)

    def read(self, key: str) -> tuple[str, float] | None:
        value, refresh_at = self._redis.hmget(self._prefix + key, ["value", "refresh_at"])
        if not value or not refresh_at:
            return None
        return (value.decode() if isinstance(value, bytes) else value), float(refresh_at)

    def write(self, key: str, value: str, refresh_at: float) -> None:
        name = self._prefix + key
        pipe = self._redis.pipeline()
        pipe.hset(name, mapping={"value": value, "refresh_at": repr(refresh_at)})
        pipe.expireat(name, int(refresh_at) + KEEP_AFTER_REFRESH_SECONDS)
        pipe.execute()

    def forget(self, key: str, value: str) -> None:
        self._forget(keys=[self._prefix + key], args=[value])

    @contextmanager
    def lock(self, key: str) -> Iterator[bool]:
        lock = self._redis.lock(
            f"{self._prefix}{key}:refreshing", timeout=self._lock_seconds, blocking_timeout=self._wait_seconds
        )
        held = bool(lock.acquire())
        try:
            yield held
        finally:
            if held:
                with suppress(LockError):  # it outlived its timeout: another holder's now
                    lock.release()

    def close(self) -> None:
        self._redis.close()


def shared_tokens(runtime: Runtime) -> RedisTokens | None:
    """The runtime's shared token store: Redis in production; None when embedded (one process)."""
    if runtime.settings.hub.mode != "production":
        return None
    if runtime.tokens is None:
        runtime.tokens = RedisTokens(runtime.settings.redis.url)
    tokens: RedisTokens = runtime.tokens
    return tokens
