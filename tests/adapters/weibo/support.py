"""Helpers for the Weibo adapter tests: recorded payloads and a fake Weibo behind MockTransport."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

from servicehub.adapters.base import Credentials, PlatformConfig
from servicehub.adapters.weibo.client import WeiboAdapter

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "weibo"
API = "https://api.weibo.test"
FANS_API = "https://m.api.weibo.test"
NOW = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
ACCOUNT_UID = "1902538057"
TOKEN = "2.00JbjGiB88nsLBeb9e23f61eBN2pJC"

Reply = httpx.Response | dict[str, Any] | list[Any] | Exception | Callable[[httpx.Request], httpx.Response]


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def form(request: httpx.Request) -> dict[str, str]:
    """The urlencoded body of a POST as a flat dict."""
    return {k: v[0] for k, v in parse_qs(request.content.decode("utf-8"), keep_blank_values=True).items()}


class FakeWeibo:
    """Routes ``(method, path)`` to queued answers; the last answer repeats. Records every request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method, path)] = list(replies)

    def calls(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, request.url.path)
        if key not in self.routes:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        queue = self.routes[key]
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        if isinstance(reply, dict | list):
            return httpx.Response(200, json=reply)
        return reply(request)


def status_payload(status_id: int, text: str = "求关注。", *, uid: int = 1404376560) -> dict[str, Any]:
    """A status shaped like the wiki mentions sample, with its own id."""
    status: dict[str, Any] = copy.deepcopy(load_fixture("mentions_wiki.json")["statuses"][0])
    status.update(id=status_id, idstr=str(status_id), mid=str(status_id), text=text)
    status["user"]["id"] = uid
    return status


def timeline(items: list[dict[str, Any]], key: str) -> Callable[[httpx.Request], httpx.Response]:
    """A list endpoint with Weibo's semantics: newest first, since_id exclusive, max_id inclusive."""

    def handle(request: httpx.Request) -> httpx.Response:
        q = request.url.params
        since = int(q.get("since_id", 0))
        max_id = int(q["max_id"]) if "max_id" in q else None
        count = int(q.get("count", 20))
        chosen = sorted(items, key=lambda s: -int(s["idstr"]))
        chosen = [
            s for s in chosen if int(s["idstr"]) > since and (max_id is None or int(s["idstr"]) <= max_id)
        ]
        page = chosen[:count]
        body = {key: page, "previous_cursor": 0, "next_cursor": 0, "total_number": len(chosen)}
        return httpx.Response(200, json=body)

    return handle


def make_config(**extra: str) -> PlatformConfig:
    return PlatformConfig(
        name="weibo",
        api_base=API,
        app_key="1352222456",
        app_secret="app-secret",
        redirect_uri="https://hub.example.com/oauth/weibo",
        timeout_seconds=5.0,
        max_retries=3,
        extra={"fans_api_base": FANS_API, "page_size": "5", **extra},
    )


def make_adapter(
    fake: FakeWeibo,
    sleeps: list[float] | None = None,
    *,
    creds: Credentials | None = None,
    clock: Callable[[], datetime] = lambda: NOW,
    **extra: str,
) -> WeiboAdapter:
    sink: list[float] = [] if sleeps is None else sleeps
    return WeiboAdapter(
        make_config(**extra),
        creds or Credentials(access_token=TOKEN, uid=ACCOUNT_UID),
        transport=httpx.MockTransport(fake),
        sleep=sink.append,
        clock=clock,
    )
