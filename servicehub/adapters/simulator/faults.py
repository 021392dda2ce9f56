"""Injected misbehaviour: latency, 5xx failures and broken JSON on the platform routes.

Applies to ``/2/`` and ``/oauth2/`` only (never the ``/_sim/`` control API). Random
faults draw from their own seeded generator; ``fail_next`` / ``malformed_next`` give
tests exact, countable failures. Token expiry and quota storms are state changes and
live in the control API, not here.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from aiohttp import web

from servicehub.adapters.simulator.api_errors import ApiError, error_response

_NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass(slots=True)
class FaultSettings:
    latency_ms: int = 0
    fail_rate: float = 0.0  # share of calls answered with a 5xx
    malformed_rate: float = 0.0  # share of calls whose 200 body is cut / not JSON
    fail_next: int = 0  # the next N calls fail, before any random draw
    malformed_next: int = 0
    paths: list[str] = field(default_factory=list)  # path prefixes; empty = every platform route

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    def __init__(self, seed: int) -> None:
        self.settings = FaultSettings()
        self._rng = random.Random(f"faults:{seed}")
        self._turn = 0

    def clear(self) -> None:
        self.settings = FaultSettings()

    def update(self, values: dict[str, Any]) -> None:
        """Change the named settings; raises ValueError on unknown names or bad values."""
        known = {f.name: f.type for f in fields(FaultSettings)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(known))}")
            if name == "paths":
                if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
                    raise ValueError("paths must be a list of path prefixes")
            elif name.endswith("_rate"):
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                    raise ValueError(f"{name} must be a number between 0 and 1")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        for name, value in values.items():
            setattr(self.settings, name, float(value) if name.endswith("_rate") else value)

    def applies(self, path: str) -> bool:
        if not (path.startswith("/2/") or path.startswith("/oauth2/")):
            return False
        prefixes = self.settings.paths
        return not prefixes or any(path.startswith(p) for p in prefixes)

    def should_fail(self) -> bool:
        if self.settings.fail_next > 0:
            self.settings.fail_next -= 1
            return True
        return self.settings.fail_rate > 0 and self._rng.random() < self.settings.fail_rate

    def should_malform(self) -> bool:
        if self.settings.malformed_next > 0:
            self.settings.malformed_next -= 1
            return True
        return self.settings.malformed_rate > 0 and self._rng.random() < self.settings.malformed_rate

    def failure(self, path: str) -> web.Response:
        """Rotate through the 5xx shapes a client meets: JSON 10001, JSON 10002, nginx HTML 502."""
        self._turn += 1
        kind = self._turn % 3
        if kind == 1:
            return error_response(ApiError(10001), path)
        if kind == 2:
            return error_response(ApiError(10002), path)
        return web.Response(text=_NGINX_502, status=502, content_type="text/html")

    def malform(self, response: web.StreamResponse) -> web.StreamResponse:
        """Truncated JSON, an HTML page with status 200, or an empty body -- in turn."""
        if not isinstance(response, web.Response) or response.status != 200 or response.body is None:
            return response  # redirects and errors keep their shape
        self._turn += 1
        body = bytes(response.body) if isinstance(response.body, bytes | bytearray) else b""
        kind = self._turn % 3
        if kind == 1:
            return web.Response(
                body=body[: max(1, len(body) // 2)],
                status=response.status,
                content_type="application/json",
                charset="utf-8",
            )
        if kind == 2:
            return web.Response(
                text="<html><body>系统繁忙，请稍后再试</body></html>",
                status=200,
                content_type="text/html",
                charset="utf-8",
            )
        return web.Response(body=b"", status=response.status, content_type="application/json")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FAULTS_KEY = web.AppKey("sim_faults", Faults)


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    faults = request.app[FAULTS_KEY]
    if not faults.applies(request.path):
        return await handler(request)
    settings = faults.settings
    if settings.latency_ms > 0:
        await asyncio.sleep(settings.latency_ms / 1000)
    if faults.should_fail():
        return faults.failure(request.path)
    response = await handler(request)
    if faults.should_malform():
        return faults.malform(response)
    return response
