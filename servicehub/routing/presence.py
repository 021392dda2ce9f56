"""Operator presence (on duty / away / offline), shifts, and returning unstarted work.

Only operators who are on duty *and* inside one of their shifts (China time; no shifts
means no limit) are routing candidates. When an operator goes offline -- by their own
choice, a supervisor's, or because their shift ended -- the requests they were handed but
have not started (assigned, never answered) go back to the queue and are routed again in a
second transaction, so the user-row lock taken here is never held while other users' rows
are locked (no lock-order deadlock with concurrent assigners).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.db import utcnow
from servicehub.core.models import Assignment, Presence, RequestState, ServiceRequest, User
from servicehub.core.permissions import Principal, restrict
from servicehub.core.runtime import Runtime
from servicehub.routing.access import Forbidden, NotVisible

SHIFT_ZONE = timezone(timedelta(hours=8))
_SHIFT_TEXT = re.compile(
    r"^\s*([1-7](?:-[1-7])?(?:,[1-7](?:-[1-7])?)*)\s+(\d{1,2}:\d{2})-(\d{1,2}:\d{2})\s*$"
)


class ShiftError(ValueError):
    pass


def _clock(value: str) -> time:
    hours, _, minutes = value.partition(":")
    try:
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise ShiftError(f"not a time of day: {value!r}") from exc


def on_shift(shifts: Sequence[dict[str, Any]], now: datetime) -> bool:
    """Is ``now`` inside one of ``shifts``? An empty list means always."""
    if not shifts:
        return True
    local = now.astimezone(SHIFT_ZONE)
    for shift in shifts:
        start, end = _clock(shift["start"]), _clock(shift["end"])
        days = set(shift.get("days", range(7)))
        at = local.time()
        if start <= end:
            if local.weekday() in days and start <= at < end:
                return True
        elif (local.weekday() in days and at >= start) or ((local.weekday() - 1) % 7 in days and at < end):
            return True  # an overnight shift belongs to the day it started
    return False


def parse_shifts(text: str) -> list[dict[str, Any]]:
    """``"1-5 09:00-18:00; 6 10:00-16:00"`` (1 = Monday) -> the stored JSON form."""
    shifts: list[dict[str, Any]] = []
    for part in filter(None, (p.strip() for p in text.replace("；", ";").split(";"))):
        found = _SHIFT_TEXT.match(part)
        if found is None:
            raise ShiftError(f"expected e.g. '1-5 09:00-18:00', got {part!r}")
        days: set[int] = set()
        for chunk in found.group(1).split(","):
            first, _, last = chunk.partition("-")
            days.update(range(int(first) - 1, int(last or first)))
        start, end = _clock(found.group(2)), _clock(found.group(3))
        shifts.append({"days": sorted(days), "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")})
    return shifts


def format_shifts(shifts: Sequence[dict[str, Any]]) -> str:
    parts = []
    for shift in shifts:
        days = ",".join(str(d + 1) for d in shift.get("days", range(7)))
        parts.append(f"{days} {shift['start']}-{shift['end']}")
    return "; ".join(parts)


def is_available(user: User, now: datetime) -> bool:
    return user.is_active and user.presence == Presence.ON_DUTY and on_shift(user.shifts or [], now)


def access_user(session: Session, principal: Principal, user_id: int, function: str) -> User:
    """The user, if ``function`` reaches them in ``principal``'s data scope; else NotVisible."""
    if not principal.can(function):
        raise Forbidden(function)
    user = session.scalars(
        restrict(select(User).where(User.id == user_id), principal, function, User)
    ).first()
    if user is None:
        raise NotVisible(f"user {user_id}")
    return user


def set_presence(
    runtime: Runtime,
    user_id: int,
    presence: Presence,
    *,
    actor: Principal | None,
    reason: str = "",
    ip: str = "",
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
                actor_id=actor.user_id if actor else None,
                ip=ip,
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
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(User.id).where(User.id == user_id).with_for_update())


def requeue_unstarted(session: Session, user_id: int, *, actor_id: int | None, why: str = "") -> list[int]:
    """Return ``user_id``'s assigned-but-unanswered requests to the queue; their ids."""
    stmt = select(ServiceRequest).where(
        ServiceRequest.assignee_id == user_id,
        ServiceRequest.state == RequestState.ASSIGNED,
        ServiceRequest.first_response_at.is_(None),
    )
    if session.get_bind().dialect.name == "postgresql":
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
