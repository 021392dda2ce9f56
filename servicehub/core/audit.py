"""Recording audit events: every state change and every denied attempt.

Actions record what they changed in the same transaction as the change, so an event exists
exactly when its change does. One row per change for what people do (``record``, with
``by=`` the acting principal, whose client address goes with it), one statement for a
batch of changes the hub makes itself (``record_many``: routing opens and assigns
thousands of requests at a time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core.bulk import insert_rows
from servicehub.core.models import AuditEvent, User
from servicehub.core.permissions import Principal, restrict


def record(
    session: Session,
    action: str,
    object_type: str,
    object_id: object = "",
    *,
    by: Principal | None = None,
    actor_id: int | None = None,
    ip: str = "",
    **detail: Any,
) -> AuditEvent:
    """Add one event. ``by`` names the acting user and their address; without it the event
    is the hub's own (``actor_id`` None) unless ``actor_id`` says otherwise."""
    event = AuditEvent(**event_row(action, object_type, object_id, by=by, actor_id=actor_id, ip=ip, **detail))
    session.add(event)
    return event


def event_row(
    action: str,
    object_type: str,
    object_id: object = "",
    *,
    by: Principal | None = None,
    actor_id: int | None = None,
    ip: str = "",
    **detail: Any,
) -> dict[str, Any]:
    """The column values of one event, for :func:`record_many`."""
    return {
        "actor_id": by.user_id if by is not None else actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "detail": detail,
        "ip": by.ip if by is not None else ip,
    }


def record_many(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Add the events built by :func:`event_row` in one statement."""
    insert_rows(session, AuditEvent, rows)


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    action: str = ""
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None  # keyset: events older than this id


def list_events(
    session: Session, who: Principal, query: AuditFilter, limit: int = 100
) -> list[tuple[AuditEvent, str | None]]:
    """Events ``who`` may read (``audit.view`` in its scope), newest first, with the actor's name."""
    stmt = (
        select(AuditEvent, User.display_name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    if query.actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == query.actor_id)
    if query.action:
        stmt = stmt.where(AuditEvent.action == query.action)
    if query.since is not None:
        stmt = stmt.where(AuditEvent.at >= query.since)
    if query.until is not None:
        stmt = stmt.where(AuditEvent.at < query.until)
    if query.before is not None:
        stmt = stmt.where(AuditEvent.id < query.before)
    return [(event, name) for event, name in session.execute(restrict(stmt, who, "audit.view", AuditEvent))]


def actions_seen(session: Session, who: Principal) -> list[str]:
    """The actions ``who``'s scope holds events of, for the filter's choices."""
    stmt = restrict(select(AuditEvent.action).distinct(), who, "audit.view", AuditEvent)
    return sorted(session.scalars(stmt))
