"""Platform name -> adapter class. Adding a platform is one package plus one line in ``ADAPTERS``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import httpx

from servicehub.adapters.base import Credentials, PlatformConfig, Source, source_fetcher

AdapterFactory = Callable[[PlatformConfig, Credentials, httpx.BaseTransport | None], Any]

# "module:Class" per platform, imported on first use so one platform's dependencies never
# load for another. The class takes (config, creds, *, transport=...).
ADAPTERS: dict[str, str] = {
    "weibo": "servicehub.adapters.weibo.client:WeiboAdapter",
    "wechat": "servicehub.adapters.wechat.client:WeChatAdapter",
}


def adapter_class(platform: str) -> type[Any]:
    try:
        module, _, name = ADAPTERS[platform].partition(":")
    except KeyError:
        raise ValueError(f"unknown platform {platform!r}; known: {', '.join(sorted(ADAPTERS))}") from None
    cls: type[Any] = getattr(importlib.import_module(module), name)
    return cls


def _construct(config: PlatformConfig, creds: Credentials, transport: httpx.BaseTransport | None) -> Any:
    return adapter_class(config.name)(config, creds, transport=transport)


# Test seam: tests swap a platform's factory for an in-memory fake.
FACTORIES: dict[str, AdapterFactory] = dict.fromkeys(ADAPTERS, _construct)


def build_adapter(
    config: PlatformConfig, creds: Credentials, transport: httpx.BaseTransport | None = None
) -> Any:
    """An adapter for one account. ``transport`` swaps in ``httpx.MockTransport`` in tests."""
    factory = FACTORIES.get(config.name)
    if factory is None:
        raise ValueError(f"unknown platform {config.name!r}; known: {', '.join(sorted(ADAPTERS))}")
    return factory(config, creds, transport)


def pollable_sources(platform: str) -> tuple[Source, ...]:
    """The sources the platform's adapter can be polled for (none for push-only platforms)."""
    cls = adapter_class(platform)
    return tuple(s for s in Source if source_fetcher(cls, s) is not None)
