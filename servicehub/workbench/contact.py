"""The customer panel's forms (phone, CRM, SMS/MMS, e-mail, identities) and the SMS gateway's
delivery-report callback.

Thin views: each form POST runs one ``servicehub.contact`` action through ``forms.submit``
and returns to the panel with a notice; what may be done to whom is the actions' business
(an id outside the caller's scope is NotVisible, like a missing one).
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from servicehub.contact.actions import (
    do_confirm_phone,
    do_link_crm,
    do_queue_email,
    do_queue_sms,
    do_unlink_crm,
)
from servicehub.contact.identities import do_link_customers, do_unlink_identity
from servicehub.contact.reports import UnknownProvider, receive_sms_reports
from servicehub.contact.sms import ReportRefused
from servicehub.core.errors import ActionError
from servicehub.core.permissions import Principal
from servicehub.workbench.forms import Form, runtime_of, submit
from servicehub.workbench.security import guard

MAX_REPORT_BYTES = 256 * 1024
PARAM = "p_"  # SMS template parameters arrive as p_<name>


def _ids(request: Request, *names: str) -> list[int]:
    return [int(request.path_params[name]) for name in names]


async def _on_request(request: Request, act: Any, done: str) -> Response:
    """Run ``act(session, who, form, request_id)`` and go back to the request's panel."""
    [request_id] = _ids(request, "request_id")
    back = f"/requests/{request_id}#contact"
    return await submit(request, lambda s, who, form: act(s, who, form, request_id), back=back, done=done)


@guard("request.view")
async def phone_submit(request: Request) -> Response:
    runtime = runtime_of(request)

    def act(session: Any, who: Principal, form: Form, request_id: int) -> None:
        typed = form.text("phone_other", max_length=32)
        do_confirm_phone(session, runtime, who, request_id, typed or form.text("phone", max_length=32))

    return await _on_request(request, act, "contact_phone")


@guard("request.view")
async def crm_link_submit(request: Request) -> Response:
    runtime = runtime_of(request)

    def act(session: Any, who: Principal, form: Form, request_id: int) -> None:
        do_link_crm(session, runtime, who, request_id, form.text("crm_number", max_length=64))

    return await _on_request(request, act, "contact_crm_linked")


@guard("request.view")
async def crm_unlink_submit(request: Request) -> Response:
    runtime = runtime_of(request)

    def act(session: Any, who: Principal, form: Form, request_id: int) -> None:
        do_unlink_crm(session, runtime, who, request_id)

    return await _on_request(request, act, "contact_crm_unlinked")


@guard("request.view")
async def sms_submit(request: Request) -> Response:
    runtime = runtime_of(request)

    def act(session: Any, who: Principal, form: Form, request_id: int) -> None:
        values = {
            name[len(PARAM) :]: form.text(name, max_length=100)
            for name in form.data
            if name.startswith(PARAM)
        }
        nonce = form.text("nonce", max_length=64) or secrets.token_hex(8)
        do_queue_sms(
            session, runtime, who, request_id, form.text("template", max_length=64), values, nonce=nonce
        )

    return await _on_request(request, act, "contact_sms_queued")


@guard("request.view")
async def email_submit(request: Request) -> Response:
    runtime = runtime_of(request)

    def act(session: Any, who: Principal, form: Form, request_id: int) -> None:
        do_queue_email(
            session,
            runtime,
            who,
            request_id,
            to=form.text("to", max_length=254),
            subject=form.text("subject", max_length=200),
            body=form.text("body", max_length=6000),
            nonce=form.text("nonce", max_length=64) or secrets.token_hex(8),
        )

    return await _on_request(request, act, "contact_email_queued")


def _back(form: Form, default: str) -> str:
    """Where an identity form returns: the page it was sent from (a request or customer page)."""
    back = form.text("back", max_length=200)
    return back if back.startswith(("/requests/", "/customers/")) else default


@guard("request.view")
async def identities_link_submit(request: Request) -> Response:
    [customer_id] = _ids(request, "customer_id")
    runtime = runtime_of(request)

    def act(session: Any, who: Principal, form: Form) -> str:
        other = form.number("other_id")
        if other is None:
            raise ActionError("customer_number_required", "name the other customer by number")
        by_phone = form.text("how", max_length=16) == "phone"
        do_link_customers(session, runtime, who, customer_id, other, by_phone=by_phone)
        return _back(form, f"/customers/{customer_id}")

    return await submit(request, act, back=f"/customers/{customer_id}", done="contact_identities_linked")


@guard("request.view")
async def identity_unlink_submit(request: Request) -> Response:
    customer_id, identity_id = _ids(request, "customer_id", "identity_id")
    runtime = runtime_of(request)

    def act(session: Any, who: Principal, form: Form) -> str:
        do_unlink_identity(session, runtime, who, customer_id, identity_id)
        return _back(form, f"/customers/{customer_id}")

    return await submit(request, act, back=f"/customers/{customer_id}", done="contact_identity_unlinked")


async def sms_callback(request: Request) -> Response:
    """``/callbacks/sms/{provider}``: the gateway's signed delivery reports (no login: the
    signature is the credential). 200 once taken; 503 asks the gateway to push again."""
    runtime = runtime_of(request)
    body = await request.body()
    if len(body) > MAX_REPORT_BYTES:
        return JSONResponse({"code": 413, "msg": "too large"}, status_code=413)
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        outcomes = await run_in_threadpool(
            receive_sms_reports, runtime, request.path_params["provider"], headers, body
        )
    except UnknownProvider:
        return JSONResponse({"code": 404, "msg": "unknown provider"}, status_code=404)
    except ReportRefused as refused:
        return JSONResponse({"code": 401, "msg": str(refused)}, status_code=401)
    if outcomes["early"]:
        return JSONResponse({"code": 1, "msg": "稍后重试"}, status_code=503)
    return JSONResponse({"code": 0, "msg": "成功"})


ROUTES: list[BaseRoute] = [
    Route("/requests/{request_id:id}/phone", phone_submit, methods=["POST"]),
    Route("/requests/{request_id:id}/crm", crm_link_submit, methods=["POST"]),
    Route("/requests/{request_id:id}/crm/unlink", crm_unlink_submit, methods=["POST"]),
    Route("/requests/{request_id:id}/sms", sms_submit, methods=["POST"]),
    Route("/requests/{request_id:id}/email", email_submit, methods=["POST"]),
    Route("/customers/{customer_id:id}/identities", identities_link_submit, methods=["POST"]),
    Route(
        "/customers/{customer_id:id}/identities/{identity_id:id}/unlink",
        identity_unlink_submit,
        methods=["POST"],
    ),
    Route("/callbacks/sms/{provider:str}", sms_callback, methods=["POST"]),
]
