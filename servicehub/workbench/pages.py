"""The operator's pages: logging in and out, the queue, a request (reply, resolve, retry).

The queue lives at ``/queue`` (``/`` is the home page, ``workbench.home``; an old
``/?view=...`` link is sent on to the queue). The request page gathers what the operator
needs beside the thread: the customer panel, notes, snippets, work orders and leads.

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
from servicehub.leads.reads import leads_of_customer
from servicehub.publishing.outbox import do_queue_reply, do_retry_outbound
from servicehub.routing.customers import MAX_TIER, customer_panel
from servicehub.routing.notes import colleagues_for, notes_of
from servicehub.routing.queue import list_handled, list_requests, next_request_id
from servicehub.routing.requests import access_request, do_resolve_request, request_detail
from servicehub.routing.supervisor import assignment_panel
from servicehub.routing.viewers import viewers
from servicehub.workbench.forms import Form, explain, principal, runtime_of, submit
from servicehub.workbench.i18n import translator
from servicehub.workbench.rendering import locale_of, render
from servicehub.workbench.security import HubUser, client_ip, csrf_ok, guard, start_new_session
from servicehub.workday.snippets import fill, snippets_for
from servicehub.workorders.reads import KINDS as ORDER_KINDS
from servicehub.workorders.reads import open_orders_of_customer, orders_of_request, target_choices


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


VIEWS = ("mine", "open", "all", "handled")


@guard("request.view")
async def queue_page(request: Request) -> Response:
    view = request.query_params.get("view", "open")
    if view not in VIEWS:
        view = "open"
    after = request.query_params.get("after") or None
    runtime, who = runtime_of(request), principal(request)

    def load() -> Any:
        with runtime.sessions() as session:
            if view == "handled":
                return list_handled(session, who, after=after)
            return list_requests(session, who, view, after)  # type: ignore[arg-type]

    page = await run_in_threadpool(load)
    return render(request, "queue.html", page=page, view=view, views=VIEWS)


def _request_page_data(runtime: Runtime, who: Principal, request_id: int) -> dict[str, Any]:
    with runtime.sessions() as session:
        detail = request_detail(session, who, request_id)
        req = detail.request
        assignment = assignment_panel(session, who, req)
        customer = assignment["customer"]
        is_open = req.state not in ("resolved", "closed")
        can_reply = who.can("request.reply")
        snippets = (
            [
                (
                    s,
                    fill(
                        s.body,
                        customer=customer.display_name if customer else "",
                        account=detail.account.display_name,
                    ),
                )
                for s in snippets_for(session, who)
            ]
            if can_reply and is_open
            else []
        )
        return {
            "detail": detail,
            "req": req,
            "can_reply": can_reply,
            "can_resolve": who.can("request.resolve"),
            "contact": contact_panel(session, runtime, who, request_id),
            **assignment,
            "panel": customer_panel(session, who, req),
            "can_set_tier": who.can("customer.set_tier"),
            "max_tier": MAX_TIER,
            "notes": notes_of(session, who, req),
            "colleagues": colleagues_for(session, req, exclude=who.user_id),
            "snippets": snippets,
            "orders": orders_of_request(session, who, req.id),
            "customer_orders": [
                o for o in open_orders_of_customer(session, who, req.customer_id) if o.request_id != req.id
            ],
            "can_open_order": who.can("request.transfer") and is_open,
            "order_targets": target_choices(session, who) if who.can("request.transfer") and is_open else [],
            "order_kinds": ORDER_KINDS,
            "leads": leads_of_customer(session, who, req.customer_id),
            "can_lead": who.can("lead.manage"),
            "viewers": viewers(session, who, req.id),
        }


@guard("request.view")
async def request_page(request: Request) -> Response:
    request_id = int(request.path_params["request_id"])
    data = await run_in_threadpool(_request_page_data, runtime_of(request), principal(request), request_id)
    return render(request, "request.html", **data, notice=request.query_params.get("notice"))


@guard("request.view")
async def next_request(request: Request) -> Response:
    """The N shortcut: the next request to work on, found now (the page may be old), or the queue."""
    request_id = int(request.path_params["request_id"])
    runtime, who = runtime_of(request), principal(request)

    def find() -> int | None:
        with runtime.sessions() as session:
            access_request(session, who, request_id)  # out of scope: 404, like a missing id
            return next_request_id(session, who, request_id)

    found = await run_in_threadpool(find)
    return RedirectResponse(f"/requests/{found}" if found else "/queue", status_code=303)


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
    Route("/queue", queue_page, name="queue"),
    Route("/requests/{request_id:id}", request_page),
    Route("/requests/{request_id:id}/next", next_request),
    Route("/requests/{request_id:id}/reply", reply_submit, methods=["POST"]),
    Route("/requests/{request_id:id}/resolve", resolve_submit, methods=["POST"]),
    Route("/requests/{request_id:id}/replies/{outbound_id:id}/retry", retry_submit, methods=["POST"]),
]
