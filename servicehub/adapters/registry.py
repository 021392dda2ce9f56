"""Platform name -> adapter factory. Adding a platform is one package plus one line here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from servicehub.adapters.base import Credentials, PlatformConfig

AdapterFactory = Callable[[PlatformConfig, Credentials, httpx.BaseTransport | None], Any]


def _weibo(config: PlatformConfig, creds: Credentials, transport: httpx.BaseTransport | None) -> Any:
    from servicehub.adapters.weibo.client import WeiboAdapter

    return WeiboAdapter(config, creds, transport=transport)


def _wechat(config: PlatformConfig, creds: Credentials, transport: httpx.BaseTransport | None) -> Any:
    from servicehub.adapters.wechat.client import WeChatAdapter

    return WeChatAdapter(config, creds, transport=transport)


FACTORIES: dict[str, AdapterFactory] = {"weibo": _weibo, "wechat": _wechat}


def build_adapter(
    config: PlatformConfig, creds: Credentials, transport: httpx.BaseTransport | None = None
) -> Any:
    """An adapter for one account. ``transport`` swaps in ``httpx.MockTransport`` in tests."""
    try:
        factory = FACTORIES[config.name]
    except KeyError:
        raise ValueError(f"unknown platform {config.name!r}; known: {', '.join(sorted(FACTORIES))}") from None
    return factory(config, creds, transport)
