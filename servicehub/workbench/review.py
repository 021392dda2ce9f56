"""The review page: messages the filters dropped, with their reason, and a restore button."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from servicehub.core.permissions import Principal
from servicehub.listener.review import DroppedRow, do_restore_message, list_dropped
from servicehub.workbench.forms import Form, id_or_none, principal, runtime_of, submit
from servicehub.workbench.rendering import render
from servicehub.workbench.security import guard

PAGE = 50


@guard("message.review")
async def review_page(request: Request) -> Response:
    runtime, who = runtime_of(request), principal(request)
    before = id_or_none(request.query_params.get("before", ""))

    def load() -> list[DroppedRow]:
        with runtime.sessions() as session:
            return list_dropped(session, who, before, PAGE)

    rows = await run_in_threadpool(load)
    return render(
        request,
        "review.html",
        rows=rows,
        next_before=rows[-1].id if len(rows) == PAGE else None,
        notice=request.query_params.get("notice"),
    )


@guard("message.review")
async def restore_submit(request: Request) -> Response:
    message_id = int(request.path_params["message_id"])
    runtime = runtime_of(request)

    def act(session: Any, who: Principal, form: Form) -> None:
        do_restore_message(session, runtime, who, message_id)

    return await submit(request, act, back="/review", done="restored")


ROUTES: list[BaseRoute] = [
    Route("/review", review_page),
    Route("/review/{message_id:id}/restore", restore_submit, methods=["POST"]),
]
