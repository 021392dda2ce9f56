"""Edge endpoints that are not pages: server-sent events, platform push receivers, health."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from servicehub.core.auth import signed_in
from servicehub.core.event_scope import may_receive, names_something, sees_everything, visible_event
from servicehub.core.permissions import Principal
from servicehub.core.runtime import Runtime
from servicehub.listener.push import PushRejected, receive_push, verify_echo
from servicehub.workbench.security import HubUser, client_ip, cookie_state, guard

KEEPALIVE_SECONDS = 15.0
RECHECK_SECONDS = 5.0  # how soon a stream notices that its session ended


@guard(page=False)
async def events(request: Request) -> Response:
    """Change notifications for the open page; the page re-reads what it shows.

    Each event goes out only as far as it concerns what this user may see (``core.event_scope``),
    and the stream ends within :data:`RECHECK_SECONDS` of its session ending (logout elsewhere,
    deactivation, a password reset) -- or of the server stopping.
    """
    runtime: Runtime = request.app.state.runtime
    stopping: asyncio.Event = request.app.state.stopping
    user = request.user
    assert isinstance(user, HubUser)
    token, ip = cookie_state(request).token, client_ip(request)

    def still_signed_in() -> Principal | None:
        with runtime.sessions() as session:
            found = signed_in(session, token, ip=ip)
            session.commit()
            return found.principal if found is not None else None

    def scoped(who: Principal, event: dict[str, Any]) -> dict[str, Any] | None:
        with runtime.sessions() as session:
            return visible_event(session, who, event)

    async def stream() -> AsyncIterator[str]:
        clock = asyncio.get_running_loop().time
        who: Principal | None = user.principal
        recheck = last_sent = clock()
        async with runtime.events.subscribe() as feed:
            yield "retry: 3000\n\n"  # listening from here on
            while not stopping.is_set():  # the server is shutting down: end the stream cleanly
                if clock() - recheck >= RECHECK_SECONDS:
                    who, recheck = await run_in_threadpool(still_signed_in), clock()
                if who is None:
                    return  # the session ended: so does the stream
                event = await feed.get(timeout=1.0)
                shown = None
                if event is not None and names_something(event) and may_receive(who, event):
                    shown = (
                        event if sees_everything(who, event) else await run_in_threadpool(scoped, who, event)
                    )
                if shown is not None:
                    last_sent = clock()
                    yield f"data: {json.dumps(shown, ensure_ascii=False)}\n\n"
                elif clock() - last_sent >= KEEPALIVE_SECONDS:
                    last_sent = clock()
                    yield ": keep-alive\n\n"

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


def _checks(runtime: Runtime) -> dict[str, str]:
    """What each dependency says: "ok" or the first 200 characters of its error."""
    found: dict[str, str] = {}
    try:
        with runtime.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        found["database"] = "ok"
    except Exception as exc:  # report, don't crash the probe
        found["database"] = str(exc)[:200]
    if runtime.settings.hub.mode == "production":  # embedded mode needs no Redis
        try:
            import redis

            redis.Redis.from_url(
                runtime.settings.redis.url, socket_timeout=2, socket_connect_timeout=2
            ).ping()
            found["redis"] = "ok"
        except Exception as exc:
            found["redis"] = str(exc)[:200]
    return found


def _answer(checks: dict[str, str], *, stopping: bool = False) -> Response:
    failed = {name: error for name, error in checks.items() if error != "ok"}
    if failed or stopping:
        return JSONResponse(
            {"ok": False, **failed, **({"stopping": True} if stopping else {})}, status_code=503
        )
    return JSONResponse({"ok": True})


async def healthz(request: Request) -> Response:
    """Liveness with dependencies: ``{"ok": true}``, or 503 naming what failed (database, Redis)."""
    return _answer(await run_in_threadpool(_checks, request.app.state.runtime))


async def readyz(request: Request) -> Response:
    """Readiness for a load balancer: as /healthz, and 503 once the process is shutting down,
    so traffic drains away before the live streams are ended."""
    stopping: asyncio.Event = request.app.state.stopping
    return _answer(await run_in_threadpool(_checks, request.app.state.runtime), stopping=stopping.is_set())
