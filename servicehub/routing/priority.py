"""Request priority, due time (SLA by priority) and the overdue flag.

Negative sentiment, a VIP tier, repeated contact and a long wait each raise a request one
level from normal (capped at urgent). "Negative" is the sentiment filter's own label
(``[filters] negative_below``), so the label an operator sees and the priority it raised
never disagree; the queue is served by priority, then age. The due
time is the creation time plus the SLA minutes of the priority (``[routing.sla_minutes]``);
a later escalation may bring it forward, never push it back. A request is overdue while it
is open, still unanswered and past its due time -- computed, never stored, so it cannot go
stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.db import utcnow
from servicehub.core.models import OPEN_STATES, Customer, Priority, ServiceRequest
from servicehub.core.runtime import Runtime
from servicehub.filters.settings import FilterSettings

NEGATIVE_BELOW = FilterSettings().negative_below  # the filter's default
LONG_WAIT = timedelta(minutes=60)
REPEAT_WINDOW = timedelta(days=7)
REPEAT_AT = 2  # other recent requests plus follow-up messages in this one
DEFAULT_SLA_MINUTES = 480


@dataclass(frozen=True)
class Signals:
    sentiment: float | None
    tier: int
    waited: timedelta
    repeat_contacts: int


def score(signals: Signals, negative_below: float = NEGATIVE_BELOW) -> tuple[Priority, list[str]]:
    """The priority for these signals and the names of the signals that raised it."""
    raised: list[str] = []
    if signals.sentiment is not None and signals.sentiment < negative_below:
        raised.append("negative")
    if signals.tier > 0:
        raised.append("vip")
    if signals.repeat_contacts >= REPEAT_AT:
        raised.append("repeat")
    if signals.waited >= LONG_WAIT:
        raised.append("long_wait")
    return Priority(min(Priority.URGENT, Priority.NORMAL + len(raised))), raised


def negative_below(runtime: Runtime) -> float:
    """The sentiment score under which the filter labels a message negative."""
    value = runtime.extra.get("negative_below")
    if not isinstance(value, float):
        value = runtime.extra["negative_below"] = FilterSettings.from_mapping(
            runtime.settings.filters
        ).negative_below
    return value


def sla(runtime: Runtime, priority: Priority) -> timedelta:
    minutes = runtime.settings.routing.sla_minutes.get(priority.name.lower(), DEFAULT_SLA_MINUTES)
    return timedelta(minutes=minutes)


def signals_for(session: Session, request: ServiceRequest, now: datetime) -> Signals:
    customer = session.get(Customer, request.customer_id)
    others = session.scalar(
        select(func.count()).where(
            ServiceRequest.customer_id == request.customer_id,
            ServiceRequest.id != request.id,
            ServiceRequest.created_at >= now - REPEAT_WINDOW,
        )
    )
    waited = now - request.created_at if request.first_response_at is None else timedelta(0)
    return Signals(
        sentiment=request.sentiment,
        tier=customer.tier if customer is not None else 0,
        waited=waited,
        repeat_contacts=(others or 0) + max(0, request.message_count - 1),
    )


def prioritize(
    session: Session, runtime: Runtime, request: ServiceRequest, now: datetime | None = None
) -> list[str]:
    """Set the priority and due time of ``request``; returns what raised it. Escalates only."""
    now = now or utcnow()
    level, raised = score(signals_for(session, request, now), negative_below(runtime))
    due = request.created_at + sla(runtime, level)
    if request.due_at is None:
        request.priority, request.due_at = int(level), due
    elif level > request.priority:
        before = request.priority
        request.priority, request.due_at = int(level), min(request.due_at, due)
        audit.record(
            session,
            "request.priority_raised",
            "request",
            request.id,
            before=before,
            after=int(level),
            signals=raised,
        )
    return raised


def escalate_waiting(runtime: Runtime, now: datetime | None = None, limit: int = 500) -> int:
    """Raise open, unanswered requests that have waited long; returns how many changed."""
    now = now or utcnow()
    changed = 0
    with runtime.sessions.begin() as session:
        stmt = (
            select(ServiceRequest)
            .where(
                ServiceRequest.state.in_(OPEN_STATES),
                ServiceRequest.first_response_at.is_(None),
                ServiceRequest.created_at <= now - LONG_WAIT,
                ServiceRequest.priority < Priority.URGENT,
            )
            .order_by(ServiceRequest.created_at)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        for request in session.scalars(stmt):
            before = request.priority
            prioritize(session, runtime, request, now)
            changed += request.priority != before
    return changed


def is_overdue(request: ServiceRequest, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (
        request.state in OPEN_STATES
        and request.first_response_at is None
        and request.due_at is not None
        and request.due_at < now
    )


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """SQL twin of :func:`is_overdue`, for queue filters and counts."""
    return and_(
        ServiceRequest.state.in_(OPEN_STATES),
        ServiceRequest.first_response_at.is_(None),
        ServiceRequest.due_at < now,
    )
