"""The operator's queue: scoped, filtered, keyset-paginated lists of requests.

A page costs the same over ten thousand requests as over ten million: every query walks
an index in the queue's own order (``priority DESC, id``; see the ``ix_requests_*_order``
indexes) and stops after a page, and the count shown beside the tabs is capped
(:data:`COUNT_CAP`, shown as "500+") instead of counting every visible request.

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
from servicehub.core.models import CLOSED_STATES, Account, Customer, ServiceRequest, User
from servicehub.core.permissions import Principal, restrict

View = Literal["mine", "open", "all"]
VIEWS: tuple[View, ...] = ("mine", "open", "all")
DONE = CLOSED_STATES
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
QUEUE_ORDER = (ServiceRequest.priority.desc(), ServiceRequest.id)

# The count beside the tabs stops here ("500+"): counting every open request on every page
# read the whole queue (14,000 buffer hits a page at a million requests).
COUNT_CAP = 500


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
    total: int  # visible requests, counted up to COUNT_CAP
    more: bool = False  # there are more than COUNT_CAP (total then shows the cap)


def _in_view(principal: Principal, view: View) -> Select[Any]:
    base = select(ServiceRequest)
    if view == "mine":
        base = base.where(
            ServiceRequest.assignee_id == principal.user_id, ServiceRequest.state.not_in(CLOSED_STATES)
        )
    elif view == "open":
        base = base.where(ServiceRequest.state.not_in(CLOSED_STATES))
    return restrict(base, principal, "request.view", ServiceRequest)


def _count(session: Session, base: Select[Any]) -> tuple[int, bool]:
    """How many requests ``base`` holds, up to :data:`COUNT_CAP`, and whether there are more."""
    capped = base.with_only_columns(ServiceRequest.id).limit(COUNT_CAP + 1).subquery()
    counted = session.scalar(select(func.count()).select_from(capped)) or 0
    return min(counted, COUNT_CAP), counted > COUNT_CAP


def rows_of(
    session: Session,
    principal: Principal,
    base: Select[Any],
    limit: int,
    order: Sequence[Any] = QUEUE_ORDER,
) -> list[QueueRow]:
    """The first ``limit`` requests of ``base`` (a scoped SELECT of requests) in ``order``,
    as the queue shows them.

    The page's ids are chosen first, from the requests alone, and only those rows are
    joined to their customer, account and assignee: joined before the LIMIT, PostgreSQL
    looked up the names of every candidate (a whole operator's queue) to keep fifty.
    """
    page = base.with_only_columns(ServiceRequest.id).order_by(*order).limit(limit).subquery()
    stmt = (
        select(ServiceRequest, Customer.display_name, Account.display_name, User.display_name)
        .join(page, page.c.id == ServiceRequest.id)
        .join(Customer, Customer.id == ServiceRequest.customer_id)
        .join(Account, Account.id == ServiceRequest.account_id)
        .outerjoin(User, User.id == ServiceRequest.assignee_id)
        .order_by(*order)
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
    """Requests the principal may see, highest priority then oldest first; never OFFSET.

    After a cursor ``(p, i)`` the page is the rest of priority ``p`` after id ``i``, then the
    lower priorities: two range scans of the order index, so page 1,000 costs what page 2
    does (a single ``priority < p OR (priority = p AND id > i)`` would scan past every
    earlier row of priority ``p``).
    """
    base = _in_view(principal, view)
    total, more = _count(session, base)
    cursor = _parse_cursor(after)
    if cursor is None:
        found = rows_of(session, principal, base, limit + 1)
    else:
        p, i = cursor
        found = rows_of(
            session, principal, base.where(ServiceRequest.priority == p, ServiceRequest.id > i), limit + 1
        )
        if len(found) <= limit:
            found += rows_of(
                session, principal, base.where(ServiceRequest.priority < p), limit + 1 - len(found)
            )
    rows = found[:limit]
    next_after = f"{rows[-1].priority}:{rows[-1].id}" if len(found) > limit else None
    return QueuePage(rows=rows, next_after=next_after, total=total, more=more)


@dataclass(frozen=True)
class LiveRows:
    rows: list[QueueRow]  # in queue order
    gone: list[int]  # asked for, but not (or no longer) in this view for this principal
    total: int  # up to COUNT_CAP
    more: bool = False


def queue_rows(session: Session, principal: Principal, view: View, ids: Sequence[int]) -> LiveRows:
    """The rows of ``ids`` that ``principal`` sees in ``view`` now, and the ids that left it."""
    base = _in_view(principal, view)
    wanted = sorted(set(ids))[:200]
    rows = (
        rows_of(session, principal, base.where(ServiceRequest.id.in_(wanted)), len(wanted)) if wanted else []
    )
    shown = {r.id for r in rows}
    total, more = _count(session, base)
    return LiveRows(rows, [i for i in wanted if i not in shown], total, more)


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
    total, more = _count(session, base)
    cursor = _parse_cursor(after, first_max=2**62)
    if cursor is not None:
        at, last_id = EPOCH + timedelta(microseconds=cursor[0]), cursor[1]
        base = base.where(
            or_(
                ServiceRequest.resolved_at < at,
                and_(ServiceRequest.resolved_at == at, ServiceRequest.id < last_id),
            )
        )
    order = (ServiceRequest.resolved_at.desc(), ServiceRequest.id.desc())
    found = rows_of(session, principal, base, limit + 1, order)
    rows = found[:limit]
    next_after = None
    if len(found) > limit and rows[-1].resolved_at is not None:
        next_after = f"{(rows[-1].resolved_at - EPOCH) // timedelta(microseconds=1)}:{rows[-1].id}"
    return QueuePage(rows=rows, next_after=next_after, total=total, more=more)


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
            .order_by(*QUEUE_ORDER)
            .limit(1)
        )
        found = session.scalar(stmt)
        if found is not None:
            return int(found)
    return None
