"""The review page: messages the filters dropped, with their reason, and a restore button."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from servicehub.listener.review import DroppedRow, MessageNotVisible, list_dropped, restore_message
from servicehub.routing.access import NotVisible
from servicehub.workbench.pages import principal, runtime_of
from servicehub.workbench.rendering import render
from servicehub.workbench.security import checked_form, guard


@guard("message.review")
async def review_page(request: Request) -> Response:
    runtime = runtime_of(request)
    raw = request.query_params.get("before", "")
    before = int(raw) if raw.isdigit() else None

    def load() -> list[DroppedRow]:
        with runtime.sessions() as session:
            return list_dropped(session, principal(request), before)

    rows = await run_in_threadpool(load)
    return render(request, "review.html", rows=rows, next_before=rows[-1].id if len(rows) == 50 else None)


@guard("message.review")
async def restore_submit(request: Request) -> Response:
    message_id = int(request.path_params["message_id"])
    await checked_form(request)
    runtime = runtime_of(request)
    who = principal(request)

    def act() -> None:
        with runtime.sessions() as session:
            try:
                restore_message(session, runtime, who, message_id)
            except MessageNotVisible as exc:
                raise NotVisible(str(exc)) from exc
            session.commit()

    await run_in_threadpool(act)
    return RedirectResponse("/review?restored=1", status_code=303)


ROUTES = [
    Route("/review", review_page),
    Route("/review/{message_id:int}/restore", restore_submit, methods=["POST"]),
]
