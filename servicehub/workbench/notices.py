"""Notifications (mine only) and announcements (addressed to me; written by supervisors).

Thin views over ``core.notifications`` and ``workday.announcements``; the badge in the
page header asks ``/api/notifications`` when the live stream says something is new.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from servicehub.core.notifications import do_mark_read, latest, unread_count
from servicehub.core.permissions import Principal
from servicehub.workbench.forms import Form, principal, runtime_of, submit
from servicehub.workbench.i18n import translator
from servicehub.workbench.rendering import locale_of, render
from servicehub.workbench.security import guard
from servicehub.workday.announcements import (
    MANAGE,
    announcements_for,
    do_mark_announcement_read,
    do_post_announcement,
    do_remove_announcement,
)
from servicehub.workday.audience import audience_choices


def _back(form: Form, default: str) -> str:
    back = form.text("back", default=default) or default
    return back if back.startswith("/") and not back.startswith("//") else default


@guard()
async def notifications_page(request: Request) -> Response:
    runtime, who = runtime_of(request), principal(request)

    def load() -> dict[str, Any]:
        with runtime.sessions() as session:
            return {"items": latest(session, who, limit=100), "unread": unread_count(session, who)}

    return render(request, "notifications.html", **await run_in_threadpool(load))


@guard()
async def notifications_read(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Form) -> str:
        ids = form.numbers("id")
        do_mark_read(session, who, ids or None)
        return _back(form, "/notifications")

    return await submit(request, act, back="/notifications", done="read")


@guard(page=False)
async def api_notifications(request: Request) -> Response:
    runtime, who = runtime_of(request), principal(request)
    t = translator(locale_of(request))

    def load() -> dict[str, Any]:
        with runtime.sessions() as session:
            items = latest(session, who, limit=5)
            return {
                "unread": unread_count(session, who),
                "latest": [
                    {
                        "id": n.id,
                        "kind": n.kind,
                        "text": t(f"notif.{n.kind}", who=n.actor or t("audit.system")),
                        "href": n.href,
                        "read": n.read,
                    }
                    for n in items
                ],
            }

    return JSONResponse(await run_in_threadpool(load))


@guard()
async def announcements_page(request: Request) -> Response:
    runtime, who = runtime_of(request), principal(request)

    def load() -> dict[str, Any]:
        with runtime.sessions() as session:
            return {
                "announcements": announcements_for(session, who, limit=100),
                "audiences": audience_choices(session, who, MANAGE),
            }

    return render(
        request,
        "announcements.html",
        **await run_in_threadpool(load),
        notice=request.query_params.get("notice"),
    )


@guard(MANAGE)
async def announcement_post(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Form) -> None:
        do_post_announcement(
            session,
            who,
            title=form.text("title", max_length=200),
            body=form.text("body", max_length=4000),
            audience=form.text("audience", max_length=32),
        )

    return await submit(request, act, back="/announcements", done="posted")


@guard()
async def announcement_read(request: Request) -> Response:
    announcement_id = int(request.path_params["announcement_id"])

    def act(session: Session, who: Principal, form: Form) -> str:
        do_mark_announcement_read(session, who, announcement_id)
        return _back(form, "/announcements")

    return await submit(request, act, back="/announcements", done="read")


@guard(MANAGE)
async def announcement_remove(request: Request) -> Response:
    announcement_id = int(request.path_params["announcement_id"])

    def act(session: Session, who: Principal, form: Form) -> None:
        do_remove_announcement(session, who, announcement_id)

    return await submit(request, act, back="/announcements", done="removed")


ROUTES: list[BaseRoute] = [
    Route("/notifications", notifications_page),
    Route("/notifications/read", notifications_read, methods=["POST"]),
    Route("/api/notifications", api_notifications),
    Route("/announcements", announcements_page),
    Route("/announcements", announcement_post, methods=["POST"]),
    Route("/announcements/{announcement_id:id}/read", announcement_read, methods=["POST"]),
    Route("/announcements/{announcement_id:id}/remove", announcement_remove, methods=["POST"]),
]
