"""The operator's pages: logging in and out, the queue, a request (reply, resolve, retry).

Thin views: parse the input, call one action or one read, render. Every form POST goes
through ``forms.submit``; permissions and data scope are the actions' business.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from servicehub.contact.panel import contact_panel
from servicehub.core.auth import Login, do_log_in, do_log_out
from servicehub.core.errors import ActionError
from servicehub.core.permissions import Principal
from servicehub.core.runtime import Runtime
from servicehub.publishing.outbox import do_queue_reply, do_retry_outbound
from servicehub.routing.queue import list_requests
from servicehub.routing.requests import do_resolve_request, request_detail
from servicehub.routing.supervisor import assignment_panel
from servicehub.workbench.forms import Form, explain, principal, runtime_of, submit
from servicehub.workbench.i18n import translator
from servicehub.workbench.rendering import locale_of, render
from servicehub.workbench.security import HubUser, client_ip, csrf_ok, guard, start_new_session


async def login_page(request: Request) -> Response:
    if request.user.is_authenticated:
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html", error=None)


async def login_submit(request: Request) -> Response:
    form = await request.form()
    t = translator(locale_of(request))
    if not csrf_ok(request, form.get("csrf_token")):
        return render(request, "login.html", status_code=400, error=t("error.csrf"))
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    runtime, ip = runtime_of(request), client_ip(request)
    agent = request.headers.get("user-agent", "")

    def log_in() -> Login:
        with runtime.sessions() as session:
            outcome = do_log_in(
                session, runtime, username=username, password=password, ip=ip, user_agent=agent
            )
            session.commit()
            return outcome

    outcome = await run_in_threadpool(log_in)
    if outcome.lock is not None:
        minutes = max(1, -(-outcome.lock.seconds // 60))
        return render(
            request,
            "login.html",
            status_code=429,
            error=t(f"login.locked_{outcome.lock.by}", minutes=minutes),
        )
    if outcome.token is None:
        return render(request, "login.html", status_code=401, error=t("login.failed"))
    start_new_session(request, outcome.token)  # a new token: no fixation, a new CSRF token
    return RedirectResponse("/", status_code=303)


@guard()
async def logout(request: Request) -> Response:
    form = await request.form()
    user = request.user
    if csrf_ok(request, form.get("csrf_token")) and isinstance(user, HubUser):
        runtime = runtime_of(request)

        def log_out() -> None:
            with runtime.sessions.begin() as session:
                do_log_out(session, user.principal, user.session_id)

        await run_in_threadpool(log_out)
        start_new_session(request)
    return RedirectResponse("/login", status_code=303)


@guard("request.view")
async def queue_page(request: Request) -> Response:
    view = request.query_params.get("view", "open")
    if view not in ("mine", "open", "all"):
        view = "open"
    after = request.query_params.get("after") or None
    runtime, who = runtime_of(request), principal(request)

    def load() -> Any:
        with runtime.sessions() as session:
            return list_requests(session, who, view, after)  # type: ignore[arg-type]

    page = await run_in_threadpool(load)
    return render(request, "queue.html", page=page, view=view)


def _request_page_data(runtime: Runtime, who: Principal, request_id: int) -> dict[str, Any]:
    with runtime.sessions() as session:
        detail = request_detail(session, who, request_id)
        return {
            "detail": detail,
            "req": detail.request,
            "can_reply": who.can("request.reply"),
            "can_resolve": who.can("request.resolve"),
            "contact": contact_panel(session, runtime, who, request_id),
            **assignment_panel(session, who, detail.request),
        }


@guard("request.view")
async def request_page(request: Request) -> Response:
    request_id = int(request.path_params["request_id"])
    data = await run_in_threadpool(_request_page_data, runtime_of(request), principal(request), request_id)
    return render(request, "request.html", **data, notice=request.query_params.get("notice"))


@guard("request.view")
async def reply_submit(request: Request) -> Response:
    request_id = int(request.path_params["request_id"])
    runtime = runtime_of(request)

    def act(session: Any, who: Principal, form: Form) -> None:
        nonce = form.text("nonce", max_length=64) or secrets.token_hex(8)
        do_queue_reply(session, runtime, who, request_id, form.raw("text"), nonce=nonce)

    async def keep_draft(error: ActionError, form: Form) -> Response:
        data = await run_in_threadpool(_request_page_data, runtime, principal(request), request_id)
        return render(
            request,
            "request.html",
            status_code=422,
            **data,
            error=explain(request, error),
            draft=form.raw("text"),
            notice=None,
        )

    return await submit(request, act, back=f"/requests/{request_id}", done="queued", on_error=keep_draft)


@guard("request.view")
async def resolve_submit(request: Request) -> Response:
    request_id = int(request.path_params["request_id"])
    runtime = runtime_of(request)

    def act(session: Any, who: Principal, form: Form) -> None:
        do_resolve_request(session, runtime, who, request_id)

    return await submit(request, act, back=f"/requests/{request_id}", done="resolved")


@guard("request.view")
async def retry_submit(request: Request) -> Response:
    request_id = int(request.path_params["request_id"])
    outbound_id = int(request.path_params["outbound_id"])
    runtime = runtime_of(request)

    def act(session: Any, who: Principal, form: Form) -> None:
        do_retry_outbound(session, runtime, who, outbound_id, request_id=request_id)

    return await submit(request, act, back=f"/requests/{request_id}", done="retried")


ROUTES: list[BaseRoute] = [
    Route("/login", login_page, methods=["GET"], name="login"),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/", queue_page, name="queue"),
    Route("/requests/{request_id:id}", request_page),
    Route("/requests/{request_id:id}/reply", reply_submit, methods=["POST"]),
    Route("/requests/{request_id:id}/resolve", resolve_submit, methods=["POST"]),
    Route("/requests/{request_id:id}/replies/{outbound_id:id}/retry", retry_submit, methods=["POST"]),
]
