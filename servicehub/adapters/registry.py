"""Platform name -> adapter class. Adding a platform is one package plus one line in ``ADAPTERS``.

Everything else the hub needs to know about a platform it reads off the adapter class
through the functions here, typed with the capability protocols of ``base``:

- ``names``: the platform as people call it, per locale (``{"zh-CN": "新浪微博", "en": ...}``);
- ``text_rules``: target kind -> :class:`~servicehub.adapters.base.TextRule`;
- ``credential_fields`` and ``check_credentials(values)``: for platforms whose accounts are
  connected by app credentials typed into a form (WeChat official accounts);
- ``authorizer(config, transport=...)``: for platforms connected through OAuth (Weibo).

A platform without one of these simply lacks that capability: :func:`authorizer` then
raises :class:`~servicehub.adapters.errors.Unsupported`, never ``AttributeError``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, cast

import httpx

from servicehub.adapters.base import (
    Adapter,
    AppConnection,
    Authorizer,
    CredentialField,
    Credentials,
    FanGraphReader,
    FollowingReader,
    PayloadRule,
    PlatformConfig,
    PublishProblem,
    Source,
    TextRule,
    TieRule,
    source_fetcher,
)
from servicehub.adapters.errors import Unsupported

AdapterFactory = Callable[[PlatformConfig, Credentials, httpx.BaseTransport | None], Adapter]

# "module:Class" per platform, imported on first use so one platform's dependencies never
# load for another. The class takes (config, creds, *, transport=...).
ADAPTERS: dict[str, str] = {
    "weibo": "servicehub.adapters.weibo.client:WeiboAdapter",
    "wechat": "servicehub.adapters.wechat.client:WeChatAdapter",
}


def platforms() -> list[str]:
    return sorted(ADAPTERS)


def adapter_class(platform: str) -> type[Any]:
    """The adapter class of ``platform`` (its class attributes describe the platform)."""
    try:
        module, _, name = ADAPTERS[platform].partition(":")
    except KeyError:
        raise Unsupported(f"unknown platform {platform!r}; known: {', '.join(platforms())}") from None
    cls: type[Any] = getattr(importlib.import_module(module), name)
    return cls


def _construct(config: PlatformConfig, creds: Credentials, transport: httpx.BaseTransport | None) -> Adapter:
    adapter: Adapter = adapter_class(config.name)(config, creds, transport=transport)
    return adapter


# Test seam: tests swap a platform's factory for an in-memory fake.
FACTORIES: dict[str, AdapterFactory] = {}


def build_adapter(
    config: PlatformConfig, creds: Credentials, transport: httpx.BaseTransport | None = None
) -> Adapter:
    """An adapter for one account. ``transport`` swaps in ``httpx.MockTransport`` in tests."""
    adapter_class(config.name)  # an unknown platform is Unsupported, faked or not
    return FACTORIES.get(config.name, _construct)(config, creds, transport)


def pollable_sources(platform: str) -> tuple[Source, ...]:
    """The sources the platform's adapter can be polled for (none for push-only platforms)."""
    cls = adapter_class(platform)
    return tuple(s for s in Source if source_fetcher(cls, s) is not None)


def names(platform: str) -> Mapping[str, str]:
    """The platform's name per locale; the registry name when the adapter gives none."""
    found: Mapping[str, str] = getattr(adapter_class(platform), "names", {})
    return found or {"zh-CN": platform, "en": platform}


def text_rule(platform: str, target_kind: str) -> TextRule | None:
    """How long a text for ``target_kind`` may be on ``platform`` (None: no rule known)."""
    rules: Mapping[str, TextRule] = getattr(adapter_class(platform), "text_rules", {})
    return rules.get(target_kind)


def payload_rules(platform: str) -> tuple[PayloadRule, ...]:
    """What the platform's raw payloads say an item is (reposts, replies, follows...)."""
    rules: tuple[PayloadRule, ...] = getattr(adapter_class(platform), "payload_rules", ())
    return rules


def tie_rules(platform: str) -> tuple[TieRule, ...]:
    """Where the platform's payloads name the user an item answers."""
    rules: tuple[TieRule, ...] = getattr(adapter_class(platform), "tie_rules", ())
    return rules


def text_ties(platform: str, text: str) -> list[tuple[str, str]]:
    """(tie, screen name) for each user a text names by the platform's conventions
    (Weibo: ``回复@x:`` a reply, ``//@x:`` a repost, ``@x`` a mention); none elsewhere."""
    find = getattr(adapter_class(platform), "text_ties", None)
    return list(find(text)) if callable(find) else []


def reads_followers(platform: str) -> bool:
    """Whether the platform's API lists an account's followers (and so counts them)."""
    return issubclass(adapter_class(platform), FanGraphReader)


def reads_following(platform: str) -> bool:
    """Whether the platform's API lists the accounts an account follows."""
    return issubclass(adapter_class(platform), FollowingReader)


def credential_fields(platform: str) -> tuple[CredentialField, ...]:
    """The form that connects an account of ``platform`` by app credentials (empty: none)."""
    fields: tuple[CredentialField, ...] = getattr(adapter_class(platform), "credential_fields", ())
    return fields


def check_credentials(platform: str, values: Mapping[str, str]) -> AppConnection:
    """Validate a credential form (``InvalidCredentials`` names the field) into a connection."""
    check = getattr(adapter_class(platform), "check_credentials", None)
    if check is None:
        raise Unsupported(f"{platform} accounts are not connected by app credentials")
    return cast(AppConnection, check(values))


def can_authorize(platform: str) -> bool:
    return callable(getattr(adapter_class(platform), "authorizer", None))


def authorizer(config: PlatformConfig, transport: httpx.BaseTransport | None = None) -> Authorizer:
    """The OAuth client of ``config``'s platform app; :class:`Unsupported` if it has none."""
    make = getattr(adapter_class(config.name), "authorizer", None)
    if make is None:
        raise Unsupported(f"{config.name} accounts are not connected through OAuth")
    return cast(Authorizer, make(config, transport=transport))


def capable(platform: str, capability: type[Any]) -> bool:
    """Whether ``platform``'s adapter has ``capability`` (a Protocol of ``base``), asked of
    the class, so a form can offer only what each account can do before connecting to it."""
    return issubclass(adapter_class(platform), capability)


def dm_window(platform: str) -> timedelta | None:
    """How long after a follower last wrote the platform lets the account message them
    (None: the platform names no window)."""
    window: timedelta | None = getattr(adapter_class(platform), "dm_window", None)
    return window


def post_problems(config: PlatformConfig, text: str) -> list[PublishProblem]:
    """Why ``config``'s platform would refuse ``text`` as a post (empty: nothing known)."""
    check = getattr(adapter_class(config.name), "post_problems", None)
    return list(check(text, config)) if callable(check) else []
