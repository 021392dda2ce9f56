"""JSON API over the same actions and reads as the pages (same permission checks, same scope).

Writes need the session's CSRF token in ``X-CSRF-Token``; an :class:`ActionError` answers
422 with its code (and the message in the caller's language), out-of-scope ids 404 exactly
like missing ones.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from servicehub.core.errors import ActionError
from servicehub.publishing.outbox import do_queue_reply
from servicehub.routing.queue import list_requests
from servicehub.routing.requests import request_detail
from servicehub.workbench.forms import explain, json_body, principal, runtime_of
from servicehub.workbench.security import CSRF_HEADER, csrf_ok, guard


@guard("request.view", page=False)
async def api_requests(request: Request) -> Response:
    view = request.query_params.get("view", "open")
    view = view if view in ("mine", "open", "all") else "open"
    runtime, who = runtime_of(request), principal(request)

    def load() -> dict[str, Any]:
        with runtime.sessions() as session:
            page = list_requests(session, who, view, request.query_params.get("after"))  # type: ignore[arg-type]
            return {
                "total": page.total,  # counted up to routing.queue.COUNT_CAP
                "more": page.more,  # true: there are more than "total"
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
    runtime, who = runtime_of(request), principal(request)

    def load() -> dict[str, Any]:
        with runtime.sessions() as session:
            detail = request_detail(session, who, request_id)
            req = detail.request
            return {
                "id": req.id,
                "state": str(req.state),
                "priority": req.priority,
                "assignee_id": req.assignee_id,
                "messages": [
                    {"id": m.id, "author": m.author_name, "text": m.text, "kind": m.kind, "keep": m.keep}
                    for m in detail.messages
                ],
                "replies": [
                    {"id": o.id, "state": o.state, "text": o.text, "error_kind": o.error_kind}
                    for o in detail.replies
                ],
            }

    return JSONResponse(await run_in_threadpool(load))


@guard("request.view", page=False)
async def api_reply(request: Request) -> Response:
    if not csrf_ok(request, request.headers.get(CSRF_HEADER)):
        return JSONResponse({"error": "missing or wrong X-CSRF-Token"}, status_code=403)
    try:
        body = await json_body(request)
        text = str(body["text"])
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": 'body must be JSON {"text": "..."}'}, status_code=400)
    request_id = int(request.path_params["request_id"])
    runtime, who = runtime_of(request), principal(request)
    nonce = str(body.get("idempotency_key") or secrets.token_hex(8))[:64]

    def act() -> dict[str, Any]:
        with runtime.sessions() as session:
            outbound = do_queue_reply(session, runtime, who, request_id, text, nonce=nonce)
            session.commit()
            return {"outbound_id": outbound.id, "state": str(outbound.state)}

    try:
        return JSONResponse(await run_in_threadpool(act), status_code=202)
    except ActionError as error:
        return JSONResponse({"error": error.code, "message": explain(request, error)}, status_code=422)


ROUTES: list[BaseRoute] = [
    Route("/api/requests", api_requests),
    Route("/api/requests/{request_id:id}", api_request),
    Route("/api/requests/{request_id:id}/reply", api_reply, methods=["POST"]),
]
