"""Beside a request's thread: private notes, the viewers heartbeat, and the customer's VIP tier.

Thin views over ``routing.notes``, ``routing.viewers`` and ``routing.customers``; the
actions decide scope (a request or customer outside it answers 404, like a missing one).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from servicehub.core.errors import ActionError
from servicehub.core.permissions import Principal
from servicehub.routing.customers import do_set_tier
from servicehub.routing.notes import MAX_NOTE, do_add_note
from servicehub.routing.viewers import do_heartbeat
from servicehub.workbench.forms import Form, explain, principal, runtime_of, submit
from servicehub.workbench.i18n import translator
from servicehub.workbench.rendering import locale_of
from servicehub.workbench.security import CSRF_HEADER, csrf_ok, guard


def _back(form: Form, default: str) -> str:
    back = form.text("back", default=default) or default
    return back if back.startswith("/") and not back.startswith("//") else default


@guard("request.view")
async def note_submit(request: Request) -> Response:
    request_id = int(request.path_params["request_id"])
    runtime = runtime_of(request)
    back = f"/requests/{request_id}#notes"

    def act(session: Session, who: Principal, form: Form) -> str:
        note, _ = do_add_note(session, runtime, who, request_id, form.text("note", max_length=MAX_NOTE + 100))
        return f"/requests/{request_id}?notice=note_added#note-{note.id}"

    return await submit(request, act, back=back, done="note_added")


@guard("request.view", page=False)
async def api_viewing(request: Request) -> Response:
    """The page's heartbeat: ``{"mode": "viewing" | "replying"}`` -> the others here now."""
    if not csrf_ok(request, request.headers.get(CSRF_HEADER)):
        return JSONResponse({"error": "missing or wrong X-CSRF-Token"}, status_code=403)
    try:
        body = await request.json()
        mode = str(body.get("mode", "viewing"))[:16]
    except (ValueError, AttributeError):
        return JSONResponse({"error": 'body must be JSON {"mode": "viewing"}'}, status_code=400)
    request_id = int(request.path_params["request_id"])
    runtime, who = runtime_of(request), principal(request)
    t = translator(locale_of(request))

    def act() -> list[dict[str, Any]]:
        with runtime.sessions() as session:
            others = do_heartbeat(session, who, request_id, mode)
            session.commit()
            return [
                {"name": v.name, "mode": v.mode, "text": t(f"viewers.{v.mode}", name=v.name)} for v in others
            ]

    try:
        return JSONResponse({"others": await run_in_threadpool(act)})
    except ActionError as error:
        return JSONResponse({"error": error.code, "message": explain(request, error)}, status_code=422)


@guard("customer.set_tier")
async def tier_submit(request: Request) -> Response:
    customer_id = int(request.path_params["customer_id"])
    runtime = runtime_of(request)

    def act(session: Session, who: Principal, form: Form) -> str:
        do_set_tier(session, runtime, who, customer_id, form.number("tier", 0) or 0)
        return _back(form, f"/customers/{customer_id}")

    return await submit(request, act, back=f"/customers/{customer_id}", done="tier_set")


ROUTES: list[BaseRoute] = [
    Route("/requests/{request_id:id}/notes", note_submit, methods=["POST"]),
    Route("/api/requests/{request_id:id}/viewing", api_viewing, methods=["POST"]),
    Route("/customers/{customer_id:id}/tier", tier_submit, methods=["POST"]),
]
