"""An account's platform settings and credentials, opened from the vault for its adapter."""

from __future__ import annotations

import dataclasses

from servicehub.adapters.base import Credentials, PlatformConfig
from servicehub.core.models import Account
from servicehub.core.runtime import Runtime
from servicehub.core.settings import SettingsError

_CONFIG_KEYS = {"api_base", "app_key", "app_secret", "redirect_uri", "timeout_seconds", "max_retries"}
_SEALED_TOKEN_KEYS = {"access_token", "uid"}


class NoCredentials(ValueError):
    """The account was never authorized (or its credentials were removed)."""


def platform_config(runtime: Runtime, platform: str) -> PlatformConfig:
    """``[platforms.<platform>]`` as typed settings; the callback URL defaults to this hub's."""
    table = dict(runtime.settings.platforms.get(platform, {}))
    if "api_base" not in table:
        raise SettingsError(f"[platforms.{platform}].api_base is not set in settings.toml")
    known = {k: table.pop(k) for k in list(table) if k in _CONFIG_KEYS}
    for key, kind in (("timeout_seconds", float), ("max_retries", int)):
        if key in known:  # from HUB_PLATFORMS__<NAME>__<KEY> it arrives as a string
            try:
                known[key] = kind(known[key])
            except (TypeError, ValueError):
                raise SettingsError(
                    f"[platforms.{platform}].{key} must be a number, got {known[key]!r}"
                ) from None
    if not known.get("redirect_uri"):
        known["redirect_uri"] = f"{runtime.settings.public_url}/oauth/{platform}/callback"
    return PlatformConfig(name=platform, extra={k: str(v) for k, v in table.items()}, **known)


def sealed(runtime: Runtime, account: Account) -> dict[str, str]:
    if account.credentials is None:
        raise NoCredentials(f"account {account.display_name} has no credentials; authorize it first")
    return runtime.vault.open(account.credentials)


def credentials_for(runtime: Runtime, account: Account) -> Credentials:
    data = sealed(runtime, account)
    return Credentials(
        access_token=data.get("access_token", ""),
        uid=data.get("uid", account.platform_uid),
        expires_at=account.token_expires_at,
    )


def account_config(runtime: Runtime, account: Account) -> PlatformConfig:
    """Platform settings with the account's own app values laid over them, if it has any.

    Where a platform has one app per account (WeChat official accounts), the credential form
    sealed ``app_key`` / ``app_secret`` and platform-specific values (push token, AES key)
    with the token; they override the settings' app and join its ``extra``.
    """
    config = platform_config(runtime, account.platform)
    data = sealed(runtime, account)
    extra = {k: v for k, v in data.items() if k not in _SEALED_TOKEN_KEYS | {"app_key", "app_secret"} and v}
    return dataclasses.replace(
        config,
        app_key=data.get("app_key") or config.app_key,
        app_secret=data.get("app_secret") or config.app_secret,
        extra={**config.extra, **extra},
    )
