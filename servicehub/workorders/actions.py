"""The work order actions, one per step of :mod:`servicehub.workorders.machine`.

Each reads the order through :func:`access_order` (NotVisible outside both sides, see the
package docstring), checks that the caller is on the side that takes the step (else
Forbidden), moves the state through ``machine.next_state`` (else ActionError), records the
step and its audit event, tells the other side, and announces the change after commit:
``{"type": "workorder", "work_order_id": n, "request_id": r, "account_id": a}``.

While an order is open, its request shows as transferred (转派中); when the last open order
of a request comes back (returned or sent back) the request is in progress again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.db import is_postgres, utcnow
from servicehub.core.errors import ActionError
from servicehub.core.models import (
    OPEN_STATES,
    Organization,
    RequestState,
    ServiceRequest,
    Team,
    User,
    WorkOrder,
    WorkOrderKind,
    WorkOrderState,
    WorkOrderStep,
    user_teams,
)
from servicehub.core.notifications import notify
from servicehub.core.permissions import (
    Forbidden,
    NotVisible,
    Principal,
    access,
    addressed_clause,
    principal_for,
    restrict,
)
from servicehub.core.runtime import Runtime
from servicehub.workorders.machine import OPEN, SIDE, Side, Step, next_state

HANDLE = "workorder.handle"
TRANSFER = "request.transfer"
MAX_TEXT = 2000
MAX_DUE = timedelta(days=90)
TARGET_KINDS = ("user", "team", "org")


# -- who may do what --------------------------------------------------------------------------


def visible_by(who: Principal) -> str:
    """The function whose scope decides which orders ``who`` sees (see ``_CLAUSES``)."""
    return "request.view" if who.can("request.view") else HANDLE


def access_order(session: Session, who: Principal, order_id: int, *, lock: bool = False) -> WorkOrder:
    """The order, if ``who`` is on either side of it; else NotVisible (as if missing)."""
    return access(session, who, WorkOrder, order_id, visible_by(who), lock=lock)


def is_receiver(session: Session, who: Principal, order: WorkOrder) -> bool:
    scope = who.scope(HANDLE)
    if scope is None:
        return False
    stmt = select(WorkOrder.id).where(WorkOrder.id == order.id, addressed_clause(who, scope))
    return session.scalars(stmt).first() is not None


def is_originator(session: Session, who: Principal, order: WorkOrder) -> bool:
    stmt = select(ServiceRequest.id).where(ServiceRequest.id == order.request_id)
    return session.scalars(restrict(stmt, who, TRANSFER, ServiceRequest)).first() is not None


def may_take(session: Session, who: Principal, order: WorkOrder, step: Step) -> bool:
    if SIDE[step] is Side.RECEIVER:
        return is_receiver(session, who, order)
    return is_originator(session, who, order)


# -- receivers ----------------------------------------------------------------------------------


def _handlers(users: Iterable[User]) -> list[int]:
    return [u.id for u in users if u.is_active and principal_for(u).can(HANDLE)]


def receivers(session: Session, order: WorkOrder) -> list[int]:
    """The people an order sent to a person, a team or a company reaches."""
    if order.to_user_id is not None:
        user = session.get(User, order.to_user_id)
        return _handlers([user] if user else [])
    if order.to_team_id is not None:
        members = select(user_teams.c.user_id).where(user_teams.c.team_id == order.to_team_id)
        return _handlers(session.scalars(select(User).where(User.id.in_(members))))
    return _handlers(session.scalars(select(User).where(User.org_id == order.to_org_id)))


def _origin_people(session: Session, order: WorkOrder) -> list[int]:
    """Who on the originating side hears of the order: its originator and the request's assignee."""
    assignee = session.scalar(select(ServiceRequest.assignee_id).where(ServiceRequest.id == order.request_id))
    return [u for u in {order.originator_id, assignee} if u is not None]


# -- opening -------------------------------------------------------------------------------------


def _text(value: str, field: str) -> str:
    text = value.strip()
    if not text:
        raise ActionError("field_required", f"{field} is required", field=field)
    if len(text) > MAX_TEXT:
        raise ActionError("too_long", f"{field} is longer than {MAX_TEXT}", field=field, limit=MAX_TEXT)
    return text


def _target(session: Session, who: Principal, target: str) -> tuple[str, int]:
    """``user:<id>`` (someone of the caller's own company, within ``request.transfer``'s
    scope), ``team:<id>`` or ``org:<id>`` (any team or company: the hand-over desks)."""
    kind, _, raw = target.partition(":")
    if kind not in TARGET_KINDS or not raw.isdigit() or len(raw) > 9:
        raise ActionError("field_required", "choose who the order goes to", field="target")
    target_id = int(raw)
    if kind == "user":
        stmt = select(User.id).where(User.id == target_id, User.is_active.is_(True))
        if session.scalars(restrict(stmt, who, TRANSFER, User)).first() is None:
            raise NotVisible(f"user {target_id}")
        if target_id == who.user_id:
            raise ActionError("workorder_to_self", "a work order goes to someone else")
    elif kind == "team" and session.get(Team, target_id) is None:
        raise NotVisible(f"team {target_id}")
    elif kind == "org" and session.get(Organization, target_id) is None:
        raise NotVisible(f"organization {target_id}")
    return kind, target_id


def do_open_work_order(
    session: Session,
    runtime: Runtime,
    who: Principal,
    request_id: int,
    *,
    kind: str,
    description: str,
    target: str,
    due_at: datetime | None,
    now: datetime | None = None,
) -> WorkOrder:
    """Hand request ``request_id`` over as a work order to ``target`` (``user:``/``team:``/``org:<id>``)."""
    request = access(session, who, ServiceRequest, request_id, TRANSFER, visible_by="request.view")
    try:
        order_kind = WorkOrderKind(kind)
    except ValueError:
        raise ActionError("invalid_choice", f"unknown work order type {kind!r}", field="wo_kind") from None
    text = _text(description, "description")
    now = now or utcnow()
    if due_at is None:
        raise ActionError("field_required", "a due time is required", field="due_at")
    if not now < due_at <= now + MAX_DUE:
        raise ActionError("workorder_due", "the due time must be within the next 90 days", days=MAX_DUE.days)
    to_kind, to_id = _target(session, who, target)
    order = WorkOrder(
        request_id=request.id,
        account_id=request.account_id,
        customer_id=request.customer_id,
        kind=order_kind,
        description=text,
        state=next_state(None, Step.OPEN),
        due_at=due_at,
        originator_id=who.user_id,
        to_user_id=to_id if to_kind == "user" else None,
        to_team_id=to_id if to_kind == "team" else None,
        to_org_id=to_id if to_kind == "org" else None,
    )
    people = receivers(session, order)
    if not people:
        raise ActionError("workorder_no_receiver", "nobody there may receive work orders")
    session.add(order)
    session.flush()
    _step(session, who, order, Step.OPEN, None, text)
    audit.record(
        session,
        "workorder.opened",
        "work_order",
        order.id,
        by=who,
        request_id=request.id,
        wo_kind=str(order_kind),
        target=target,
        due_at=due_at.isoformat(),
    )
    if request.state in OPEN_STATES:
        request.state = RequestState.TRANSFERRED
    notify(
        session,
        runtime,
        people,
        "workorder_received",
        by=who,
        account_id=order.account_id,
        work_order_id=order.id,
    )
    _announce(session, runtime, order)
    return order


# -- the other steps ---------------------------------------------------------------------------


def _take(
    session: Session, who: Principal, order_id: int, step: Step, text: str | None = None
) -> tuple[WorkOrder, WorkOrderState, str]:
    """Fetch the order (NotVisible), check ``who``'s side (Forbidden) and the state (ActionError),
    then the step's text if it needs one -- in that order, so a hidden order answers exactly
    like a missing one whatever was typed -- and only then move it."""
    order = access_order(session, who, order_id, lock=True)
    if is_postgres(session):
        session.refresh(order)
    if not may_take(session, who, order, step):
        raise Forbidden(HANDLE if SIDE[step] is Side.RECEIVER else TRANSFER)
    before = WorkOrderState(order.state)
    after = next_state(before, step)
    note = _text(text, NOTE_FIELD[step]) if text is not None and step in NOTE_FIELD else (text or "").strip()
    order.state = after
    return order, before, note[:MAX_TEXT]


# The steps that need a text, and what the form calls it.
NOTE_FIELD = {
    Step.SEND_BACK: "reason",
    Step.PROGRESS: "progress",
    Step.RETURN: "result",
    Step.REOPEN: "reason",
}


def _step(
    session: Session, who: Principal, order: WorkOrder, step: Step, before: WorkOrderState | None, note: str
) -> None:
    session.add(
        WorkOrderStep(
            work_order_id=order.id,
            actor_id=who.user_id,
            action=str(step),
            from_state=str(before) if before else None,
            to_state=str(order.state),
            note=note,
        )
    )


def _record(
    session: Session, who: Principal, order: WorkOrder, step: Step, before: WorkOrderState, note: str
) -> None:
    _step(session, who, order, step, before, note)
    audit.record(
        session,
        ACTION_OF[step],
        "work_order",
        order.id,
        by=who,
        request_id=order.request_id,
        wo_state_before=str(before),
        wo_state_after=str(order.state),
        note=note[:200],
    )


ACTION_OF = {
    Step.ACCEPT: "workorder.accepted",
    Step.SEND_BACK: "workorder.sent_back",
    Step.PROGRESS: "workorder.progress",
    Step.RETURN: "workorder.returned",
    Step.CLOSE: "workorder.closed",
    Step.REOPEN: "workorder.reopened",
}


def _announce(session: Session, runtime: Runtime, order: WorkOrder) -> None:
    event = {"type": "workorder", "work_order_id": order.id, "request_id": order.request_id}
    runtime.publish_on_commit(session, {**event, "account_id": order.account_id})


def _back_in_progress(session: Session, order: WorkOrder) -> None:
    """The request is in progress again once none of its orders is out any more."""
    request = session.get(ServiceRequest, order.request_id)
    if request is None or request.state != RequestState.TRANSFERRED:
        return
    session.flush()
    still_out = session.scalar(
        select(func.count()).where(
            WorkOrder.request_id == request.id,
            WorkOrder.state.in_([WorkOrderState.SENT, WorkOrderState.ACCEPTED]),
        )
    )
    if not still_out:
        request.state = RequestState.IN_PROGRESS


def do_accept(session: Session, runtime: Runtime, who: Principal, order_id: int) -> WorkOrder:
    """The receiver takes the order on; they become its handler."""
    order, before, _ = _take(session, who, order_id, Step.ACCEPT)
    order.handler_id, order.accepted_at = who.user_id, utcnow()
    _record(session, who, order, Step.ACCEPT, before, "")
    notify(
        session,
        runtime,
        _origin_people(session, order),
        "workorder_accepted",
        by=who,
        account_id=order.account_id,
        work_order_id=order.id,
    )
    _announce(session, runtime, order)
    return order


def do_send_back(session: Session, runtime: Runtime, who: Principal, order_id: int, reason: str) -> WorkOrder:
    """The receiver refuses the order (not theirs, not enough to go on), saying why."""
    order, before, text = _take(session, who, order_id, Step.SEND_BACK, reason)
    _record(session, who, order, Step.SEND_BACK, before, text)
    _back_in_progress(session, order)
    notify(
        session,
        runtime,
        _origin_people(session, order),
        "workorder_sent_back",
        by=who,
        account_id=order.account_id,
        work_order_id=order.id,
    )
    _announce(session, runtime, order)
    return order


def do_add_progress(
    session: Session, runtime: Runtime, who: Principal, order_id: int, note: str
) -> WorkOrder:
    """The receiver notes how the work goes (the order stays accepted)."""
    order, before, text = _take(session, who, order_id, Step.PROGRESS, note)
    _record(session, who, order, Step.PROGRESS, before, text)
    _announce(session, runtime, order)
    return order


def do_return_with_result(
    session: Session, runtime: Runtime, who: Principal, order_id: int, result: str
) -> WorkOrder:
    """The receiver hands the order back with its result; the originating side answers the customer."""
    order, before, text = _take(session, who, order_id, Step.RETURN, result)
    order.result, order.returned_at = text, utcnow()
    _record(session, who, order, Step.RETURN, before, text)
    _back_in_progress(session, order)
    notify(
        session,
        runtime,
        _origin_people(session, order),
        "workorder_returned",
        by=who,
        account_id=order.account_id,
        work_order_id=order.id,
    )
    _announce(session, runtime, order)
    return order


def do_close(session: Session, runtime: Runtime, who: Principal, order_id: int, note: str = "") -> WorkOrder:
    """The originating side closes the order (answered, withdrawn, or given up after a send-back)."""
    order, before, text = _take(session, who, order_id, Step.CLOSE, note)
    order.closed_at = utcnow()
    _record(session, who, order, Step.CLOSE, before, text)
    _back_in_progress(session, order)
    if order.handler_id is not None:
        notify(
            session,
            runtime,
            [order.handler_id],
            "workorder_closed",
            by=who,
            account_id=order.account_id,
            work_order_id=order.id,
        )
    _announce(session, runtime, order)
    return order


def do_reopen(session: Session, runtime: Runtime, who: Principal, order_id: int, note: str) -> WorkOrder:
    """The originating side sends the order to its receiver again, saying why.

    If its request has been resolved and the customer has since come back in the same
    conversation (a newer open request), the order follows the conversation to that request.
    """
    order, before, text = _take(session, who, order_id, Step.REOPEN, note)
    moved_from = None
    request = session.get(ServiceRequest, order.request_id)
    if request is not None and request.state not in OPEN_STATES:
        newer = session.scalars(
            select(ServiceRequest)
            .where(
                ServiceRequest.account_id == request.account_id,
                ServiceRequest.thread_key == request.thread_key,
                ServiceRequest.id > request.id,
                ServiceRequest.state.in_(OPEN_STATES),
            )
            .order_by(ServiceRequest.id.desc())
        ).first()
        if newer is not None:
            moved_from, order.request_id, request = request.id, newer.id, newer
    order.handler_id = None
    order.accepted_at = order.returned_at = order.closed_at = None
    order.result = ""
    _record(session, who, order, Step.REOPEN, before, text)
    if moved_from is not None:
        audit.record(
            session,
            "workorder.moved",
            "work_order",
            order.id,
            by=who,
            from_request_id=moved_from,
            request_id=order.request_id,
        )
    if request is not None and request.state in OPEN_STATES:
        request.state = RequestState.TRANSFERRED
    notify(
        session,
        runtime,
        receivers(session, order),
        "workorder_reopened",
        by=who,
        account_id=order.account_id,
        work_order_id=order.id,
    )
    _announce(session, runtime, order)
    return order


__all__ = [
    "OPEN",
    "access_order",
    "do_accept",
    "do_add_progress",
    "do_close",
    "do_open_work_order",
    "do_reopen",
    "do_return_with_result",
    "do_send_back",
    "is_originator",
    "is_receiver",
    "receivers",
]
