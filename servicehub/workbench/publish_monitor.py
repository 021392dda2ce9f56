"""发布监控: one publication as it goes out and is received, and what may be done to it.

The page shows the publication, its approval, each target's delivery (with a retry for a
failed or unknown one), each post's reposts, comments and likes over time, the latest
replies and the requests they caused. It stays current without a reload: a live
``publication`` event for it (released, sent, sampled, reviewed) or a reply on one of its
accounts makes it re-read ``/api/publications/{id}``, and so does a timer -- every 15 s, or
every 2 s while a delivery is on its way (an event sent before the page's live stream was
listening is missed).

Thin views: ``publishing.monitor`` reads through the caller's scope (a publication outside
it is missing), the actions decide who may cancel, approve or retry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from servicehub.core.errors import ActionError
from servicehub.core.models import EDITABLE_STATES, PublicationState
from servicehub.core.permissions import Principal
from servicehub.core.runtime import Runtime
from servicehub.publishing.choices import contact_list_names
from servicehub.publishing.monitor import Monitor, monitor
from servicehub.publishing.outbox import do_retry_target
from servicehub.publishing.publications import COMMENT_MAX, do_cancel, do_review, holds
from servicehub.workbench.forms import Form, principal, runtime_of, submit
from servicehub.workbench.publish import APPROVE, PUBLISH, require_reader
from servicehub.workbench.rendering import render, render_fragment
from servicehub.workbench.security import guard

RETRYABLE = ("failed", "unknown")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _series(m: Monitor) -> list[dict[str, Any]]:
    """Each sent post's samples for its chart: [[epoch ms, reposts, comments, likes], ...],
    from the moment it was sent (when it had drawn nothing yet)."""
    sent = {d.outbound_id: d for d in m.deliveries}
    found = []
    for outbound_id, samples in m.series.items():
        points = [[_ms(x.at), x.reposts, x.comments, x.likes] for x in samples]
        when = sent[outbound_id].sent_at if outbound_id in sent else None
        if points and when is not None and _ms(when) < points[0][0]:
            points.insert(0, [_ms(when), 0, 0, 0])
        account = sent[outbound_id].account if outbound_id in sent else ""
        found.append({"id": outbound_id, "account": account, "points": points})
    return found


def _load(runtime: Runtime, who: Principal, publication_id: int) -> dict[str, Any]:
    with runtime.sessions() as session:
        m = monitor(session, who, publication_id)
        state = m.publication.state
        return {
            "m": m,
            "waiting": sum(m.states[s] for s in ("queued", "sending", "retry")),
            "p": m.publication,
            "targets": list(m.publication.targets),
            "list_names": dict(contact_list_names(session, who)),
            "latest": {oid: samples[-1] for oid, samples in m.series.items() if samples},
            "series": _series(m),
            "can_edit": state in EDITABLE_STATES and holds(session, who, publication_id, PUBLISH),
            "can_review": state == PublicationState.PENDING and holds(session, who, publication_id, APPROVE),
            "can_retry": holds(session, who, publication_id, PUBLISH),
            "retryable": RETRYABLE,
            "comment_max": COMMENT_MAX,
        }


@guard()
async def monitor_page(request: Request) -> Response:
    who = principal(request)
    require_reader(who)
    publication_id = int(request.path_params["publication_id"])
    data = await run_in_threadpool(_load, runtime_of(request), who, publication_id)
    return render(request, "publish/monitor.html", **data, notice=request.query_params.get("notice"))


@guard(page=False)
async def monitor_api(request: Request) -> Response:
    """The monitor's changing parts: state, counts, chart series, and the deliveries and
    replies sections rendered as the page renders them."""
    who = principal(request)
    require_reader(who)
    publication_id = int(request.path_params["publication_id"])
    data = await run_in_threadpool(_load, runtime_of(request), who, publication_id)
    m: Monitor = data["m"]
    return JSONResponse(
        {
            "id": m.publication.id,
            "state": str(m.publication.state),
            "delivered": m.states["sent"] + m.states["delivered"],
            "failed": m.states["failed"] + m.states["unknown"],
            "waiting": data["waiting"],
            "reaction_count": m.reaction_count,
            "series": data["series"],
            "html": {
                "deliveries": render_fragment(request, "publish/_deliveries.html", **data),
                "reactions": render_fragment(request, "publish/_reactions.html", **data),
            },
        }
    )


@guard(PUBLISH)
async def cancel_submit(request: Request) -> Response:
    publication_id = int(request.path_params["publication_id"])
    runtime = runtime_of(request)

    def act(session: Session, who: Principal, form: Form) -> None:
        do_cancel(session, runtime, who, publication_id)

    return await submit(request, act, back=f"/publish/{publication_id}", done="cancelled")


@guard(APPROVE)
async def review_submit(request: Request) -> Response:
    publication_id = int(request.path_params["publication_id"])
    runtime = runtime_of(request)

    def act(session: Session, who: Principal, form: Form) -> str:
        decision = form.text("decision", max_length=16)
        if decision not in ("approve", "reject"):
            raise ActionError("invalid_choice", "approve or reject", field="decision")
        comment = form.text("comment", max_length=COMMENT_MAX * 2)
        publication = do_review(
            session, runtime, who, publication_id, approve=decision == "approve", comment=comment
        )
        notice = {
            PublicationState.RELEASED: "approved_published",
            PublicationState.SCHEDULED: "approved_scheduled",
        }.get(publication.state, "rejected")
        return f"/publish/{publication_id}?notice={notice}"

    return await submit(request, act, back=f"/publish/{publication_id}")


@guard(PUBLISH)
async def retry_submit(request: Request) -> Response:
    publication_id = int(request.path_params["publication_id"])
    outbound_id = int(request.path_params["outbound_id"])
    runtime = runtime_of(request)

    def act(session: Session, who: Principal, form: Form) -> None:
        do_retry_target(session, runtime, who, outbound_id, publication_id=publication_id)

    return await submit(request, act, back=f"/publish/{publication_id}#deliveries", done="retried")


ROUTES: list[BaseRoute] = [
    Route("/publish/{publication_id:id}", monitor_page),
    Route("/api/publications/{publication_id:id}", monitor_api),
    Route("/publish/{publication_id:id}/cancel", cancel_submit, methods=["POST"]),
    Route("/publish/{publication_id:id}/review", review_submit, methods=["POST"]),
    Route("/publish/{publication_id:id}/retry/{outbound_id:id}", retry_submit, methods=["POST"]),
]
