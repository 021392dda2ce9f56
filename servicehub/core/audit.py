"""Recording audit events: every state change and every denied attempt."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from servicehub.core.models import AuditEvent


def record(
    session: Session,
    action: str,
    object_type: str,
    object_id: object = "",
    *,
    actor_id: int | None = None,
    ip: str = "",
    **detail: Any,
) -> AuditEvent:
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail,
        ip=ip,
    )
    session.add(event)
    return event
