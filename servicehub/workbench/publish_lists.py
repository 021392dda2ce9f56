"""联系人分组: contact lists a publication messages -- list, create, edit, import, remove, delete.

Thin views over ``publishing.audiences`` (the actions) and ``publishing.audience_reads``
(whom a list reaches on each account now). A CSV import answers with its report in the
address of the page it returns to (added, already there, the first line numbers that
matched nobody), so a reload shows the same report and re-imports nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from servicehub.core.db import utcnow
from servicehub.core.errors import ActionError
from servicehub.core.models import ContactList
from servicehub.core.permissions import Principal, access
from servicehub.publishing.audience_reads import contact_lists, list_detail
from servicehub.publishing.audiences import (
    CSV_MAX_BYTES,
    NAME_MAX,
    ListRule,
    do_delete_list,
    do_import_csv,
    do_remove_member,
    do_save_list,
)
from servicehub.publishing.choices import publish_accounts
from servicehub.routing.customers import MAX_TIER
from servicehub.workbench.forms import Form, id_or_none, principal, runtime_of, submit
from servicehub.workbench.publish import PUBLISH
from servicehub.workbench.rendering import render
from servicehub.workbench.security import guard

UNKNOWN_SHOWN = 30  # line numbers named in the report; the rest are counted


def _rule(form: Form) -> ListRule:
    tier = form.number("min_tier", 0) or 0
    if tier > MAX_TIER:
        raise ActionError("out_of_range", "tier too high", field="tier", low=0, high=MAX_TIER)
    return ListRule(tuple(form.words("tags")), tier, tuple(form.numbers("account_ids")))


@guard(PUBLISH)
async def lists_page(request: Request) -> Response:
    runtime, who = runtime_of(request), principal(request)

    def load() -> dict[str, Any]:
        with runtime.sessions() as session:
            accounts = [(a.id, a.display_name) for a in publish_accounts(session, who)]
            return {"rows": contact_lists(session, who), "accounts": accounts}

    data = await run_in_threadpool(load)
    names = dict(data["accounts"])
    return render(
        request,
        "publish/lists.html",
        **data,
        names=names,
        name_max=NAME_MAX,
        max_tier=MAX_TIER,
        notice=request.query_params.get("notice"),
    )


def _report(request: Request) -> dict[str, Any] | None:
    """The import report carried in the address (numbers only; anything else is dropped)."""
    params = request.query_params
    if params.get("notice") != "imported":
        return None

    def number(name: str) -> int:
        return id_or_none(params.get(name, "")) or 0

    lines = [n for n in (id_or_none(x) for x in params.get("unknown", "").split(",")) if n]
    return {
        "added": number("added"),
        "already": number("already"),
        "unknown": lines[:UNKNOWN_SHOWN],
        "unknown_n": max(number("unknown_n"), len(lines)),
    }


@guard(PUBLISH)
async def list_page(request: Request) -> Response:
    list_id = int(request.path_params["list_id"])
    runtime, who = runtime_of(request), principal(request)

    def load() -> Any:
        with runtime.sessions() as session:
            return list_detail(session, who, list_id, utcnow())

    detail = await run_in_threadpool(load)
    return render(
        request,
        "publish/contact_list.html",
        d=detail,
        name_max=NAME_MAX,
        max_tier=MAX_TIER,
        csv_max_mb=CSV_MAX_BYTES // (1024 * 1024),
        report=_report(request),
        notice=request.query_params.get("notice"),
    )


@guard(PUBLISH)
async def list_create(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Form) -> str:
        name = form.text("name", max_length=NAME_MAX * 2)
        saved = do_save_list(session, who, name=name, rule=_rule(form))
        return f"/publish/lists/{saved.id}?notice=list_saved"

    return await submit(request, act, back="/publish/lists")


@guard(PUBLISH)
async def list_save(request: Request) -> Response:
    list_id = int(request.path_params["list_id"])

    def act(session: Session, who: Principal, form: Form) -> None:
        name = form.text("name", max_length=NAME_MAX * 2)
        do_save_list(session, who, name=name, rule=_rule(form), list_id=list_id)

    return await submit(request, act, back=f"/publish/lists/{list_id}", done="list_saved")


@guard(PUBLISH)
async def list_delete(request: Request) -> Response:
    list_id = int(request.path_params["list_id"])

    def act(session: Session, who: Principal, form: Form) -> str:
        do_delete_list(session, who, list_id)
        return "/publish/lists?notice=list_deleted"

    return await submit(request, act, back=f"/publish/lists/{list_id}")


@guard(PUBLISH)
async def list_import(request: Request) -> Response:
    list_id = int(request.path_params["list_id"])

    def act(session: Session, who: Principal, form: Form) -> str:
        upload = form.data.get("file")
        if not isinstance(upload, UploadFile):
            access(session, who, ContactList, list_id, PUBLISH)  # another company's list: missing
            raise ActionError("csv_missing", "choose a CSV file")
        try:
            data = upload.file.read(CSV_MAX_BYTES + 1)  # one byte over: refused as too big
        finally:
            upload.file.close()  # the spooled copy is not kept past the request
        report = do_import_csv(session, who, list_id, data)
        query = {
            "notice": "imported",
            "added": report.added,
            "already": report.already,
            "unknown": ",".join(str(n) for n in report.unknown[:UNKNOWN_SHOWN]),
            "unknown_n": len(report.unknown),
        }
        return f"/publish/lists/{list_id}?{urlencode(query)}#members"

    return await submit(request, act, back=f"/publish/lists/{list_id}")


@guard(PUBLISH)
async def member_remove(request: Request) -> Response:
    list_id = int(request.path_params["list_id"])
    customer_id = int(request.path_params["customer_id"])

    def act(session: Session, who: Principal, form: Form) -> None:
        do_remove_member(session, who, list_id, customer_id)

    return await submit(request, act, back=f"/publish/lists/{list_id}#members", done="member_removed")


ROUTES: list[BaseRoute] = [
    Route("/publish/lists", lists_page),
    Route("/publish/lists", list_create, methods=["POST"]),
    Route("/publish/lists/{list_id:id}", list_page),
    Route("/publish/lists/{list_id:id}", list_save, methods=["POST"]),
    Route("/publish/lists/{list_id:id}/delete", list_delete, methods=["POST"]),
    Route("/publish/lists/{list_id:id}/import", list_import, methods=["POST"]),
    Route("/publish/lists/{list_id:id}/members/{customer_id:id}/remove", member_remove, methods=["POST"]),
]
