"""Connecting an account: the OAuth2 authorization-code flow against Weibo.

1. :meth:`WeiboOAuth.authorize_url` with the hub's ``state`` (see ``accounts.authorization``);
2. the callback gets ``code`` and ``state``; the hub checks the state, then
   :meth:`WeiboOAuth.exchange_code` -> :class:`OAuthToken` with an absolute expiry;
3. :meth:`WeiboOAuth.get_token_info` tells how long a stored token still lives.

There is no refresh: Weibo gives refresh tokens only to apps using its official mobile
SDK. A web app re-runs the authorization, which, for a user still logged in to Weibo,
flashes past and extends the token's lifetime. An expiring account therefore goes to
"needs re-authorization" rather than to a background refresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from servicehub.adapters.base import Credentials, PlatformConfig
from servicehub.adapters.errors import MalformedPayload
from servicehub.adapters.weibo.mapping import as_int, id_value, obj
from servicehub.adapters.weibo.session import WeiboSession


@dataclass(frozen=True, slots=True)
class OAuthToken(Credentials):
    """The result of a code exchange: the account's credentials, and what else Weibo said."""

    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def credentials(self) -> Credentials:
        return Credentials(access_token=self.access_token, uid=self.uid, expires_at=self.expires_at)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """``oauth2/get_token_info``; the platform spells its fields ``create_at``/``expire_in``."""

    uid: str
    appkey: str
    scope: str | None
    created_at: datetime
    expires_at: datetime


def _seconds(body: Mapping[str, Any], *names: str) -> int:
    """A duration that Weibo sends as a number or as a string, under any of ``names``."""
    for name in names:
        value = body.get(name)
        if value is not None and value != "":
            seconds = as_int(value, -1)
            if seconds < 0:
                raise MalformedPayload(f"Weibo payload field {name!r} is not a number of seconds: {value!r}")
            return seconds
    raise MalformedPayload(f"Weibo payload is missing required field {names[0]!r}")


class WeiboOAuth:
    """OAuth2 calls for one Weibo app (``config.app_key``/``app_secret``/``redirect_uri``)."""

    def __init__(
        self,
        config: PlatformConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self._clock = clock
        self._session = WeiboSession(config, None, transport=transport, sleep=sleep, clock=clock)

    def close(self) -> None:
        self._session.close()

    def authorize_url(
        self,
        state: str,
        *,
        scope: str | None = None,
        display: str | None = None,
        forcelogin: bool = False,
    ) -> str:
        """Where to send the operator's browser; Weibo redirects back with ``code`` and ``state``."""
        query: dict[str, str] = {
            "client_id": self.config.app_key,
            "redirect_uri": self.config.redirect_uri,
            "response_type": "code",
            "state": state,
        }
        if scope:
            query["scope"] = scope
        if display:
            query["display"] = display
        if forcelogin:
            query["forcelogin"] = "true"
        return f"{self._session.url('oauth2/authorize')}?{urlencode(query)}"

    def exchange_code(self, code: str) -> OAuthToken:
        """``oauth2/access_token``: a form POST (JSON is refused with 21323), never retried."""
        body = obj(
            self._session.post(
                "oauth2/access_token",
                {
                    "client_id": self.config.app_key,
                    "client_secret": self.config.app_secret,
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.config.redirect_uri,
                },
            ),
            "access_token",
        )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise MalformedPayload("Weibo payload is missing required field 'access_token'")
        # remind_in is the deprecated twin of expires_in; use it only when expires_in is absent.
        lifetime = _seconds(body, "expires_in", "remind_in")
        return OAuthToken(
            access_token=token,
            uid=id_value(body.get("uid"), "access_token.uid"),
            expires_at=self._clock() + timedelta(seconds=lifetime),
            raw={k: v for k, v in body.items() if k != "access_token"},
        )

    def get_token_info(self, access_token: str) -> TokenInfo:
        """How long ``access_token`` still lives; a read, so it may be retried."""
        body = obj(
            self._session.post("oauth2/get_token_info", {"access_token": access_token}, idempotent=True),
            "get_token_info",
        )
        created = _seconds(body, "create_at", "created_at")
        remaining = _seconds(body, "expire_in", "expires_in")
        scope = body.get("scope")
        return TokenInfo(
            uid=id_value(body.get("uid"), "get_token_info.uid"),
            appkey=str(body.get("appkey") or ""),
            scope=str(scope) if scope else None,
            created_at=datetime.fromtimestamp(created, UTC),
            expires_at=self._clock() + timedelta(seconds=remaining),
        )
