"""Operator presence (on duty / away / offline), shifts, and returning unstarted work.

Only operators who are on duty *and* inside one of their shifts (China time; no shifts
means no limit) are routing candidates. When an operator goes offline -- by their own
choice, a supervisor's, or because their shift ended -- the requests they were handed but
have not started (assigned, never answered) go back to the queue and are routed again in a
second transaction, so the user-row lock taken here is never held while other users' rows
are locked (no lock-order deadlock with concurrent assigners).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.db import is_postgres, utcnow
from servicehub.core.models import Assignment, Presence, RequestState, ServiceRequest, User
from servicehub.core.permissions import NotVisible, Principal, access, require
from servicehub.core.runtime import Runtime
from servicehub.core.shifts import on_shift


def access_user(session: Session, principal: Principal, user_id: int, function: str) -> User:
    """The user, if ``function`` reaches them in ``principal``'s data scope; else NotVisible."""
    require(principal, function)
    return access(session, principal, User, user_id, function)


def set_presence(
    runtime: Runtime,
    user_id: int,
    presence: Presence,
    *,
    actor: Principal | None,
    reason: str = "",
) -> list[int]:
    """Change ``user_id``'s presence; a user may always set their own, others need presence.manage.

    Returns the ids of requests that went back to the queue (and were routed again).
    """
    presence = Presence(presence)
    with runtime.sessions.begin() as session:
        if actor is None or actor.user_id == user_id:
            user = session.get(User, user_id)
            if user is None:
                raise NotVisible(f"user {user_id}")
        else:
            user = access_user(session, actor, user_id, "presence.manage")
        _lock_user(session, user.id)
        before = user.presence
        returned: list[int] = []
        if before != presence:
            user.presence = presence
            user.presence_changed_at = utcnow()
            audit.record(
                session,
                "user.presence",
                "user",
                user.id,
                by=actor,
                before=str(before),
                after=str(presence),
                reason=reason,
            )
        if presence == Presence.OFFLINE:
            returned = requeue_unstarted(
                session, user.id, actor_id=actor.user_id if actor else None, why=reason
            )
    if returned:
        from servicehub.routing.assign import assign_ids

        assign_ids(runtime, returned)
    return returned


def _lock_user(session: Session, user_id: int) -> None:
    if is_postgres(session):
        session.execute(select(User.id).where(User.id == user_id).with_for_update())


def requeue_unstarted(session: Session, user_id: int, *, actor_id: int | None, why: str = "") -> list[int]:
    """Return ``user_id``'s assigned-but-unanswered requests to the queue; their ids."""
    stmt = select(ServiceRequest).where(
        ServiceRequest.assignee_id == user_id,
        ServiceRequest.state == RequestState.ASSIGNED,
        ServiceRequest.first_response_at.is_(None),
    )
    if is_postgres(session):
        stmt = stmt.with_for_update()
    returned = []
    for request in session.scalars(stmt.order_by(ServiceRequest.id)):
        request.assignee_id = None
        request.state = RequestState.NEW
        session.add(
            Assignment(
                request_id=request.id,
                user_id=None,
                strategy="returned",
                reason={"why": "returned_offline", "from_user_id": user_id, "note": why},
            )
        )
        audit.record(
            session, "request.returned", "request", request.id, actor_id=actor_id, from_user_id=user_id
        )
        returned.append(request.id)
    return returned


def end_finished_shifts(runtime: Runtime, now: datetime | None = None) -> list[int]:
    """Set on-duty users whose shift is over to offline (their unstarted work returns); user ids."""
    now = now or utcnow()
    with runtime.sessions() as session:
        users = session.scalars(
            select(User).where(User.presence == Presence.ON_DUTY, User.is_active.is_(True))
        )
        due = [u.id for u in users if u.shifts and not on_shift(u.shifts, now)]
    for user_id in due:
        set_presence(runtime, user_id, Presence.OFFLINE, actor=None, reason="shift_ended")
    return due
