"""Building an account's adapter from settings and its sealed credentials."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from servicehub.adapters.base import Credentials, PlatformConfig
from servicehub.adapters.registry import build_adapter
from servicehub.core.models import Account
from servicehub.core.runtime import Runtime

_CONFIG_KEYS = {"api_base", "app_key", "app_secret", "redirect_uri", "timeout_seconds", "max_retries"}


def platform_config(runtime: Runtime, platform: str) -> PlatformConfig:
    table = dict(runtime.settings.platforms.get(platform, {}))
    if "api_base" not in table:
        raise ValueError(f"[platforms.{platform}].api_base is not set in settings.toml")
    known = {k: table.pop(k) for k in list(table) if k in _CONFIG_KEYS}
    return PlatformConfig(name=platform, extra={k: str(v) for k, v in table.items()}, **known)


def credentials_for(runtime: Runtime, account: Account) -> Credentials:
    if account.credentials is None:
        raise ValueError(f"account {account.display_name} has no credentials; authorize it first")
    data = runtime.vault.open(account.credentials)
    return Credentials(
        access_token=data["access_token"],
        uid=data.get("uid", account.platform_uid),
        expires_at=account.token_expires_at,
    )


@contextmanager
def connected(runtime: Runtime, account: Account) -> Iterator[Any]:
    """The account's adapter for the duration of a block; its connections are closed after."""
    adapter = adapter_for(runtime, account)
    try:
        yield adapter
    finally:
        close = getattr(adapter, "close", None)
        if callable(close):
            close()


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


def adapter_for(runtime: Runtime, account: Account) -> Any:
    return build_adapter(
        platform_config(runtime, account.platform),
        credentials_for(runtime, account),
        runtime.adapter_transport,
    )
