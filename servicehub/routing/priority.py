"""Request priority, due time (SLA by priority) and the overdue flag.

What a request is about sets its level, by the filters' own rule (``filters.urgency.assess``):
a complaint is high, a question normal, praise low; negative sentiment raises it one level,
an escalation threat (投诉到工信部, 12315, 曝光 ...) or a furious message makes it urgent,
a VIP customer's grievance and repeated contact raise it further. Routing adds its own
clock: a request unanswered for an hour goes up one level. The signals that set the level
are stored with the request (``priority_reasons``) and shown to the operator.

"Negative" is the sentiment filter's own label (``[filters] negative_below``), so the label an
operator sees and the priority it raised never disagree; the queue is served by priority,
then age. The due time is the creation time plus the SLA minutes of the priority
(``[routing.sla_minutes]``); a later escalation may bring it forward, never push it back. A
request is overdue while it is open, still unanswered and past its due time -- computed,
never stored, so it cannot go stale.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.db import is_postgres, utcnow
from servicehub.core.lookup import chunks, one_of
from servicehub.core.models import OPEN_STATES, Customer, Priority, ServiceRequest
from servicehub.core.runtime import Runtime
from servicehub.filters.sentiment import NEGATIVE
from servicehub.filters.service_model import COMPLAINT, INQUIRY
from servicehub.filters.settings import FilterSettings
from servicehub.filters.urgency import assess

NEGATIVE_BELOW = FilterSettings().negative_below  # the filter's default
LONG_WAIT = timedelta(minutes=60)
REPEAT_WINDOW = timedelta(days=7)
DEFAULT_SLA_MINUTES = 480


# Which intent of a request's messages decides: a complaint outweighs a question, a question
# outweighs praise, a suggestion or anything else.
PRESSING = {COMPLAINT: 3, INQUIRY: 2, "suggestion": 1, "praise": 1, "other": 0}


def pressing_intent(intents: Iterable[str | None]) -> str | None:
    """The intent that weighs most among ``intents`` (None when none is known)."""
    known = [i for i in intents if i is not None]
    return max(known, key=lambda i: PRESSING.get(i, 0)) if known else None


@dataclass(frozen=True)
class Signals:
    sentiment: float | None
    tier: int
    waited: timedelta
    repeat_contacts: int
    intent: str | None = None
    escalation: tuple[str, ...] = ()
    furious: bool = False


@dataclass(frozen=True)
class Pending:
    """What priority reads of one request, stored (``request_id`` set) or about to be."""

    customer_id: int
    created_at: datetime
    sentiment: float | None
    message_count: int
    answered: bool = False
    request_id: int | None = None
    intent: str | None = None
    escalation: tuple[str, ...] = ()
    furious: bool = False


def pending_of(request: ServiceRequest) -> Pending:
    """What priority reads of a stored request."""
    return Pending(
        request.customer_id,
        request.created_at,
        request.sentiment,
        request.message_count,
        request.first_response_at is not None,
        request.id,
        request.intent,
        tuple(request.escalation or ()),
        request.furious,
    )


def score(signals: Signals, negative_below: float = NEGATIVE_BELOW) -> tuple[Priority, list[str]]:
    """The priority for these signals and the names of the signals that set it."""
    label = NEGATIVE if signals.sentiment is not None and signals.sentiment < negative_below else None
    urgency = assess(
        signals.intent,
        label,
        signals.escalation,
        tier=signals.tier,
        repeat_contacts=signals.repeat_contacts,
        furious=signals.furious,
    )
    level, reasons = urgency.level, list(urgency.reasons)
    if signals.waited >= LONG_WAIT and level < Priority.URGENT:
        level += 1
        reasons.append("long_wait")
    return Priority(level), reasons


def sla(runtime: Runtime, priority: Priority) -> timedelta:
    minutes = runtime.settings.routing.sla_minutes.get(priority.name.lower(), DEFAULT_SLA_MINUTES)
    return timedelta(minutes=minutes)


def signals(session: Session, pending: Sequence[Pending], now: datetime) -> list[Signals]:
    """The signals of a batch of requests, in two queries per 1,000 customers.

    A customer's other requests of the last week count as repeated contact: the stored ones
    (but not the batch's own rows) plus the batch's other requests of the same customer, as
    they will be once stored; follow-up messages in a request count too.
    """
    batch = Counter(p.customer_id for p in pending)
    own_ids = [p.request_id for p in pending if p.request_id is not None]
    tiers: dict[int, int] = {}
    recent: dict[int, int] = {}
    for part in chunks(sorted(batch)):
        found = session.execute(select(Customer.id, Customer.tier).where(one_of(session, Customer.id, part)))
        tiers.update({customer_id: tier for customer_id, tier in found})
        counted = select(ServiceRequest.customer_id, func.count()).where(
            one_of(session, ServiceRequest.customer_id, part),
            ServiceRequest.created_at >= now - REPEAT_WINDOW,
        )
        if own_ids:
            counted = counted.where(ServiceRequest.id.not_in(own_ids))
        counts = session.execute(counted.group_by(ServiceRequest.customer_id))
        recent.update({customer_id: n for customer_id, n in counts})
    return [
        Signals(
            sentiment=p.sentiment,
            tier=tiers.get(p.customer_id, 0),
            waited=timedelta(0) if p.answered else now - p.created_at,
            repeat_contacts=recent.get(p.customer_id, 0)
            + batch[p.customer_id]
            - 1
            + max(0, p.message_count - 1),
            intent=p.intent,
            escalation=p.escalation,
            furious=p.furious,
        )
        for p in pending
    ]


def levels(
    session: Session, runtime: Runtime, pending: Sequence[Pending], now: datetime
) -> list[tuple[Priority, datetime, list[str]]]:
    """Priority, due time and the signals that raised it, for each of ``pending``."""
    threshold = runtime.filters.negative_below
    decided = []
    for p, found in zip(pending, signals(session, pending, now), strict=True):
        level, raised = score(found, threshold)
        decided.append((level, p.created_at + sla(runtime, level), raised))
    return decided


def prioritize(
    session: Session, runtime: Runtime, request: ServiceRequest, now: datetime | None = None
) -> list[str]:
    """Set the priority and due time of ``request``; returns what raised it. Escalates only."""
    now = now or utcnow()
    [(level, due, raised)] = levels(session, runtime, [pending_of(request)], now)
    _settle(session, request, level, due, raised)
    return raised


def raise_priorities(
    session: Session, runtime: Runtime, requests: Sequence[ServiceRequest], now: datetime | None = None
) -> None:
    """Re-read the signals of requests that heard more (a follow-up threat, a furious word) and
    raise their priority where it is now higher; two queries for the whole batch."""
    if not requests:
        return
    decided = levels(session, runtime, [pending_of(r) for r in requests], now or utcnow())
    for request, (level, due, raised) in zip(requests, decided, strict=True):
        _settle(session, request, level, due, raised)


def _settle(
    session: Session, request: ServiceRequest, level: Priority, due: datetime, raised: list[str]
) -> None:
    """Set a first priority, or raise one (never lower it; the due time only comes forward)."""
    if request.due_at is None:
        request.priority, request.due_at, request.priority_reasons = int(level), due, raised
    elif level > request.priority:
        before = request.priority
        request.priority, request.due_at, request.priority_reasons = (
            int(level),
            min(request.due_at, due),
            raised,
        )
        audit.record(
            session,
            "request.priority_raised",
            "request",
            request.id,
            before=before,
            after=int(level),
            signals=raised,
        )


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
        if is_postgres(session):
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
