"""HTML pages: thin views that authorize, call an action, and render."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from servicehub.core import audit
from servicehub.core.db import utcnow
from servicehub.core.models import (
    Account,
    Assignment,
    AuditEvent,
    Message,
    OutboundMessage,
    RequestState,
    User,
)
from servicehub.core.permissions import restrict
from servicehub.core.runtime import Runtime
from servicehub.publishing.outbox import queue_reply
from servicehub.publishing.text import ReplyError
from servicehub.routing.access import access_request
from servicehub.routing.queue import list_requests
from servicehub.routing.supervisor import assignment_panel
from servicehub.workbench.i18n import translator
from servicehub.workbench.rendering import locale_of, render
from servicehub.workbench.security import (
    HubUser,
    authenticate_password,
    checked_form,
    csrf_ok,
    fingerprint,
    guard,
)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def principal(request: Request) -> Any:
    user: HubUser = request.user
    return user.principal


async def login_page(request: Request) -> Response:
    if request.user.is_authenticated:
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html", error=None)


async def login_submit(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token")):
        return render(
            request, "login.html", status_code=400, error=translator(locale_of(request))("error.csrf")
        )
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    runtime = runtime_of(request)
    user = await run_in_threadpool(authenticate_password, runtime, username, password)
    ip = request.client.host if request.client else ""
    if user is None:
        await run_in_threadpool(_audit, runtime, "auth.login_failed", "user", username, None, ip)
        return render(
            request, "login.html", status_code=401, error=translator(locale_of(request))("login.failed")
        )
    lang = request.session.get("lang")
    request.session.clear()  # fresh session content (and CSRF token): no fixation
    request.session.update({"uid": user.id, "fp": fingerprint(user), "csrf": secrets.token_urlsafe(32)})
    if lang:
        request.session["lang"] = lang
    await run_in_threadpool(_audit, runtime, "auth.login", "user", user.id, user.id, ip)
    return RedirectResponse("/", status_code=303)


def _audit(runtime: Runtime, action: str, kind: str, obj: object, actor: int | None, ip: str) -> None:
    with runtime.sessions.begin() as session:
        audit.record(session, action, kind, obj, actor_id=actor, ip=ip)


@guard()
async def logout(request: Request) -> Response:
    form = await request.form()
    if csrf_ok(request, form.get("csrf_token")):
        request.session.clear()
    return RedirectResponse("/login", status_code=303)


@guard("request.view")
async def queue_page(request: Request) -> Response:
    view = request.query_params.get("view", "open")
    if view not in ("mine", "open", "all"):
        view = "open"
    after = request.query_params.get("after") or None
    runtime = runtime_of(request)

    def load() -> Any:
        with runtime.sessions() as session:
            return list_requests(session, principal(request), view, after)  # type: ignore[arg-type]

    page = await run_in_threadpool(load)
    return render(request, "queue.html", page=page, view=view)


@guard("request.view")
async def request_page(request: Request) -> Response:
    request_id = int(request.path_params["request_id"])
    runtime = runtime_of(request)
    data = await run_in_threadpool(_request_detail, runtime, principal(request), request_id)
    return render(request, "request.html", **data, notice=request.query_params.get("notice"))


def _request_detail(runtime: Runtime, who: Any, request_id: int) -> dict[str, Any]:
    with runtime.sessions() as session:
        req = access_request(session, who, request_id)
        messages = session.scalars(
            select(Message).where(Message.request_id == req.id).order_by(Message.created_at, Message.id)
        ).all()
        outbound = session.scalars(
            select(OutboundMessage).where(OutboundMessage.request_id == req.id).order_by(OutboundMessage.id)
        ).all()
        assignments = session.execute(
            select(Assignment, User.display_name)
            .outerjoin(User, User.id == Assignment.user_id)
            .where(Assignment.request_id == req.id)
            .order_by(Assignment.id)
        ).all()
        account = session.get(Account, req.account_id)
        assignee = session.get(User, req.assignee_id) if req.assignee_id else None
        return {
            "req": req,
            "messages": messages,
            "outbound": outbound,
            "assignments": assignments,
            "account": account,
            "assignee": assignee,
            "can_reply": who.can("request.reply"),
            "can_resolve": who.can("request.resolve"),
            **assignment_panel(session, who, req),
        }


@guard("request.view")
async def reply_submit(request: Request) -> Response:
    request_id = int(request.path_params["request_id"])
    form = await checked_form(request)
    runtime = runtime_of(request)
    who = principal(request)
    ip = request.client.host if request.client else ""
    text, nonce = str(form.get("text", "")), str(form.get("nonce", ""))[:64] or secrets.token_hex(8)

    def act() -> str | None:
        with runtime.sessions() as session:
            req = access_request(session, who, request_id, "request.reply")
            try:
                queue_reply(session, runtime, req, who.user_id, text, nonce=nonce, ip=ip)
            except ReplyError as exc:
                session.rollback()
                return str(exc)
            session.commit()
            return None

    error = await run_in_threadpool(act)
    if error:
        data = await run_in_threadpool(_request_detail, runtime, who, request_id)
        return render(request, "request.html", status_code=422, **data, error=error, draft=text, notice=None)
    return RedirectResponse(f"/requests/{request_id}?notice=queued", status_code=303)


@guard("request.view")
async def resolve_submit(request: Request) -> Response:
    request_id = int(request.path_params["request_id"])
    await checked_form(request)
    runtime = runtime_of(request)
    who = principal(request)

    def act() -> None:
        with runtime.sessions.begin() as session:
            req = access_request(session, who, request_id, "request.resolve")
            if req.state not in (RequestState.RESOLVED, RequestState.CLOSED):
                req.state = RequestState.RESOLVED
                req.resolved_at = utcnow()
                audit.record(session, "request.resolved", "request", req.id, actor_id=who.user_id)
                runtime.publish_on_commit(session, {"type": "request", "request_id": req.id})

    await run_in_threadpool(act)
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


@guard("audit.view")
async def audit_page(request: Request) -> Response:
    runtime = runtime_of(request)

    def load() -> list[Any]:
        with runtime.sessions() as session:
            stmt = restrict(
                select(AuditEvent, User.display_name)
                .outerjoin(User, User.id == AuditEvent.actor_id)
                .order_by(AuditEvent.id.desc())
                .limit(200),
                principal(request),
                "audit.view",
                AuditEvent,
            )
            return list(session.execute(stmt).all())

    return render(request, "audit.html", events=await run_in_threadpool(load))
