"""Edge endpoints that are not pages: server-sent events, platform push receivers, health."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from servicehub.core.runtime import Runtime
from servicehub.listener.push import PushRejected, receive_push, verify_echo
from servicehub.workbench.security import guard

KEEPALIVE_SECONDS = 15.0


@guard(page=False)
async def events(request: Request) -> Response:
    """Change notifications for the open page; the page re-reads what it shows."""
    runtime: Runtime = request.app.state.runtime

    stopping: asyncio.Event = request.app.state.stopping

    async def stream() -> AsyncIterator[str]:
        yield "retry: 3000\n\n"
        quiet = 0.0
        async with runtime.events.subscribe() as feed:
            while not stopping.is_set():  # the server is shutting down: end the stream cleanly
                event = await feed.get(timeout=1.0)
                if event is None:
                    quiet += 1.0
                    if quiet >= KEEPALIVE_SECONDS:
                        quiet = 0.0
                        yield ": keep-alive\n\n"
                    continue
                quiet = 0.0
                yield f"data: {json.dumps(event, ensure_ascii=False)}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


async def push(request: Request) -> Response:
    """``/push/{platform}/{account_id}``: GET is the URL check, POST a pushed message."""
    runtime: Runtime = request.app.state.runtime
    platform = request.path_params["platform"]
    account_id = int(request.path_params["account_id"])
    params = dict(request.query_params)
    try:
        if request.method == "GET":
            echo = await run_in_threadpool(verify_echo, runtime, platform, account_id, params)
            return PlainTextResponse(echo)
        body = await request.body()  # capped by limits.BodyLimit before it is read
        result = await run_in_threadpool(
            receive_push, runtime, platform, account_id, params, body, request.headers.get("content-type", "")
        )
    except PushRejected as exc:
        return PlainTextResponse(exc.reason, status_code=exc.status)
    return PlainTextResponse(result.answer, headers={"X-Stored": str(result.stored)})


async def healthz(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime

    def check() -> bool:
        with runtime.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True

    try:
        await run_in_threadpool(check)
    except Exception as exc:  # report, don't crash the probe
        return JSONResponse({"ok": False, "database": str(exc)[:200]}, status_code=503)
    return JSONResponse({"ok": True})
