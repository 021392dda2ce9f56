"""A third platform defined entirely inside the tests: "嘟嘟" (toot), a small Mastodon-like
network, and an in-memory server for it behind ``httpx.MockTransport``.

It proves the seam: everything the hub needs -- its name, its text rule, its OAuth flow,
its mentions, its replies -- is said by this adapter class, and the hub connects, polls,
routes and answers it without a line of ``servicehub/`` knowing it exists.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from servicehub.adapters.base import (
    LIST_START,
    Credentials,
    FetchResult,
    Horizon,
    InboundItem,
    ItemKind,
    PlatformConfig,
    PlatformUser,
    ReplyTarget,
    SentRef,
    TextRule,
    count_chars,
)
from servicehub.adapters.errors import MalformedPayload, Rejected, TokenExpired, Unavailable

NAME = "toot"


class TootOAuth:
    """The authorization-code flow of one toot app."""

    def __init__(self, config: PlatformConfig, transport: httpx.BaseTransport | None) -> None:
        self.config = config
        self._http = httpx.Client(base_url=config.api_base, transport=transport)

    def authorize_url(self, state: str) -> str:
        query = {"client_id": self.config.app_key, "redirect_uri": self.config.redirect_uri, "state": state}
        return f"{self.config.api_base}/oauth/authorize?{urlencode(query)}"

    def exchange_code(self, code: str) -> Credentials:
        body = _answer(
            self._http.post(
                "/oauth/token",
                data={
                    "code": code,
                    "client_id": self.config.app_key,
                    "client_secret": self.config.app_secret,
                },
            )
        )
        expires = datetime.now(UTC) + timedelta(seconds=int(body["expires_in"]))
        return Credentials(
            access_token=str(body["access_token"]), uid=str(body["account_id"]), expires_at=expires
        )

    def close(self) -> None:
        self._http.close()


class TootAdapter:
    """One toot account: mentions in, replies out, its own profile."""

    platform = NAME
    names: ClassVar[Mapping[str, str]] = {"zh-CN": "嘟嘟", "en": "Toot"}
    text_rules: ClassVar[Mapping[str, TextRule]] = {
        "comment_status": TextRule(500, "char", "chars", count_chars),
    }

    @classmethod
    def authorizer(cls, config: PlatformConfig, *, transport: httpx.BaseTransport | None = None) -> TootOAuth:
        return TootOAuth(config, transport)

    def __init__(
        self, config: PlatformConfig, creds: Credentials, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.creds = creds
        self._http = httpx.Client(
            base_url=config.api_base,
            transport=transport,
            headers={"Authorization": f"Bearer {creds.access_token}"},
        )

    def close(self) -> None:
        self._http.close()

    def own_profile(self) -> PlatformUser:
        body = _answer(self._http.get("/api/me"))
        return PlatformUser(NAME, str(body["id"]), str(body["name"]))

    def fetch_mentions(
        self, since_id: str | None, max_id: str | None = None, *, horizon: Horizon | None = None
    ) -> FetchResult:
        body = _answer(self._http.get("/api/mentions", params={"since_id": since_id or ""}))
        items = [self._item(raw) for raw in body]
        if horizon is not None:  # a first connection reaches back only as far as the horizon
            items = [i for i in items if i.created_at >= horizon.not_before]
        return FetchResult(items=items, newest_id=items[0].platform_id if items else since_id or LIST_START)

    def _item(self, raw: Mapping[str, Any]) -> InboundItem:
        return InboundItem(
            platform=NAME,
            kind=ItemKind.MENTION,
            platform_id=str(raw["id"]),
            account_uid=self.creds.uid,
            author=PlatformUser(NAME, str(raw["author_id"]), str(raw["author"])),
            text=str(raw["text"]),
            created_at=datetime.fromisoformat(str(raw["at"])),
            thread_id=str(raw["id"]),
            reply_target=ReplyTarget(kind="comment_status", status_id=str(raw["id"])),
            raw=raw,
        )

    def reply(self, target: ReplyTarget, text: str, *, client_ip: str | None = None) -> SentRef:
        if target.kind != "comment_status" or not target.status_id:
            raise Rejected(f"toot cannot answer a {target.kind}")
        body = _answer(self._http.post("/api/statuses", json={"in_reply_to": target.status_id, "text": text}))
        return SentRef(platform_id=str(body["id"]), text=str(body["text"]))


def _answer(response: httpx.Response) -> Any:
    """Errors translated once, here, into the hub's platform errors."""
    if response.status_code == 401:
        raise TokenExpired("toot: token refused")
    if response.status_code >= 500:
        raise Unavailable(f"toot answered {response.status_code}")
    if response.status_code >= 400:
        raise Rejected(f"toot refused: {response.text[:200]}")
    try:
        return response.json()
    except json.JSONDecodeError as exc:
        raise MalformedPayload("toot answered something that is not JSON", body=response.text) from exc


@dataclass
class TootServer:
    """The toot network in memory: one app, accounts that authorize it, mentions, replies."""

    app_key: str
    app_secret: str
    accounts: dict[str, str] = field(default_factory=dict)  # account id -> name
    codes: dict[str, str] = field(default_factory=dict)  # code -> account id
    tokens: dict[str, str] = field(default_factory=dict)  # token -> account id
    mentions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # account id -> newest first
    statuses: list[dict[str, Any]] = field(default_factory=list)
    consented: list[dict[str, str]] = field(default_factory=list)  # what the consent page was asked

    def consent(self, authorize_url: str, account_id: str) -> str:
        """The person on the consent page says yes: the redirect back to the hub, with a code."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert query["client_id"] == self.app_key
        self.consented.append(query)
        code = secrets.token_hex(8)
        self.codes[code] = account_id
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def mention(self, account_id: str, text: str, author: str = "嘟友") -> None:
        found = self.mentions.setdefault(account_id, [])
        item_id = str(1000 + sum(len(v) for v in self.mentions.values()))
        found.insert(
            0,
            {
                "id": item_id,
                "author": author,
                "author_id": f"u-{author}",
                "text": text,
                "at": datetime.now(UTC).isoformat(),
            },
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/oauth/token":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            account_id = self.codes.pop(form.get("code", ""), None)
            if account_id is None or form.get("client_secret") != self.app_secret:
                return httpx.Response(400, json={"error": "invalid_grant"})
            token = secrets.token_hex(12)
            self.tokens[token] = account_id
            return httpx.Response(
                200, json={"access_token": token, "account_id": account_id, "expires_in": 86400}
            )
        account_id = self.tokens.get(request.headers.get("authorization", "").removeprefix("Bearer "))
        if account_id is None:
            return httpx.Response(401, json={"error": "unauthorized"})
        if path == "/api/me":
            return httpx.Response(200, json={"id": account_id, "name": self.accounts[account_id]})
        if path == "/api/mentions":
            since = request.url.params.get("since_id") or "0"
            return httpx.Response(
                200, json=[m for m in self.mentions.get(account_id, []) if int(m["id"]) > int(since)]
            )
        if path == "/api/statuses" and request.method == "POST":
            body = json.loads(request.content)
            status = {"id": str(9000 + len(self.statuses)), "by": account_id, **body}
            self.statuses.append(status)
            return httpx.Response(200, json=status)
        return httpx.Response(404, json={"error": "no such endpoint"})
