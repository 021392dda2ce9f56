"""Supervision views: manual pick / re-route of a request, presence, the workload board.

Thin views over ``routing.supervisor`` and ``routing.presence``. Data scope is enforced by
the actions (``access_request`` / ``access_user``): a request or a user outside the
caller's scope answers 404, a missing function 403 -- both audited by the app. A pick that
is understood but not possible now (closed, offline, full) returns to the request page
saying why.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from servicehub.core.errors import ActionError
from servicehub.core.models import Assignment, Presence, User
from servicehub.core.permissions import Principal
from servicehub.core.runtime import Runtime
from servicehub.routing.presence import set_presence
from servicehub.routing.requests import access_request
from servicehub.routing.supervisor import AssignError, do_pick, do_reroute
from servicehub.routing.workload import workload
from servicehub.workbench.forms import MAX_INT, Form, id_or_none, json_body, principal, runtime_of, submit
from servicehub.workbench.rendering import render
from servicehub.workbench.security import CSRF_HEADER, csrf_ok, guard


def _assign(runtime: Runtime, who: Principal, request_id: int, target: str) -> None:
    """A pick (``target`` a user id) or a re-route (``"auto"``)."""
    user_id = id_or_none(target)
    if target == "auto":
        do_reroute(runtime, who, request_id)
    elif user_id is not None and user_id <= MAX_INT:
        do_pick(runtime, who, request_id, user_id)
    else:
        raise AssignError("not_eligible")


@guard("request.assign")
async def assign_submit(request: Request) -> Response:
    request_id = int(request.path_params["request_id"])
    runtime = runtime_of(request)
    back = f"/requests/{request_id}"

    def act(session: Any, who: Principal, form: Form) -> None:
        _assign(runtime, who, request_id, form.text("user_id", max_length=16))

    async def say_why(error: ActionError, form: Form) -> Response:
        return RedirectResponse(f"{back}?notice={error.code}#assignment", status_code=303)

    return await submit(request, act, back=f"{back}#assignment", done="assigned", on_error=say_why)


@guard("request.assign", page=False)
async def api_assign(request: Request) -> Response:
    if not csrf_ok(request, request.headers.get(CSRF_HEADER)):
        return JSONResponse({"error": "missing or wrong X-CSRF-Token"}, status_code=403)
    try:
        body = await json_body(request)
        target = "auto" if body.get("auto") else str(int(body["user_id"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return JSONResponse({"error": 'body must be JSON {"user_id": n} or {"auto": true}'}, status_code=400)
    request_id = int(request.path_params["request_id"])
    try:
        await run_in_threadpool(_assign, runtime_of(request), principal(request), request_id, target)
    except AssignError as exc:
        return JSONResponse({"error": exc.why}, status_code=409)
    return JSONResponse({"ok": True})


@guard("request.view", page=False)
async def api_assignments(request: Request) -> Response:
    """The stored "why" of every assignment of one request."""
    request_id = int(request.path_params["request_id"])
    runtime, who = runtime_of(request), principal(request)

    def load() -> list[dict[str, Any]]:
        with runtime.sessions() as session:
            req = access_request(session, who, request_id)
            rows = session.scalars(
                select(Assignment).where(Assignment.request_id == req.id).order_by(Assignment.id)
            )
            return [
                {
                    "id": a.id,
                    "user_id": a.user_id,
                    "strategy": a.strategy,
                    "reason": a.reason,
                    "created_at": a.created_at.isoformat(),
                }
                for a in rows
            ]

    return JSONResponse({"assignments": await run_in_threadpool(load)})


def _back(form: Form) -> str:
    back = form.text("back", default="/") or "/"
    return back if back.startswith("/") and not back.startswith("//") else "/"


@guard()
async def presence_submit(request: Request) -> Response:
    """Set one's own presence, or (with presence.manage, in scope) someone else's."""
    runtime = runtime_of(request)

    def act(session: Any, who: Principal, form: Form) -> str:
        try:
            presence = Presence(form.text("presence", max_length=16))
        except ValueError:
            raise ActionError("invalid_choice", "unknown presence", field="presence") from None
        set_presence(runtime, form.number("user_id") or who.user_id, presence, actor=who, reason="manual")
        return _back(form)

    return await submit(request, act, back="/", done="presence")


@guard("analytics.view")
async def workload_page(request: Request) -> Response:
    runtime, who = runtime_of(request), principal(request)

    def load() -> tuple[list[Any], str]:
        with runtime.sessions() as session:
            me = session.get(User, who.user_id)
            return workload(session, who), str(me.presence) if me else ""

    rows, mine = await run_in_threadpool(load)
    return render(
        request,
        "admin/workload.html",
        rows=rows,
        my_presence=mine,
        can_manage=who.can("presence.manage"),
        presences=[str(p) for p in Presence],
    )


ROUTES: list[BaseRoute] = [
    Route("/requests/{request_id:id}/assign", assign_submit, methods=["POST"]),
    Route("/presence", presence_submit, methods=["POST"]),
    Route("/workload", workload_page),
    Route("/api/requests/{request_id:id}/assign", api_assign, methods=["POST"]),
    Route("/api/requests/{request_id:id}/assignments", api_assignments),
]
