"""The operator's queue: scoped, filtered, keyset-paginated lists of requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from servicehub.core.masking import phone_sight
from servicehub.core.models import OPEN_STATES, Account, Customer, ServiceRequest, User
from servicehub.core.permissions import Principal, restrict

View = Literal["mine", "open", "all"]


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
    total: int


def list_requests(
    session: Session, principal: Principal, view: View = "open", after: str | None = None, limit: int = 50
) -> QueuePage:
    """Requests the principal may see, highest priority then oldest first; never OFFSET."""
    base = select(ServiceRequest)
    if view == "mine":
        base = base.where(
            ServiceRequest.assignee_id == principal.user_id, ServiceRequest.state.in_(OPEN_STATES)
        )
    elif view == "open":
        base = base.where(ServiceRequest.state.in_(OPEN_STATES))
    base = restrict(base, principal, "request.view", ServiceRequest)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    stmt = (
        base.with_only_columns(ServiceRequest, Customer.display_name, Account.display_name, User.display_name)
        .join(Customer, Customer.id == ServiceRequest.customer_id)
        .join(Account, Account.id == ServiceRequest.account_id)
        .outerjoin(User, User.id == ServiceRequest.assignee_id)
        .order_by(ServiceRequest.priority.desc(), ServiceRequest.id)
        .limit(limit + 1)
    )
    cursor = _parse_cursor(after)
    if cursor is not None:
        p, i = cursor
        stmt = stmt.where(
            or_(ServiceRequest.priority < p, and_(ServiceRequest.priority == p, ServiceRequest.id > i))
        )
    result = session.execute(stmt).all()
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
    return QueuePage(rows=rows, next_after=next_after, total=total)


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
