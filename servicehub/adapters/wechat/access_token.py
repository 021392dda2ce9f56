"""An official account's access token, cached in the process and, optionally, shared.

WeChat tokens live 7200 s and every fetch invalidates the previous token after a short
grace period, so fetching per call would break other callers; the cache fetches once,
refreshes ahead of expiry, and forgets a token only when the one that failed is still
the current one (another thread may already have replaced it).

A hub runs several processes (workers, the web process), each with its own cache. Each
fetching its own token, they would invalidate each other's every few minutes and spend the
app's daily token quota. Given a :class:`SharedTokens` store (Redis in production), the
processes use one token: a process takes the store's current token, and when it is stale
one process refreshes it under the store's lock while the others wait for the result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

REFRESH_AHEAD_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str
    expires_at: float  # when to refresh, on the cache's clock (epoch seconds by default)


Fetcher = Callable[[], tuple[str, float]]  # -> (token, expires_in seconds)


class SharedTokens(Protocol):
    """Where the processes of one hub keep each app's current token."""

    def read(self, key: str) -> tuple[str, float] | None:
        """(token, refresh-at epoch seconds), or None."""

    def write(self, key: str, value: str, refresh_at: float) -> None: ...

    def forget(self, key: str, value: str) -> None:
        """Drop the token, but only if it is still ``value``."""

    def lock(self, key: str) -> AbstractContextManager[bool]:
        """Held while refreshing; yields False if it could not be had in reasonable time."""


class AccessTokenCache:
    """Thread-safe: concurrent callers during a refresh wait for one fetch and share it."""

    def __init__(self, fetch: Fetcher, clock: Callable[[], float]) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._current: AccessToken | None = None
        self._shared: SharedTokens | None = None
        self._key = ""

    def share(self, store: SharedTokens, key: str) -> None:
        """Use ``store`` (under ``key``, one per app) with the hub's other processes."""
        with self._lock:
            self._shared, self._key = store, key

    def seed(self, value: str, expires_at: float) -> None:
        """Start from a token obtained elsewhere (e.g. the stored account credentials)."""
        with self._lock:
            self._current = AccessToken(value, expires_at - REFRESH_AHEAD_SECONDS)

    def get(self) -> str:
        """A token that is not about to expire, fetching one if needed."""
        with self._lock:
            token = self._current
            if token is None or self._clock() >= token.expires_at:
                token = self._from_store() or self._refresh()
                self._current = token
            return token.value

    def invalidate(self, stale: str) -> None:
        """Forget ``stale`` if it is still current, so the next :meth:`get` fetches anew."""
        with self._lock:
            if self._current is not None and self._current.value == stale:
                self._current = None
            if self._shared is not None:
                self._shared.forget(self._key, stale)

    def _from_store(self) -> AccessToken | None:
        found = self._shared.read(self._key) if self._shared is not None else None
        if found is None or self._clock() >= found[1]:
            return None
        return AccessToken(*found)

    def _refresh(self) -> AccessToken:
        if self._shared is None:
            return self._fetched()
        with self._shared.lock(self._key):  # not had in time: the holder died; fetch anyway
            token = self._from_store()  # another process may have refreshed while we waited
            if token is None:
                token = self._fetched()
                self._shared.write(self._key, token.value, token.expires_at)
            return token

    def _fetched(self) -> AccessToken:
        value, expires_in = self._fetch()
        ahead = min(REFRESH_AHEAD_SECONDS, expires_in / 2)
        return AccessToken(value, self._clock() + expires_in - ahead)
