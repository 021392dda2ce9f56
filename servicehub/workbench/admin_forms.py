"""Shared plumbing of the administration pages: CSRF-checked changes in one transaction, scoped listings.

Kept apart from the views so the people pages (``admin``) and the routing pages
(``admin_routing``) use the same rules: a failed validation changes nothing and says why,
Forbidden / NotVisible go to the app's 403 / 404 handlers (and the denial audit).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from servicehub.core.models import Scope
from servicehub.core.permissions import Principal
from servicehub.core.users import UserError
from servicehub.routing.access import Forbidden
from servicehub.routing.presence import ShiftError
from servicehub.workbench.i18n import translator
from servicehub.workbench.pages import principal, runtime_of
from servicehub.workbench.rendering import locale_of, render
from servicehub.workbench.security import checked_form

SECTIONS = (
    ("admin.orgs", "/admin/orgs", "user.manage"),
    ("admin.users", "/admin/users", "user.manage"),
    ("admin.teams", "/admin/teams", "user.manage"),
    ("admin.roles", "/admin/roles", "user.manage"),
    ("admin.routing", "/admin/routing", "rule.manage"),
    ("admin.listening", "/admin/listening", "rule.manage"),
)


class AdminError(ValueError):
    """A form that cannot be saved; the message is shown to the administrator."""


def need_all(who: Principal, function: str) -> None:
    if who.scope(function) is not Scope.ALL:
        raise Forbidden(function)


def ip_of(request: Request) -> str:
    return request.client.host if request.client else ""


def ints(values: list[Any]) -> list[int]:
    try:
        return sorted({int(v) for v in values if str(v).strip()})
    except ValueError as exc:
        raise AdminError(str(exc)) from exc


async def change(request: Request, act: Callable[[Session, Principal, Any], None], back: str) -> Response:
    """Check CSRF, run ``act(session, principal, form)`` in one transaction, redirect back.

    An :class:`AdminError` re-renders nothing: it redirects with the message, so a reload
    never re-posts; Forbidden / NotVisible propagate to the app's 403 / 404 handlers.
    """
    form = await checked_form(request)
    t = translator(locale_of(request))
    who = principal(request)
    runtime = runtime_of(request)

    def run() -> str | None:
        with runtime.sessions() as session:
            try:
                act(session, who, form)
                session.flush()
            except (AdminError, UserError, ShiftError, ValueError) as exc:
                session.rollback()
                return str(exc)
            session.commit()
            return None

    error = await run_in_threadpool(run)
    if error:
        return render(request, "error.html", status_code=422, message=t("admin.failed", detail=error))
    return RedirectResponse(f"{back}?notice=saved", status_code=303)


async def show(
    request: Request, template: str, load: Callable[[Session, Principal], dict[str, Any]]
) -> Response:
    runtime = runtime_of(request)
    who = principal(request)

    def run() -> dict[str, Any]:
        with runtime.sessions() as session:
            return load(session, who)

    data = await run_in_threadpool(run)
    sections = [(label, href) for label, href, fn in SECTIONS if who.can(fn)]
    return render(request, template, sections=sections, notice=request.query_params.get("notice"), **data)
