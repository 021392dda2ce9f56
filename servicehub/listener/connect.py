"""Building an account's adapter from settings and its sealed credentials, once per process.

Adapters are kept per account for the life of the process (keyed by a fingerprint of the
sealed credentials, so a re-authorized token gets a fresh adapter): their HTTP connection
pools and access-token caches (WeChat) survive between polls instead of being rebuilt for
every call. The runtime closes them on shutdown.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from servicehub.adapters.base import Credentials, PlatformConfig
from servicehub.adapters.registry import build_adapter
from servicehub.core.models import Account
from servicehub.core.runtime import Runtime
from servicehub.listener.tokens import shared_tokens

_CONFIG_KEYS = {"api_base", "app_key", "app_secret", "redirect_uri", "timeout_seconds", "max_retries"}
# Per-account app credentials (WeChat: every official account is its own app) override
# settings: app_key / app_secret, and these extras.
_ACCOUNT_EXTRA_KEYS = {"token", "encoding_aes_key"}
_lock = threading.Lock()


def platform_config(runtime: Runtime, platform: str) -> PlatformConfig:
    table = dict(runtime.settings.platforms.get(platform, {}))
    if "api_base" not in table:
        raise ValueError(f"[platforms.{platform}].api_base is not set in settings.toml")
    known = {k: table.pop(k) for k in list(table) if k in _CONFIG_KEYS}
    return PlatformConfig(name=platform, extra={k: str(v) for k, v in table.items()}, **known)


def _sealed(runtime: Runtime, account: Account) -> dict[str, str]:
    if account.credentials is None:
        raise ValueError(f"account {account.display_name} has no credentials; authorize it first")
    return runtime.vault.open(account.credentials)


def credentials_for(runtime: Runtime, account: Account) -> Credentials:
    data = _sealed(runtime, account)
    return Credentials(
        access_token=data.get("access_token", ""),
        uid=data.get("uid", account.platform_uid),
        expires_at=account.token_expires_at,
    )


def account_config(runtime: Runtime, account: Account) -> PlatformConfig:
    """Platform settings with the account's own app credentials laid over them, if it has any."""
    config = platform_config(runtime, account.platform)
    data = _sealed(runtime, account)
    extra = {k: data[k] for k in _ACCOUNT_EXTRA_KEYS if data.get(k)}
    return dataclasses.replace(
        config,
        app_key=data.get("app_key") or config.app_key,
        app_secret=data.get("app_secret") or config.app_secret,
        extra={**config.extra, **extra},
    )


def adapter_for(runtime: Runtime, account: Account) -> Any:
    """The account's adapter, reused while its credentials stay the same."""
    if account.credentials is None:
        raise ValueError(f"account {account.display_name} has no credentials; authorize it first")
    fingerprint = hashlib.sha256(account.credentials or b"").hexdigest()
    cache: dict[int, tuple[str, Any]] = runtime.extra.setdefault("adapters", _AdapterCache())
    with _lock:
        hit = cache.get(account.id)
        if hit is not None and hit[0] == fingerprint:
            return hit[1]
    adapter = build_adapter(
        account_config(runtime, account), credentials_for(runtime, account), runtime.adapter_transport
    )
    share = getattr(adapter, "share_tokens", None)  # platforms whose tokens are per app (WeChat)
    if callable(share) and (store := shared_tokens(runtime)) is not None:
        share(store)
    with _lock:
        old = cache.get(account.id)
        cache[account.id] = (fingerprint, adapter)
    if old is not None:
        _close(old[1])
    return adapter


@contextmanager
def connected(runtime: Runtime, account: Account) -> Iterator[Any]:
    """The account's adapter for a block of work (kept open for the next one)."""
    yield adapter_for(runtime, account)


def oauth_client(runtime: Runtime, platform: str) -> Any:
    """The platform's OAuth2 client (Weibo only: WeChat official accounts use app credentials)."""
    if platform != "weibo":
        raise ValueError(f"{platform} accounts are not connected through OAuth")
    from servicehub.adapters.weibo.oauth import WeiboOAuth

    config = platform_config(runtime, platform)
    if not config.redirect_uri:
        config = dataclasses.replace(
            config, redirect_uri=f"{runtime.settings.public_url}/oauth/weibo/callback"
        )
    return WeiboOAuth(config, transport=runtime.adapter_transport)


def _close(adapter: Any) -> None:
    close = getattr(adapter, "close", None)
    if callable(close):
        close()


class _AdapterCache(dict[int, tuple[str, Any]]):
    """Closed with the runtime (``Runtime.close`` closes whatever in ``extra`` can be)."""

    def close(self) -> None:
        with _lock:
            adapters = [adapter for _, adapter in self.values()]
            self.clear()
        for adapter in adapters:
            _close(adapter)
