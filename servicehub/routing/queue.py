"""The operator's queue: scoped, filtered, keyset-paginated lists of requests.

``queue_rows`` answers the live page: the rows of some request ids as the queue would show
them in one view, and which of them left it (resolved, reassigned, out of scope -- told
apart from nothing, so a row the caller may not see just disappears).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from servicehub.core.masking import phone_sight
from servicehub.core.models import OPEN_STATES, Account, Customer, RequestState, ServiceRequest, User
from servicehub.core.permissions import Principal, restrict

View = Literal["mine", "open", "all"]
VIEWS: tuple[View, ...] = ("mine", "open", "all")
DONE = (RequestState.RESOLVED, RequestState.CLOSED)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class QueueRow:
    id: int
    state: str
    priority: int
    subject: str
    customer: str
    account: str
    assignee: str | None
    sentiment: float | None
    message_count: int
    last_message_at: datetime
    due_at: datetime | None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_after: str | None  # keyset cursor "priority:id"
    total: int


def _in_view(principal: Principal, view: View) -> Select[Any]:
    base = select(ServiceRequest)
    if view == "mine":
        base = base.where(
            ServiceRequest.assignee_id == principal.user_id, ServiceRequest.state.in_(OPEN_STATES)
        )
    elif view == "open":
        base = base.where(ServiceRequest.state.in_(OPEN_STATES))
    return restrict(base, principal, "request.view", ServiceRequest)


def _count(session: Session, base: Select[Any]) -> int:
    return session.scalar(select(func.count()).select_from(base.subquery())) or 0


def rows_of(session: Session, principal: Principal, base: Select[Any]) -> list[QueueRow]:
    """The rows of ``base`` (a scoped SELECT of requests) as the queue shows them."""
    stmt = (
        base.with_only_columns(ServiceRequest, Customer.display_name, Account.display_name, User.display_name)
        .join(Customer, Customer.id == ServiceRequest.customer_id)
        .join(Account, Account.id == ServiceRequest.account_id)
        .outerjoin(User, User.id == ServiceRequest.assignee_id)
    )
    sight = phone_sight(session, principal)
    return [
        QueueRow(
            id=r.id,
            state=str(r.state),
            priority=r.priority,
            subject=sight.text(r.account_id, r.subject),
            customer=cust,
            account=acct,
            assignee=assignee,
            sentiment=r.sentiment,
            message_count=r.message_count,
            last_message_at=r.last_message_at,
            due_at=r.due_at,
            resolved_at=r.resolved_at,
        )
        for r, cust, acct, assignee in session.execute(stmt)
    ]


def list_requests(
    session: Session, principal: Principal, view: View = "open", after: str | None = None, limit: int = 50
) -> QueuePage:
    """Requests the principal may see, highest priority then oldest first; never OFFSET."""
    base = _in_view(principal, view)
    total = _count(session, base)
    stmt = base.order_by(ServiceRequest.priority.desc(), ServiceRequest.id).limit(limit + 1)
    cursor = _parse_cursor(after)
    if cursor is not None:
        p, i = cursor
        stmt = stmt.where(
            or_(ServiceRequest.priority < p, and_(ServiceRequest.priority == p, ServiceRequest.id > i))
        )
    found = rows_of(session, principal, stmt)
    rows = found[:limit]
    next_after = f"{rows[-1].priority}:{rows[-1].id}" if len(found) > limit else None
    return QueuePage(rows=rows, next_after=next_after, total=total)


@dataclass(frozen=True)
class LiveRows:
    rows: list[QueueRow]  # in queue order
    gone: list[int]  # asked for, but not (or no longer) in this view for this principal
    total: int


def queue_rows(session: Session, principal: Principal, view: View, ids: Sequence[int]) -> LiveRows:
    """The rows of ``ids`` that ``principal`` sees in ``view`` now, and the ids that left it."""
    base = _in_view(principal, view)
    wanted = sorted(set(ids))[:200]
    stmt = base.where(ServiceRequest.id.in_(wanted)).order_by(
        ServiceRequest.priority.desc(), ServiceRequest.id
    )
    rows = rows_of(session, principal, stmt) if wanted else []
    shown = {r.id for r in rows}
    return LiveRows(rows, [i for i in wanted if i not in shown], _count(session, base))


def list_handled(
    session: Session,
    principal: Principal,
    since: datetime | None = None,
    after: str | None = None,
    limit: int = 50,
) -> QueuePage:
    """Requests ``principal`` resolved (as their assignee), most recently resolved first;
    ``after`` is the keyset cursor ``"<resolved_at microseconds>:<id>"`` of the last row shown."""
    base = restrict(
        select(ServiceRequest).where(
            ServiceRequest.assignee_id == principal.user_id,
            ServiceRequest.state.in_(DONE),
            ServiceRequest.resolved_at.is_not(None),
        ),
        principal,
        "request.view",
        ServiceRequest,
    )
    if since is not None:
        base = base.where(ServiceRequest.resolved_at >= since)
    total = _count(session, base)
    stmt = base.order_by(ServiceRequest.resolved_at.desc(), ServiceRequest.id.desc()).limit(limit + 1)
    cursor = _parse_cursor(after, first_max=2**62)
    if cursor is not None:
        at, last_id = EPOCH + timedelta(microseconds=cursor[0]), cursor[1]
        stmt = stmt.where(
            or_(
                ServiceRequest.resolved_at < at,
                and_(ServiceRequest.resolved_at == at, ServiceRequest.id < last_id),
            )
        )
    found = rows_of(session, principal, stmt)
    rows = found[:limit]
    next_after = None
    if len(found) > limit and rows[-1].resolved_at is not None:
        next_after = f"{(rows[-1].resolved_at - EPOCH) // timedelta(microseconds=1)}:{rows[-1].id}"
    return QueuePage(rows=rows, next_after=next_after, total=total)


def _parse_cursor(after: str | None, first_max: int = 100) -> tuple[int, int] | None:
    """``"priority:id"`` (or another ``"number:id"``) or None; a tampered cursor restarts
    from the first page."""
    if not after:
        return None
    prio, _, last_id = after.partition(":")
    try:
        cursor = int(prio), int(last_id)
    except ValueError:
        return None
    return cursor if 0 <= cursor[0] < first_max and 0 <= cursor[1] < 2**63 else None


def next_request_id(session: Session, principal: Principal, current: int) -> int | None:
    """The request to open after ``current``: the first of one's own, else of the open queue."""
    views: tuple[View, ...] = ("mine", "open")
    for view in views:
        stmt = (
            _in_view(principal, view)
            .with_only_columns(ServiceRequest.id)
            .where(ServiceRequest.id != current)
            .order_by(ServiceRequest.priority.desc(), ServiceRequest.id)
            .limit(1)
        )
        found = session.scalar(stmt)
        if found is not None:
            return int(found)
    return None
