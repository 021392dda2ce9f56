"""Injected misbehaviour: latency, 5xx failures, broken JSON, lost answers, error codes.

Applies to ``/2/`` and ``/oauth2/`` only (never the ``/_sim/`` control API). Random
faults draw from their own seeded generator; ``fail_next`` / ``malformed_next`` give
tests exact, countable failures. Token expiry and quota storms are state changes and
live in the control API, not here.

``lose_ack_next`` makes the next N calls *succeed* -- the write lands, the outbox records
it -- and then loses the answer: a 5xx in its place (``lose_ack = "5xx"``), or the answer
held back ``ack_delay_ms`` so the client times out first (``"timeout"``).
``errors`` are Weibo error codes answered on chosen APIs before anything is done, each
``{"path": "/2/comments/to_me.json", "code": 10024, "times": 2, "uid": "190253…"}``
(``times`` left out: until cleared; ``uid`` left out: every account's calls, else only the
calls made with that account's tokens): the rate limits 10022/10023/10024/20016, 10014
for a missing permission... A rate-limit storm on one API of one account (``statuses/count``
refused while ``comments/to_me`` answers) is one such rule.
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
    lose_ack_next: int = 0  # the next N calls are carried out, then their answer is lost
    lose_ack: str = "5xx"  # how: "5xx" or "timeout"
    ack_delay_ms: int = 3000  # how long a "timeout" answer is held back
    errors: list[dict[str, Any]] = field(default_factory=list)  # injected error codes (see above)

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
            elif name == "lose_ack":
                if value not in ("5xx", "timeout"):
                    raise ValueError("lose_ack must be '5xx' or 'timeout'")
            elif name == "errors":
                _check_errors(value)
            elif name.endswith("_rate"):
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                    raise ValueError(f"{name} must be a number between 0 and 1")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        for name, value in values.items():
            if name == "errors":
                value = [_normal_rule(rule) for rule in value]
            setattr(self.settings, name, float(value) if name.endswith("_rate") else value)

    def injected_error(self, path: str, uid: int | None = None) -> int | None:
        """The error code an ``errors`` rule answers ``path`` called by account ``uid`` with
        (counting it down), if any."""
        for rule in self.settings.errors:
            if path != rule["path"] or rule.get("uid") not in (None, str(uid)):
                continue
            times = rule.get("times")
            if times is None:
                return int(rule["code"])
            if times > 0:
                rule["times"] = times - 1
                return int(rule["code"])
        return None

    def should_lose_ack(self) -> bool:
        if self.settings.lose_ack_next > 0:
            self.settings.lose_ack_next -= 1
            return True
        return False

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


def _check_errors(value: Any) -> None:
    from servicehub.adapters.simulator.api_errors import ERRORS

    if not isinstance(value, list):
        raise ValueError("errors must be a list of {path, code, times?}")
    for rule in value:
        if not isinstance(rule, dict) or not isinstance(rule.get("path"), str):
            raise ValueError("each error needs a path such as /2/comments/to_me.json")
        if rule.get("code") not in ERRORS:
            raise ValueError(f"error code {rule.get('code')!r} is not one the simulator knows")
        times = rule.get("times")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
            raise ValueError("times must be a non-negative integer")
        uid = rule.get("uid")
        if uid is not None and (isinstance(uid, bool) or not str(uid).strip().isdigit()):
            raise ValueError("uid must be an account's numeric uid")


def _normal_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A copy of an ``errors`` rule with its ``uid`` (if any) as a string, as ids go out."""
    out = dict(rule)
    if out.get("uid") is not None:
        out["uid"] = str(out["uid"]).strip()
    return out


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
    if faults.should_lose_ack():
        if settings.lose_ack == "timeout":
            await asyncio.sleep(settings.ack_delay_ms / 1000)  # the client has given up by now
            return response
        return faults.failure(request.path)
    if faults.should_malform():
        return faults.malform(response)
    return response
