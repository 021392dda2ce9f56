"""The operator's queue: scoped, filtered, keyset-paginated lists of requests.

A page costs the same over ten thousand requests as over ten million: every query walks
an index in the queue's own order (``priority DESC, id``; see the ``ix_requests_*_order``
indexes) and stops after a page, and the count shown beside the tabs is capped
(:data:`COUNT_CAP`, shown as "500+") instead of counting every visible request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from servicehub.core.masking import phone_sight
from servicehub.core.models import CLOSED_STATES, Account, Customer, ServiceRequest, User
from servicehub.core.permissions import Principal, restrict

View = Literal["mine", "open", "all"]

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


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_after: str | None  # keyset cursor "priority:id"
    total: int  # visible requests, counted up to COUNT_CAP + 1
    more: bool = False  # there are more than COUNT_CAP (total then shows the cap)


def list_requests(
    session: Session, principal: Principal, view: View = "open", after: str | None = None, limit: int = 50
) -> QueuePage:
    """Requests the principal may see, highest priority then oldest first; never OFFSET.

    After a cursor ``(p, i)`` the page is the rest of priority ``p`` after id ``i``, then the
    lower priorities: two range scans of the order index, so page 1,000 costs what page 2
    does (a single ``priority < p OR (priority = p AND id > i)`` would scan past every
    earlier row of priority ``p``).
    """
    base = select(ServiceRequest)
    if view == "mine":
        base = base.where(
            ServiceRequest.assignee_id == principal.user_id, ServiceRequest.state.not_in(CLOSED_STATES)
        )
    elif view == "open":
        base = base.where(ServiceRequest.state.not_in(CLOSED_STATES))
    base = restrict(base, principal, "request.view", ServiceRequest)
    capped = base.with_only_columns(ServiceRequest.id).limit(COUNT_CAP + 1).subquery()
    counted = session.scalar(select(func.count()).select_from(capped)) or 0
    cursor = _parse_cursor(after)
    if cursor is None:
        result = _rows(session, base, limit + 1)
    else:
        p, i = cursor
        result = _rows(session, base.where(ServiceRequest.priority == p, ServiceRequest.id > i), limit + 1)
        if len(result) <= limit:
            result += _rows(session, base.where(ServiceRequest.priority < p), limit + 1 - len(result))
    sight = phone_sight(session, principal)
    rows = [
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
        )
        for r, cust, acct, assignee in result[:limit]
    ]
    next_after = f"{rows[-1].priority}:{rows[-1].id}" if len(result) > limit else None
    return QueuePage(
        rows=rows, next_after=next_after, total=min(counted, COUNT_CAP), more=counted > COUNT_CAP
    )


def _rows(session: Session, base: Select[Any], limit: int) -> list[Any]:
    """``limit`` requests of ``base`` in queue order, with the names a queue row shows.

    The page's ids are chosen first, from the requests alone, and only those rows are
    joined to their customer, account and assignee: joined before the LIMIT, PostgreSQL
    looked up the names of every candidate (a whole operator's queue) to keep fifty.
    """
    page = (
        base.with_only_columns(ServiceRequest.id)
        .order_by(ServiceRequest.priority.desc(), ServiceRequest.id)
        .limit(limit)
        .subquery()
    )
    stmt = (
        select(ServiceRequest, Customer.display_name, Account.display_name, User.display_name)
        .join(page, page.c.id == ServiceRequest.id)
        .join(Customer, Customer.id == ServiceRequest.customer_id)
        .join(Account, Account.id == ServiceRequest.account_id)
        .outerjoin(User, User.id == ServiceRequest.assignee_id)
        .order_by(ServiceRequest.priority.desc(), ServiceRequest.id)
    )
    return list(session.execute(stmt).all())


def _parse_cursor(after: str | None) -> tuple[int, int] | None:
    """``"priority:id"`` or None; a tampered cursor restarts from the first page."""
    if not after:
        return None
    prio, _, last_id = after.partition(":")
    try:
        cursor = int(prio), int(last_id)
    except ValueError:
        return None
    return cursor if 0 <= cursor[0] < 100 and 0 <= cursor[1] < 2**63 else None
