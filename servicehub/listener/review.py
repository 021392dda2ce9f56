"""Reviewing what the filters dropped: nothing is deleted, and a wrong drop can be undone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.masking import phone_sight
from servicehub.core.models import Account, Message
from servicehub.core.permissions import Principal, access, restrict
from servicehub.core.runtime import Runtime
from servicehub.core.tasks import enqueue_on_commit


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
            Message.account_id,
        )
        .join(Account, Account.id == Message.account_id)
        .where(Message.keep.is_(False))
        .order_by(Message.id.desc())
        .limit(limit)
    )
    if before is not None:
        stmt = stmt.where(Message.id < before)
    stmt = restrict(stmt, principal, "message.review", Message)
    sight = phone_sight(session, principal)
    return [
        DroppedRow(i, a, n, sight.text(account_id, t), r or "", c)
        for i, a, n, t, r, c, account_id in session.execute(stmt)
    ]


def do_restore_message(session: Session, runtime: Runtime, who: Principal, message_id: int) -> Message:
    """Keep a dropped message after all; it is routed like a new one.

    Missing, outside the reviewer's scope and not dropped all answer NotVisible alike.
    """
    message = access(session, who, Message, message_id, "message.review", where=[Message.keep.is_(False)])
    message.keep = True
    message.routed = False
    message.tags = [*message.tags, f"restored:{message.drop_reason}"]
    audit.record(session, "message.restored", "message", message.id, by=who, reason=message.drop_reason)
    enqueue_on_commit(session, runtime.tasks, "routing.route_messages", message_ids=[message.id])
    return message
