"""Notifications: telling one person that something needs them (a mention, a work order).

A feature writes them with :func:`notify` inside its own action's transaction (so a
notification exists exactly when its cause does) and the people told hear of it live
after commit: ``{"type": "notification", "user_ids": [...], "account_id": ...}`` -- the
event names only ids; the page asks ``unread`` what is new, through its own scope.

Reading them is per user and needs no permission beyond being that user. Marking them
read is that user's own view state, like scrolling: :func:`do_mark_read` changes it
without an audit event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from servicehub.core.db import utcnow
from servicehub.core.models import Notification, User
from servicehub.core.permissions import Principal
from servicehub.core.runtime import Runtime

KINDS = (
    "mention",
    "workorder_received",
    "workorder_accepted",
    "workorder_sent_back",
    "workorder_returned",
    "workorder_reopened",
    "workorder_closed",
    "lead_assigned",
    "publication_review",
    "publication_approved",
    "publication_rejected",
)


def notify(
    session: Session,
    runtime: Runtime,
    user_ids: Iterable[int],
    kind: str,
    *,
    by: Principal | None,
    account_id: int | None,
    request_id: int | None = None,
    note_id: int | None = None,
    work_order_id: int | None = None,
    lead_id: int | None = None,
    publication_id: int | None = None,
) -> list[int]:
    """Add one notification per user (never to the actor); returns who was told."""
    assert kind in KINDS, kind
    told = sorted({u for u in user_ids if by is None or u != by.user_id})
    for user_id in told:
        session.add(
            Notification(
                user_id=user_id,
                kind=kind,
                actor_id=by.user_id if by else None,
                account_id=account_id,
                request_id=request_id,
                note_id=note_id,
                work_order_id=work_order_id,
                lead_id=lead_id,
                publication_id=publication_id,
            )
        )
    if told:
        runtime.publish_on_commit(
            session, {"type": "notification", "user_ids": told, "account_id": account_id}
        )
    return told


@dataclass(frozen=True)
class ShownNotification:
    id: int
    kind: str
    actor: str | None
    created_at: datetime
    read: bool
    request_id: int | None
    note_id: int | None
    work_order_id: int | None
    lead_id: int | None
    publication_id: int | None = None

    @property
    def href(self) -> str:
        if self.work_order_id is not None:
            return f"/workorders/{self.work_order_id}"
        if self.lead_id is not None:
            return f"/leads/{self.lead_id}"
        if self.publication_id is not None:
            return f"/publish/{self.publication_id}"
        if self.request_id is not None:
            anchor = f"#note-{self.note_id}" if self.note_id is not None else ""
            return f"/requests/{self.request_id}{anchor}"
        return "/notifications"


def unread_count(session: Session, who: Principal) -> int:
    stmt = select(func.count()).where(Notification.user_id == who.user_id, Notification.read_at.is_(None))
    return session.scalar(stmt) or 0


def latest(session: Session, who: Principal, limit: int = 50) -> list[ShownNotification]:
    """``who``'s own notifications, newest first."""
    rows = session.execute(
        select(Notification, User.display_name)
        .outerjoin(User, User.id == Notification.actor_id)
        .where(Notification.user_id == who.user_id)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return [
        ShownNotification(
            n.id,
            n.kind,
            actor,
            n.created_at,
            n.read_at is not None,
            n.request_id,
            n.note_id,
            n.work_order_id,
            n.lead_id,
            n.publication_id,
        )
        for n, actor in rows
    ]


def do_mark_read(session: Session, who: Principal, notification_ids: Iterable[int] | None = None) -> int:
    """Mark ``who``'s notifications read (all of them, or the given ones); how many changed.

    Ids of other people's notifications are ignored: they match nothing here.
    """
    stmt = update(Notification).where(Notification.user_id == who.user_id, Notification.read_at.is_(None))
    if notification_ids is not None:
        stmt = stmt.where(Notification.id.in_(list(notification_ids)))
    result = session.execute(stmt.values(read_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)
