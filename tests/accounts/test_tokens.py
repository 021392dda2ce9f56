"""The Redis store the hub's processes share platform tokens through (real Redis)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from servicehub.accounts import adapters as connect
from servicehub.accounts.tokens import RedisTokens
from servicehub.adapters import registry
from servicehub.core.runtime import Runtime
from servicehub.core.users import ensure_org
from tests.factories import add_wechat_account
from tests.services import redis_url


@pytest.fixture
def store() -> Iterator[RedisTokens]:
    tokens = RedisTokens(redis_url(), prefix=f"servicehub:test-tokens:{uuid.uuid4().hex}:", wait_seconds=2)
    yield tokens
    tokens.close()


def test_written_tokens_are_read_back_and_forgotten_only_if_still_current(store: RedisTokens) -> None:
    assert store.read("wechat:wx1") is None
    store.write("wechat:wx1", "T1", time.time() + 100)
    value, refresh_at = store.read("wechat:wx1") or ("", 0.0)
    assert value == "T1" and refresh_at > time.time()
    store.write("wechat:wx1", "T2", time.time() + 100)  # another process refreshed meanwhile
    store.forget("wechat:wx1", "T1")  # a late rejection of the old token
    assert (store.read("wechat:wx1") or ("",))[0] == "T2"
    store.forget("wechat:wx1", "T2")
    assert store.read("wechat:wx1") is None


def test_the_refresh_lock_admits_one_holder_at_a_time(store: RedisTokens) -> None:
    inside, most = 0, 0
    guard = threading.Lock()

    def refresh() -> None:
        nonlocal inside, most
        with store.lock("wechat:wx1") as held:
            assert held
            with guard:
                inside += 1
                most = max(most, inside)
            time.sleep(0.05)
            with guard:
                inside -= 1

    threads = [threading.Thread(target=refresh) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 1


def test_production_adapters_share_tokens_and_embedded_ones_need_not(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared: list[object] = []

    class Adapter:
        platform = "wechat"

        def share_tokens(self, store: object) -> None:
            shared.append(store)

        def close(self) -> None:
            pass

    monkeypatch.setitem(registry.FACTORIES, "wechat", lambda config, creds, transport: Adapter())
    with runtime.sessions.begin() as s:
        account = add_wechat_account(
            s,
            runtime,
            original_id="gh_10010test",
            appid="wx10010test",
            secret="wx-secret",
            push_token="wx-token",
            org=ensure_org(s, "总部"),
        )
        connect.adapter_for(runtime, account)
        assert shared == []  # embedded: one process, nothing to share
        store = object()
        monkeypatch.setattr(connect, "shared_tokens", lambda _runtime: store)
        account.credentials = runtime.vault.seal({**runtime.vault.open(account.credentials or b""), "x": "1"})
        connect.adapter_for(runtime, account)  # new credentials: a new adapter
        assert shared == [store]
