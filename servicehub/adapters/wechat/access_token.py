"""In-memory cache of an official account's access token.

WeChat tokens live 7200 s and every fetch invalidates the previous token after a short
grace period, so fetching per call would break other callers; the cache fetches once,
refreshes ahead of expiry, and forgets a token only when the one that failed is still
the current one (another thread may already have replaced it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

REFRESH_AHEAD_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str
    expires_at: float  # when to refresh, on the cache's clock (epoch seconds by default)


Fetcher = Callable[[], tuple[str, float]]  # -> (token, expires_in seconds)


class AccessTokenCache:
    """Thread-safe: concurrent callers during a refresh wait for one fetch and share it."""

    def __init__(self, fetch: Fetcher, clock: Callable[[], float]) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._current: AccessToken | None = None

    def seed(self, value: str, expires_at: float) -> None:
        """Start from a token obtained elsewhere (e.g. the stored account credentials)."""
        with self._lock:
            self._current = AccessToken(value, expires_at - REFRESH_AHEAD_SECONDS)

    def get(self) -> str:
        """A token that is not about to expire, fetching one if needed."""
        with self._lock:
            token = self._current
            if token is None or self._clock() >= token.expires_at:
                value, expires_in = self._fetch()
                ahead = min(REFRESH_AHEAD_SECONDS, expires_in / 2)
                token = AccessToken(value, self._clock() + expires_in - ahead)
                self._current = token
            return token.value

    def invalidate(self, stale: str) -> None:
        """Forget ``stale`` if it is still current, so the next :meth:`get` fetches anew."""
        with self._lock:
            if self._current is not None and self._current.value == stale:
                self._current = None
