"""Sales lead pages: the list with filters and CSV export, one lead with its history.

Thin views over ``servicehub.leads``; scope (a partner sees only its company's leads) and
masking (phone and ID numbers in the list and the CSV) are decided there.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from servicehub.core.models import LeadStage
from servicehub.core.permissions import Principal
from servicehub.leads.actions import (
    MAX_NOTES,
    MAX_PRODUCT,
    do_change_owner,
    do_create_lead,
    do_move_stage,
    do_update_lead,
)
from servicehub.leads.reads import LeadFilter, export_csv, lead_detail, list_leads
from servicehub.workbench.audit_log import parse_day
from servicehub.workbench.forms import Form, id_or_none, principal, runtime_of, submit
from servicehub.workbench.i18n import translator
from servicehub.workbench.rendering import locale_of, render
from servicehub.workbench.security import guard

MANAGE = "lead.manage"
STAGES = [str(s) for s in LeadStage]
FILTERS = ("stage", "owner", "account", "since", "until")


def _filter(request: Request) -> tuple[LeadFilter, dict[str, str]]:
    params = request.query_params
    form = {k: params.get(k, "")[:32] for k in FILTERS if params.get(k)}
    until = parse_day(form.get("until", ""))
    query = LeadFilter(
        stage=form.get("stage", "") if form.get("stage") in STAGES else "",
        owner_id=id_or_none(form.get("owner", "")),
        account_id=id_or_none(form.get("account", "")),
        since=parse_day(form.get("since", "")),
        until=until + timedelta(days=1) if until else None,  # the whole of that day
        before=id_or_none(params.get("before", "")),
    )
    return query, form


@guard(MANAGE)
async def leads_page(request: Request) -> Response:
    query, form = _filter(request)
    runtime, who = runtime_of(request), principal(request)

    def load() -> Any:
        with runtime.sessions() as session:
            return list_leads(session, who, query)

    page = await run_in_threadpool(load)
    return render(request, "leads.html", page=page, form=form, stages=STAGES, can_export=who.can("export"))


@guard(MANAGE)
async def leads_export(request: Request) -> Response:
    query, _ = _filter(request)
    runtime, who = runtime_of(request), principal(request)
    t = translator(locale_of(request))
    header = [
        t(f"lead.csv.{c}")
        for c in (
            "id",
            "created",
            "customer",
            "phone",
            "account",
            "product",
            "value",
            "stage",
            "owner",
            "notes",
        )
    ]
    names = {s: t(f"lead_stage.{s}") for s in STAGES}

    def load() -> str:
        with runtime.sessions() as session:
            return export_csv(session, who, query, header, names)

    body = await run_in_threadpool(load)
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="leads.csv"'},
    )


@guard(MANAGE)
async def lead_page(request: Request) -> Response:
    lead_id = int(request.path_params["lead_id"])
    runtime, who = runtime_of(request), principal(request)

    def load() -> Any:
        with runtime.sessions() as session:
            return lead_detail(session, who, lead_id)

    detail = await run_in_threadpool(load)
    return render(
        request,
        "lead.html",
        d=detail,
        max_product=MAX_PRODUCT,
        max_notes=MAX_NOTES,
        notice=request.query_params.get("notice"),
    )


def _lead_fields(form: Form) -> dict[str, Any]:
    return {
        "product": form.text("product", max_length=MAX_PRODUCT * 2),
        "value": form.number("value"),
        "notes": form.text("notes", max_length=MAX_NOTES * 2),
    }


@guard(MANAGE)
async def lead_from_request(request: Request) -> Response:
    request_id = int(request.path_params["request_id"])
    runtime = runtime_of(request)

    def act(session: Session, who: Principal, form: Form) -> str:
        lead = do_create_lead(session, runtime, who, request_id=request_id, **_lead_fields(form))
        return f"/requests/{request_id}?notice=lead_created#lead-{lead.id}"

    return await submit(request, act, back=f"/requests/{request_id}#leads", done="lead_created")


@guard(MANAGE)
async def lead_from_customer(request: Request) -> Response:
    customer_id = int(request.path_params["customer_id"])
    runtime = runtime_of(request)

    def act(session: Session, who: Principal, form: Form) -> str:
        lead = do_create_lead(session, runtime, who, customer_id=customer_id, **_lead_fields(form))
        return f"/leads/{lead.id}"

    return await submit(request, act, back=f"/customers/{customer_id}", done="lead_created")


@guard(MANAGE)
async def lead_stage(request: Request) -> Response:
    lead_id = int(request.path_params["lead_id"])
    runtime = runtime_of(request)

    def act(session: Session, who: Principal, form: Form) -> None:
        do_move_stage(
            session,
            runtime,
            who,
            lead_id,
            form.text("stage", max_length=16),
            form.text("note", max_length=MAX_NOTES * 2),
        )

    return await submit(request, act, back=f"/leads/{lead_id}", done="stage_moved")


@guard(MANAGE)
async def lead_owner(request: Request) -> Response:
    lead_id = int(request.path_params["lead_id"])
    runtime = runtime_of(request)

    def act(session: Session, who: Principal, form: Form) -> None:
        do_change_owner(session, runtime, who, lead_id, form.number("user_id", 0) or 0)

    return await submit(request, act, back=f"/leads/{lead_id}", done="owner_changed")


@guard(MANAGE)
async def lead_update(request: Request) -> Response:
    lead_id = int(request.path_params["lead_id"])
    runtime = runtime_of(request)

    def act(session: Session, who: Principal, form: Form) -> None:
        do_update_lead(session, runtime, who, lead_id, **_lead_fields(form))

    return await submit(request, act, back=f"/leads/{lead_id}", done="saved")


ROUTES: list[BaseRoute] = [
    Route("/leads", leads_page),
    Route("/leads/export.csv", leads_export),
    Route("/leads/{lead_id:id}", lead_page),
    Route("/leads/{lead_id:id}", lead_update, methods=["POST"]),
    Route("/leads/{lead_id:id}/stage", lead_stage, methods=["POST"]),
    Route("/leads/{lead_id:id}/owner", lead_owner, methods=["POST"]),
    Route("/requests/{request_id:id}/leads", lead_from_request, methods=["POST"]),
    Route("/customers/{customer_id:id}/leads", lead_from_customer, methods=["POST"]),
]
