"""Routing tasks: route new messages in batches; the periodic sweeps that keep queues moving."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from servicehub.core.db import utcnow
from servicehub.core.models import OPEN_STATES, Message, ServiceRequest
from servicehub.core.runtime import Runtime, get_runtime
from servicehub.core.tasks import task
from servicehub.routing.assign import assign_backlog
from servicehub.routing.conversations import route_messages
from servicehub.routing.presence import end_finished_shifts
from servicehub.routing.priority import escalate_waiting, prioritize


@task("routing.route_messages")
def route(message_ids: list[int]) -> int:
    return len(route_messages(get_runtime(), message_ids))


@task("routing.route_unrouted", every=60.0)
def unrouted() -> int:
    return route_left_behind(get_runtime())


def route_left_behind(runtime: Runtime, now: datetime | None = None) -> int:
    """Kept messages a failed or lost routing task left behind (older than a minute) are
    routed again: a push stored while the broker was down, a worker killed mid-task."""
    with runtime.sessions() as session:
        ids = list(
            session.scalars(
                select(Message.id)
                .where(
                    Message.routed.is_(False),
                    Message.keep.is_(True),
                    Message.received_at < (now or utcnow()) - timedelta(minutes=1),
                )
                .order_by(Message.id)
                .limit(2000)
            )
        )
    return len(route_messages(runtime, ids)) if ids else 0


@task("routing.assign_backlog", every=15.0)
def backlog() -> int:
    """Requests nobody could take (all busy or away) get another chance, best first."""
    return assign_backlog(get_runtime(), max_batches=20)


@task("routing.escalate_waiting", every=60.0)
def escalate() -> int:
    """Long waits raise priority (and bring the due time forward)."""
    return escalate_waiting(get_runtime())


@task("routing.end_finished_shifts", every=60.0)
def shifts() -> int:
    """Operators whose shift ended go off duty; their unstarted requests return to the queue."""
    return len(end_finished_shifts(get_runtime()))


@task("routing.reprioritize_customer")
def reprioritize_customer(customer_id: int) -> int:
    """A customer's tier went up (a CRM link): their open requests are scored again (priority
    only ever rises); returns how many changed."""
    runtime = get_runtime()
    changed = 0
    with runtime.sessions.begin() as session:
        stmt = select(ServiceRequest).where(
            ServiceRequest.customer_id == customer_id, ServiceRequest.state.in_(OPEN_STATES)
        )
        for request in session.scalars(stmt.order_by(ServiceRequest.id)):
            before = request.priority
            prioritize(session, runtime, request)
            if request.priority != before:
                changed += 1
                runtime.publish_on_commit(
                    session, {"type": "request", "request_id": request.id, "account_id": request.account_id}
                )
    return changed
