"""Each account's adapter, built once per process and kept while its credentials stay the same.

Adapters are kept per account for the life of the process (keyed by a fingerprint of the
sealed credentials, so a re-authorized token gets a fresh adapter): their HTTP connection
pools and access-token caches (WeChat) survive between polls instead of being rebuilt for
every call. The runtime closes them on shutdown.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from servicehub.accounts.config import account_config, credentials_for
from servicehub.accounts.tokens import shared_tokens
from servicehub.adapters.base import Adapter
from servicehub.adapters.registry import build_adapter
from servicehub.core.models import Account
from servicehub.core.runtime import Runtime


class AdapterCache:
    """Account id -> (credentials fingerprint, adapter); thread-safe, closed with the runtime."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._adapters: dict[int, tuple[str, Adapter]] = {}

    def get(self, account_id: int, fingerprint: str) -> Adapter | None:
        with self._lock:
            hit = self._adapters.get(account_id)
        return hit[1] if hit is not None and hit[0] == fingerprint else None

    def put(self, account_id: int, fingerprint: str, adapter: Adapter) -> None:
        with self._lock:
            old = self._adapters.get(account_id)
            self._adapters[account_id] = (fingerprint, adapter)
        if old is not None and old[1] is not adapter:
            old[1].close()

    def close(self) -> None:
        with self._lock:
            adapters = [adapter for _, adapter in self._adapters.values()]
            self._adapters.clear()
        for adapter in adapters:
            adapter.close()


def adapter_for(runtime: Runtime, account: Account) -> Adapter:
    """The account's adapter, reused while its credentials stay the same."""
    if runtime.adapters is None:
        runtime.adapters = AdapterCache()
    cache: AdapterCache = runtime.adapters
    fingerprint = hashlib.sha256(account.credentials or b"").hexdigest()
    adapter = cache.get(account.id, fingerprint)
    if adapter is not None:
        return adapter
    adapter = build_adapter(
        account_config(runtime, account), credentials_for(runtime, account), runtime.adapter_transport
    )
    share = getattr(adapter, "share_tokens", None)  # platforms whose tokens are per app (WeChat)
    if callable(share) and (store := shared_tokens(runtime)) is not None:
        share(store)
    cache.put(account.id, fingerprint, adapter)
    return adapter


@contextmanager
def connected(runtime: Runtime, account: Account) -> Iterator[Adapter]:
    """The account's adapter for a block of work (kept open for the next one)."""
    yield adapter_for(runtime, account)
