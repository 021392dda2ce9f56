"""JSON API over the same actions as the pages (same permission checks, same scope)."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from servicehub.core.models import Message
from servicehub.publishing.outbox import queue_reply
from servicehub.publishing.text import ReplyError
from servicehub.routing.access import access_request
from servicehub.routing.queue import list_requests
from servicehub.workbench.pages import principal, runtime_of
from servicehub.workbench.security import CSRF_HEADER, csrf_ok, guard


@guard("request.view", page=False)
async def api_requests(request: Request) -> Response:
    view = request.query_params.get("view", "open")
    view = view if view in ("mine", "open", "all") else "open"
    runtime = runtime_of(request)

    def load() -> dict[str, Any]:
        with runtime.sessions() as session:
            page = list_requests(session, principal(request), view, request.query_params.get("after"))  # type: ignore[arg-type]
            return {
                "total": page.total,
                "next_after": page.next_after,
                "requests": [
                    {
                        "id": r.id,
                        "state": r.state,
                        "priority": r.priority,
                        "subject": r.subject,
                        "customer": r.customer,
                        "account": r.account,
                        "assignee": r.assignee,
                        "sentiment": r.sentiment,
                        "due_at": r.due_at.isoformat() if r.due_at else None,
                    }
                    for r in page.rows
                ],
            }

    return JSONResponse(await run_in_threadpool(load))


@guard("request.view", page=False)
async def api_request(request: Request) -> Response:
    request_id = int(request.path_params["request_id"])
    runtime = runtime_of(request)

    def load() -> dict[str, Any]:
        with runtime.sessions() as session:
            req = access_request(session, principal(request), request_id)
            messages = session.scalars(
                select(Message).where(Message.request_id == req.id).order_by(Message.id)
            )
            return {
                "id": req.id,
                "state": str(req.state),
                "priority": req.priority,
                "assignee_id": req.assignee_id,
                "messages": [
                    {
                        "id": m.id,
                        "author": m.author_name,
                        "text": m.text,
                        "sentiment": m.sentiment,
                        "kind": m.kind,
                    }
                    for m in messages
                ],
            }

    return JSONResponse(await run_in_threadpool(load))


@guard("request.view", page=False)
async def api_reply(request: Request) -> Response:
    if not csrf_ok(request, request.headers.get(CSRF_HEADER)):
        return JSONResponse({"error": "missing or wrong X-CSRF-Token"}, status_code=403)
    try:
        body = await request.json()
        text = str(body["text"])
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": 'body must be JSON {"text": "..."}'}, status_code=400)
    request_id = int(request.path_params["request_id"])
    runtime = runtime_of(request)
    who = principal(request)
    nonce = str(body.get("idempotency_key") or secrets.token_hex(8))[:64]

    def act() -> dict[str, Any]:
        with runtime.sessions() as session:
            req = access_request(session, who, request_id, "request.reply")
            outbound = queue_reply(session, runtime, req, who.user_id, text, nonce=nonce)
            session.commit()
            return {"outbound_id": outbound.id, "state": str(outbound.state)}

    try:
        return JSONResponse(await run_in_threadpool(act), status_code=202)
    except ReplyError as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
