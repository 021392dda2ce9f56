"""The snippets page (快捷回复): search them; supervisors add, change and remove them.

Thin views over ``workday.snippets``; the request page inserts them (``static/app.js``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from servicehub.core.permissions import Principal
from servicehub.workbench.forms import Form, principal, runtime_of, submit
from servicehub.workbench.rendering import render
from servicehub.workbench.security import guard
from servicehub.workday.audience import audience_choices
from servicehub.workday.snippets import (
    MANAGE,
    MAX_BODY,
    MAX_TITLE,
    do_create_snippet,
    do_delete_snippet,
    do_update_snippet,
    snippets_for,
)


@guard()
async def snippets_page(request: Request) -> Response:
    query = request.query_params.get("q", "")[:50]
    runtime, who = runtime_of(request), principal(request)

    def load() -> dict[str, Any]:
        with runtime.sessions() as session:
            return {
                "snippets": snippets_for(session, who, query),
                "audiences": audience_choices(session, who, MANAGE),
            }

    return render(
        request,
        "snippets.html",
        **await run_in_threadpool(load),
        q=query,
        max_title=MAX_TITLE,
        max_body=MAX_BODY,
        notice=request.query_params.get("notice"),
    )


def _fields(form: Form) -> dict[str, str]:
    return {
        "title": form.text("title", max_length=MAX_TITLE * 2),
        "body": form.text("body", max_length=MAX_BODY * 2),
        "audience": form.text("audience", max_length=32),
    }


@guard(MANAGE)
async def snippet_create(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Form) -> None:
        do_create_snippet(session, who, **_fields(form))

    return await submit(request, act, back="/snippets", done="saved")


@guard(MANAGE)
async def snippet_update(request: Request) -> Response:
    snippet_id = int(request.path_params["snippet_id"])

    def act(session: Session, who: Principal, form: Form) -> None:
        do_update_snippet(session, who, snippet_id, **_fields(form))

    return await submit(request, act, back="/snippets", done="saved")


@guard(MANAGE)
async def snippet_delete(request: Request) -> Response:
    snippet_id = int(request.path_params["snippet_id"])

    def act(session: Session, who: Principal, form: Form) -> None:
        do_delete_snippet(session, who, snippet_id)

    return await submit(request, act, back="/snippets", done="deleted")


ROUTES: list[BaseRoute] = [
    Route("/snippets", snippets_page),
    Route("/snippets", snippet_create, methods=["POST"]),
    Route("/snippets/{snippet_id:id}", snippet_update, methods=["POST"]),
    Route("/snippets/{snippet_id:id}/delete", snippet_delete, methods=["POST"]),
]
