"""Every request gets an id: the caller's ``X-Request-ID`` when it is a sane one (a proxy or load
balancer may have set it), else a new one. It is echoed in the answer, set for every log line
written while the request runs (``core.logs``), and one line per request records its outcome."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicehub.core.logs import request_id

HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._:-]{8,64}")
log = logging.getLogger("servicehub.web")


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers", []) if k == HEADER), b"")
        rid = given.decode() if _SANE.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started, status = time.monotonic(), 500

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((HEADER, rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            log.info(
                "%s %s %s %.1f ms",
                scope["method"],
                scope["path"],
                status,
                (time.monotonic() - started) * 1000,
            )
            request_id.reset(token)
