"""Supervision views: manual pick / re-route of a request, presence, the workload board.

Thin views over ``routing.supervisor`` and ``routing.presence``: they check CSRF and the
function grant, call one action, and redirect (pages) or answer JSON (API). Data scope is
enforced by the actions (``access_request`` / ``access_user``): a request or a user outside
the caller's scope answers 404, a missing function 403 -- both audited by the app.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from servicehub.core.models import Assignment, Presence, User
from servicehub.routing.access import access_request
from servicehub.routing.presence import set_presence
from servicehub.routing.supervisor import AssignError, do_pick, do_reroute
from servicehub.routing.workload import workload
from servicehub.workbench.i18n import translator
from servicehub.workbench.pages import principal, runtime_of
from servicehub.workbench.rendering import locale_of, render
from servicehub.workbench.security import CSRF_HEADER, checked_form, csrf_ok, guard


def _ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _assign(request: Request, request_id: int, target: str) -> str | None:
    """Run a pick (``target`` a user id) or a re-route (``"auto"``); an error code or None."""
    runtime, who, ip = runtime_of(request), principal(request), _ip(request)
    try:
        if target == "auto":
            do_reroute(runtime, who, request_id, ip=ip)
        else:
            do_pick(runtime, who, request_id, int(target), ip=ip)
    except AssignError as exc:
        return exc.code
    except ValueError:
        return "not_eligible"
    return None


@guard("request.assign")
async def assign_submit(request: Request) -> Response:
    request_id = int(request.path_params["request_id"])
    form = await checked_form(request)
    error = await run_in_threadpool(_assign, request, request_id, str(form.get("user_id", "")))
    notice = f"assign_{error}" if error else "assigned"
    return RedirectResponse(f"/requests/{request_id}?notice={notice}", status_code=303)


@guard("request.assign", page=False)
async def api_assign(request: Request) -> Response:
    if not csrf_ok(request, request.headers.get(CSRF_HEADER)):
        return JSONResponse({"error": "missing or wrong X-CSRF-Token"}, status_code=403)
    try:
        body = await request.json()
        target = "auto" if body.get("auto") else str(int(body["user_id"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return JSONResponse({"error": 'body must be JSON {"user_id": n} or {"auto": true}'}, status_code=400)
    request_id = int(request.path_params["request_id"])
    error = await run_in_threadpool(_assign, request, request_id, target)
    if error:
        return JSONResponse({"error": error}, status_code=409)
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


@guard()
async def presence_submit(request: Request) -> Response:
    """Set one's own presence, or (with presence.manage, in scope) someone else's."""
    form = await checked_form(request)
    t = translator(locale_of(request))
    who = principal(request)
    try:
        presence = Presence(str(form.get("presence", "")))
        user_id = int(str(form.get("user_id") or who.user_id))
    except ValueError:
        return render(request, "error.html", status_code=400, message=t("presence.invalid"))
    await run_in_threadpool(
        lambda: set_presence(
            runtime_of(request), user_id, presence, actor=who, reason="manual", ip=_ip(request)
        )
    )
    back = str(form.get("back", "/"))
    if not back.startswith("/") or back.startswith("//"):
        back = "/"
    return RedirectResponse(back, status_code=303)


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
    Route("/requests/{request_id:int}/assign", assign_submit, methods=["POST"]),
    Route("/presence", presence_submit, methods=["POST"]),
    Route("/workload", workload_page),
    Route("/api/requests/{request_id:int}/assign", api_assign, methods=["POST"]),
    Route("/api/requests/{request_id:int}/assignments", api_assignments),
]
