"""发布中心: the list of publications, composing one, editing one, and the live draft check.

Thin views over ``servicehub.publishing``: who may publish on which account, what each
platform would refuse, approval and scheduling are decided there. A refused draft comes back
as the form with everything typed and chosen, and each account's reasons beside it. The
submit carries a nonce rendered into the form, so a double-click adds one publication.

``POST /api/publish/check`` runs the same check as the submit (``compose.check_draft``) on
the form as it is while the person types; the page shows its reasons live. The server checks
again on submit: the live check only helps.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from servicehub.core.db import utcnow
from servicehub.core.errors import ActionError
from servicehub.core.models import EDITABLE_STATES, Publication, PublicationState
from servicehub.core.permissions import Forbidden, Principal, access
from servicehub.core.runtime import Runtime
from servicehub.publishing import images
from servicehub.publishing.choices import compose_choices
from servicehub.publishing.compose import check_draft
from servicehub.publishing.monitor import PAGE, publications
from servicehub.publishing.publications import do_edit, do_submit, needs_review
from servicehub.workbench.forms import Form, explain, id_or_none, principal, runtime_of, submit
from servicehub.workbench.i18n import translator
from servicehub.workbench.publish_form import (
    CATEGORIES,
    ComposeState,
    problem_texts,
    problems_of,
    state_of,
    state_of_publication,
)
from servicehub.workbench.rendering import locale_of, render
from servicehub.workbench.security import CSRF_HEADER, csrf_ok, guard

PUBLISH, APPROVE = "publish", "publish.approve"
READERS = (PUBLISH, APPROVE)
STATES = ["pending", "scheduled", "released", "rejected", "cancelled"]
NOTICE = {
    PublicationState.RELEASED: "published",
    PublicationState.SCHEDULED: "scheduled",
    PublicationState.PENDING: "pending",
}


def require_reader(who: Principal) -> None:
    """Publications are for those who publish or approve; anyone else is refused (403)."""
    if not any(who.can(f) for f in READERS):
        raise Forbidden(PUBLISH)


@guard()
async def picture(request: Request) -> Response:
    """A stored picture, for the compose form and the monitor. Its name is the SHA-256 of its
    bytes: only someone who was shown it can name it, and publishers and approvers may."""
    require_reader(principal(request))
    try:
        path = images.path_of(runtime_of(request), request.path_params["name"])
    except ActionError:
        return Response(status_code=404)
    data = await run_in_threadpool(path.read_bytes)
    _, content_type = images.kind_of(data)
    headers = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type=content_type, headers=headers)


@guard()
async def publications_page(request: Request) -> Response:
    who = principal(request)
    require_reader(who)
    state = request.query_params.get("state", "")
    state = state if state in STATES else ""
    before = id_or_none(request.query_params.get("before", ""))
    runtime = runtime_of(request)

    def load() -> Any:
        with runtime.sessions() as session:
            return publications(session, who, state=state or None, before_id=before)

    rows = await run_in_threadpool(load)
    more = rows[-1].id if len(rows) >= PAGE else None
    return render(
        request,
        "publish/index.html",
        rows=rows,
        state=state,
        states=STATES,
        more=more,
        can_publish=who.can(PUBLISH),
        notice=request.query_params.get("notice"),
    )


def _compose_page(
    request: Request,
    data: dict[str, Any],
    *,
    form: ComposeState,
    status: int = 200,
    error: str | None = None,
    problems: list[Any] | None = None,
) -> Response:
    return render(
        request,
        "publish/compose.html",
        status_code=status,
        f=form,
        categories=CATEGORIES,
        error=error,
        problems=problems or [],
        **data,
    )


def _compose_data(request: Request, publication_id: int | None = None) -> dict[str, Any]:
    """What the compose form offers the caller; with ``publication_id``, that publication's
    edit (missing when outside the caller's ``publish`` scope) -- None as ``editing`` when
    it can no longer be edited."""
    runtime, who = runtime_of(request), principal(request)
    with runtime.sessions() as session:
        found: dict[str, Any] = {"editing": None, "stored": None}
        if publication_id is not None:
            publication = access(session, who, Publication, publication_id, PUBLISH)
            if publication.state in EDITABLE_STATES:
                found["editing"] = publication.id
                found["stored"] = state_of_publication(publication)
            found["needs_review"] = needs_review(session, who, publication.id)
        else:
            found["needs_review"] = not who.can("publish.unreviewed")
        found["choices"] = compose_choices(session, runtime, who)
        return found


@guard(PUBLISH)
async def compose_page(request: Request) -> Response:
    data = await run_in_threadpool(_compose_data, request)
    return _compose_page(request, data, form=ComposeState())


@guard(PUBLISH)
async def edit_page(request: Request) -> Response:
    publication_id = int(request.path_params["publication_id"])
    data = await run_in_threadpool(_compose_data, request, publication_id)
    if data["editing"] is None:
        return RedirectResponse(f"/publish/{publication_id}", status_code=303)
    return _compose_page(request, data, form=data["stored"])


def _refused(request: Request, publication_id: int | None) -> Any:
    """Re-render the form with what was submitted and why it was refused."""

    async def on_error(error: ActionError, form: Form) -> Response:
        data = await run_in_threadpool(_compose_data, request, publication_id)
        if publication_id is not None and data["editing"] is None:  # it went, or was cancelled
            back = f"/publish/{publication_id}"
            return render(request, "error.html", status_code=422, message=explain(request, error), back=back)
        t = translator(locale_of(request))
        problems = problem_texts(t, problems_of(error))
        message = t("publish.refused") if problems else explain(request, error)
        shown = state_of(form, strict=False)
        return _compose_page(request, data, form=shown, status=422, error=message, problems=problems)

    return on_error


def _with_picture(runtime: Runtime, form: Form) -> ComposeState:
    """The form's state (strictly read), with a newly chosen picture stored -- checked by its
    bytes -- in place of the one it carried; no file chosen keeps the one it had. The upload
    is read and closed first, whatever the rest of the form holds."""
    upload = form.data.get("image_file")
    data = b""
    if isinstance(upload, UploadFile):
        try:  # an empty file field arrives as a nameless upload: closed all the same
            data = upload.file.read(images.MAX_BYTES + 1) if upload.filename else b""  # over: too big
        finally:
            upload.file.close()
    state = state_of(form, strict=True)
    if data:
        state.image = images.store_upload(runtime, data)
    return state


@guard(PUBLISH)
async def compose_submit(request: Request) -> Response:
    runtime = runtime_of(request)

    def act(session: Session, who: Principal, form: Form) -> str:
        draft = _with_picture(runtime, form).draft(form)
        nonce = form.text("nonce", max_length=64)
        if not nonce:
            raise ActionError("invalid", "the form lost its nonce; reload it")
        publication = do_submit(session, runtime, who, draft, nonce=nonce)
        return f"/publish/{publication.id}?notice={NOTICE.get(publication.state, 'saved')}"

    return await submit(request, act, back="/publish/new", on_error=_refused(request, None))


@guard(PUBLISH)
async def edit_submit(request: Request) -> Response:
    publication_id = int(request.path_params["publication_id"])
    runtime = runtime_of(request)

    def act(session: Session, who: Principal, form: Form) -> str:
        draft = _with_picture(runtime, form).draft(form)
        publication = do_edit(session, runtime, who, publication_id, draft)
        return f"/publish/{publication.id}?notice={NOTICE.get(publication.state, 'saved')}"

    back = f"/publish/{publication_id}/edit"
    return await submit(request, act, back=back, on_error=_refused(request, publication_id))


@guard(PUBLISH, page=False)
async def check_api(request: Request) -> Response:
    """The draft's problems as they are now: ``{"problems": [...], "error": ...}``."""
    if not csrf_ok(request, request.headers.get(CSRF_HEADER)):
        return JSONResponse({"error": "missing or wrong X-CSRF-Token"}, status_code=403)
    form = Form(await request.form())
    runtime, who = runtime_of(request), principal(request)
    t = translator(locale_of(request))

    def check() -> dict[str, Any]:
        with runtime.sessions() as session:
            draft = state_of(form, strict=True).draft(form)
            problems = check_draft(session, runtime, who, draft, now=utcnow())
            return {"problems": [asdict(p) for p in problem_texts(t, problems)], "error": None}

    try:
        return JSONResponse(await run_in_threadpool(check))
    except ActionError as error:
        return JSONResponse(
            {"problems": [], "error": {"code": error.code, "message": explain(request, error)}}
        )


ROUTES: list[BaseRoute] = [
    Route("/publish", publications_page),
    Route("/publish/new", compose_page),
    Route("/publish/new", compose_submit, methods=["POST"]),
    Route("/publish/{publication_id:id}/edit", edit_page),
    Route("/publish/{publication_id:id}/edit", edit_submit, methods=["POST"]),
    Route("/api/publish/check", check_api, methods=["POST"]),
    Route("/publish/pictures/{name:str}", picture),
]
