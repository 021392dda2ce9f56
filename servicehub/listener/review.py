"""Reviewing what the filters dropped: nothing is deleted, and a wrong drop can be undone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.models import Account, Message
from servicehub.core.permissions import Principal, restrict
from servicehub.core.runtime import Runtime
from servicehub.core.tasks import enqueue_on_commit


class MessageNotVisible(LookupError):
    """Missing, outside the reviewer's scope, or not dropped: all answer the same."""


@dataclass(frozen=True)
class DroppedRow:
    id: int
    account: str
    author: str
    text: str
    reason: str
    created_at: datetime


def list_dropped(
    session: Session, principal: Principal, before: int | None = None, limit: int = 50
) -> list[DroppedRow]:
    stmt = (
        select(
            Message.id,
            Account.display_name,
            Message.author_name,
            Message.text,
            Message.drop_reason,
            Message.created_at,
        )
        .join(Account, Account.id == Message.account_id)
        .where(Message.keep.is_(False))
        .order_by(Message.id.desc())
        .limit(limit)
    )
    if before is not None:
        stmt = stmt.where(Message.id < before)
    stmt = restrict(stmt, principal, "message.review", Message)
    return [DroppedRow(i, a, n, t, r or "", c) for i, a, n, t, r, c in session.execute(stmt)]


def restore_message(session: Session, runtime: Runtime, principal: Principal, message_id: int) -> Message:
    """Keep a dropped message after all; it is routed like a new one."""
    stmt = restrict(
        select(Message).where(Message.id == message_id, Message.keep.is_(False)),
        principal,
        "message.review",
        Message,
    )
    message = session.scalars(stmt).first()
    if message is None:
        raise MessageNotVisible(message_id)
    message.keep = True
    message.routed = False
    message.tags = [*message.tags, f"restored:{message.drop_reason}"]
    audit.record(
        session,
        "message.restored",
        "message",
        message.id,
        actor_id=principal.user_id,
        reason=message.drop_reason,
    )
    enqueue_on_commit(session, runtime.tasks, "routing.route_messages", message_ids=[message.id])
    return message
