"""One access token for all of a hub's processes: caches sharing a store (in memory here)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from servicehub.adapters.wechat.access_token import AccessTokenCache
from tests.adapters.wechat.conftest import FakeClock


class MemoryTokens:
    """The SharedTokens protocol over a dict: what Redis does for separate processes."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def read(self, key: str) -> tuple[str, float] | None:
        return self.entries.get(key)

    def write(self, key: str, value: str, refresh_at: float) -> None:
        self.entries[key] = (value, refresh_at)

    def forget(self, key: str, value: str) -> None:
        if self.entries.get(key, ("",))[0] == value:
            del self.entries[key]

    @contextmanager
    def lock(self, key: str) -> Iterator[bool]:
        with self._lock:
            yield True


class Issuer:
    """WeChat's token endpoint: T1, T2, ... (slowly, so that refreshes overlap)."""

    def __init__(self) -> None:
        self.issued = 0
        self._lock = threading.Lock()

    def __call__(self) -> tuple[str, float]:
        with self._lock:
            self.issued += 1
            return f"T{self.issued}", 7200.0


def caches(store: MemoryTokens, issuer: Issuer, clock: FakeClock, n: int = 2) -> list[AccessTokenCache]:
    made = []
    for _ in range(n):
        cache = AccessTokenCache(issuer, clock)
        cache.share(store, "wechat:wx1")
        made.append(cache)
    return made


def test_a_second_process_uses_the_token_the_first_fetched() -> None:
    store, issuer, clock = MemoryTokens(), Issuer(), FakeClock()
    first, second = caches(store, issuer, clock)
    assert first.get() == second.get() == "T1"
    assert issuer.issued == 1


def test_a_rejected_token_is_replaced_once_for_everyone() -> None:
    store, issuer, clock = MemoryTokens(), Issuer(), FakeClock()
    first, second = caches(store, issuer, clock)
    assert first.get() == second.get() == "T1"
    second.invalidate("T1")  # WeChat answered 40001 to the second process
    assert second.get() == "T2"
    first.invalidate("T1")  # the first meets the same answer a moment later...
    assert first.get() == "T2"  # ...and takes the replacement instead of fetching a third
    assert issuer.issued == 2


def test_a_late_rejection_of_an_old_token_does_not_drop_the_new_one() -> None:
    store, issuer, clock = MemoryTokens(), Issuer(), FakeClock()
    (cache,) = caches(store, issuer, clock, n=1)
    cache.get()
    cache.invalidate("T1")
    assert cache.get() == "T2"
    cache.invalidate("T1")
    assert store.read("wechat:wx1") == ("T2", clock() + 7200 - 300)


def test_expiry_is_refreshed_by_one_of_many_concurrent_callers() -> None:
    store, issuer, clock = MemoryTokens(), Issuer(), FakeClock()
    group = caches(store, issuer, clock, n=4)
    assert {c.get() for c in group} == {"T1"}
    clock.now += 7200  # every cached copy is now due for a refresh
    seen: list[str] = []
    threads = [threading.Thread(target=lambda c=c: seen.append(c.get())) for c in group for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(seen) == {"T2"} and issuer.issued == 2


def test_a_seeded_token_from_the_stored_credentials_is_used_first() -> None:
    store, issuer, clock = MemoryTokens(), Issuer(), FakeClock()
    (cache,) = caches(store, issuer, clock, n=1)
    cache.seed("STORED", clock() + 3600)
    assert cache.get() == "STORED" and issuer.issued == 0
