"""One's own account security: change the password, see signed-in devices, log out everywhere."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from servicehub.core.auth import do_change_password, do_log_out_everywhere, live_sessions
from servicehub.core.errors import ActionError
from servicehub.core.permissions import Principal
from servicehub.workbench.forms import Form, explain, principal, runtime_of, submit
from servicehub.workbench.rendering import render
from servicehub.workbench.security import HubUser, checked_form, guard, start_new_session


def _session_id(request: Request) -> int:
    user = request.user
    assert isinstance(user, HubUser), "guarded views only"
    return user.session_id


async def _page(request: Request, status_code: int = 200, error: str | None = None) -> Response:
    runtime, who = runtime_of(request), principal(request)

    def load() -> list[Any]:
        with runtime.sessions() as session:
            return live_sessions(session, who)

    return render(
        request,
        "password.html",
        status_code=status_code,
        sessions=await run_in_threadpool(load),
        this_session=_session_id(request),
        notice=request.query_params.get("notice"),
        error=error,
    )


@guard()
async def security_page(request: Request) -> Response:
    return await _page(request)


@guard()
async def password_submit(request: Request) -> Response:
    session_id = _session_id(request)

    def act(session: Session, who: Principal, form: Form) -> None:
        do_change_password(
            session,
            who,
            current=form.raw("current"),
            new=form.raw("new"),
            repeated=form.raw("repeated"),
            session_id=session_id,
        )

    async def say_why(error: ActionError, form: Form) -> Response:
        return await _page(request, 422, explain(request, error))

    return await submit(request, act, back="/password", done="password_changed", on_error=say_why)


@guard()
async def everywhere_submit(request: Request) -> Response:
    await checked_form(request)
    runtime, who = runtime_of(request), principal(request)

    def act() -> None:
        with runtime.sessions.begin() as session:
            do_log_out_everywhere(session, who)

    await run_in_threadpool(act)
    start_new_session(request)
    return RedirectResponse("/login", status_code=303)


ROUTES: list[BaseRoute] = [
    Route("/password", security_page),
    Route("/password", password_submit, methods=["POST"]),
    Route("/logout/everywhere", everywhere_submit, methods=["POST"]),
]
