"""Shared fixtures: an adapter over a scripted fake WeChat, and live simulator servers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from servicehub.adapters.base import Credentials, PlatformConfig
from servicehub.adapters.wechat.client import WeChatAdapter

APPID = "wx1234567890abcdef"
SECRET = "s3cr3t-appsecret-value"
PUSH_TOKEN = "pushtoken123"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters
NOW = 1_700_000_000.0


def wechat_config(api_base: str = "https://api.weixin.qq.com", **extra: str) -> PlatformConfig:
    return PlatformConfig(
        name="wechat",
        api_base=api_base,
        app_key=APPID,
        app_secret=SECRET,
        max_retries=2,
        extra={"token": PUSH_TOKEN, **extra},
    )


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


Answer = httpx.Response | Exception


class FakeWeChat:
    """Answers /cgi-bin/token with T1, T2, ... and other paths from per-path scripts."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Answer]] = {}
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0

    def script(self, path: str, *answers: Answer | dict[str, Any]) -> None:
        self.scripts.setdefault(path, []).extend(
            httpx.Response(200, json=a) if isinstance(a, dict) else a for a in answers
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.scripts.get(request.url.path)
        if queue:
            answer = queue.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        if request.url.path == "/cgi-bin/token":
            self.tokens_issued += 1
            return httpx.Response(200, json={"access_token": f"T{self.tokens_issued}", "expires_in": 7200})
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    def calls(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]


@pytest.fixture
def fake() -> FakeWeChat:
    return FakeWeChat()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_adapter(fake: FakeWeChat, clock: FakeClock) -> Iterator[Callable[..., WeChatAdapter]]:
    made: list[WeChatAdapter] = []

    def make(creds: Credentials | None = None, **extra: str) -> WeChatAdapter:
        adapter = WeChatAdapter(
            wechat_config(**extra),
            creds or Credentials(access_token="", uid="gh_service"),
            transport=httpx.MockTransport(fake),
            clock=clock,
            sleep=clock.sleep,
            rng=lambda: 0.5,
        )
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()


class LiveServers:
    """aiohttp apps served on 127.0.0.1 from an event loop in a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._runners: list[web.AppRunner] = []

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def serve(self, app: web.Application) -> str:
        async def start() -> str:
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            self._runners.append(runner)
            host, port = runner.addresses[0][:2]
            return f"http://{host}:{port}"

        base: str = self.run(start())
        return base

    def close(self) -> None:
        for runner in reversed(self._runners):
            self.run(runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def live() -> Iterator[LiveServers]:
    servers = LiveServers()
    yield servers
    servers.close()


class WeChatConstants:
    """The constants above, for test modules (which cannot import conftest)."""

    appid = APPID
    secret = SECRET
    push_token = PUSH_TOKEN
    aes_key = AES_KEY
    now = NOW
    config = staticmethod(wechat_config)


@pytest.fixture
def wx() -> type[WeChatConstants]:
    return WeChatConstants
