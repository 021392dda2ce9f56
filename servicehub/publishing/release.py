"""Releasing a publication: every target becomes one outbox row, at most once.

A publication is released when it may go (approved or needing no approval) and its time has
come -- at once, or by :func:`release_due` for a scheduled one. Releasing claims it with an
atomic state change (``scheduled`` -> ``released``), so two schedulers never release it
twice, and writes its rows in the same transaction: a post per account, a mass send per
platform tag, a private message per reachable contact (a contact outside the platform's
window is a row that failed with that reason). Each row's idempotency key names the
publication and the target, so a second release could add nothing even if the claim were
bypassed. From there the outbox sends each row at most once and reconciles lost answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.db import utcnow
from servicehub.core.models import (
    Account,
    ContactList,
    DeliveryState,
    ErrorKind,
    OutboundKind,
    OutboundMessage,
    Publication,
    PublicationAccount,
    PublicationState,
)
from servicehub.core.runtime import Runtime
from servicehub.core.tasks import enqueue_on_commit
from servicehub.publishing.audiences import member_ids, recipients


def claim(session: Session, publication_id: int) -> bool:
    """Move a scheduled publication to released; False when someone else did (or it changed)."""
    result = session.execute(
        update(Publication)
        .where(Publication.id == publication_id, Publication.state == PublicationState.SCHEDULED)
        .values(state=PublicationState.RELEASED, released_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(session: Session, runtime: Runtime, publication: Publication, now: datetime) -> list[int]:
    """Write the outbox rows of a publication just claimed; returns the ids queued to send."""
    queued: list[int] = []
    rows: list[OutboundMessage] = []
    for target in publication.targets:
        account = session.get(Account, target.account_id)
        if account is None:
            continue
        rows += _rows_for(session, publication, target, account, now)
    session.add_all(rows)
    session.flush()
    for row in rows:
        if row.state == DeliveryState.QUEUED:
            queued.append(row.id)
            enqueue_on_commit(session, runtime.tasks, "publishing.send", outbound_id=row.id)
    audit.record(
        session,
        "publication.released",
        "publication",
        publication.id,
        queued=len(queued),
        unreachable=len(rows) - len(queued),
    )
    runtime.publish_on_commit(session, {"type": "publication", "publication_id": publication.id})
    return queued


def _rows_for(
    session: Session, publication: Publication, target: PublicationAccount, account: Account, now: datetime
) -> list[OutboundMessage]:
    base: dict[str, Any] = {"publication_id": publication.id, "category": str(publication.category)}

    def row(sort: OutboundKind, key: str, **extra: Any) -> OutboundMessage:
        idempotency = f"pub:{publication.id}:{account.id}:{key}"[:80]
        return OutboundMessage(
            account_id=account.id,
            publication_id=publication.id,
            kind=sort,
            target={**base, **extra},
            text=publication.text,
            idempotency_key=idempotency,
            send_key=idempotency,
            created_by=publication.created_by,
        )

    out = []
    if target.as_post:
        out.append(row(OutboundKind.POST, "post", kind="post", image=publication.image))
    for tag_id in target.tag_ids:
        name = (target.tag_names or {}).get(tag_id, "")
        out.append(row(OutboundKind.MASS, f"tag:{tag_id}", kind="mass", tag_id=tag_id, tag_name=name))
    if target.list_ids:
        lists = session.scalars(select(ContactList).where(ContactList.id.in_(target.list_ids)))
        members: set[int] = set()
        for contact_list in lists:
            members |= member_ids(session, contact_list)
        for person in recipients(session, account, members, now):
            dm = row(
                OutboundKind.DIRECT_MESSAGE,
                f"dm:{person.uid}",
                kind="private_message",
                user_uid=person.uid,
                customer_id=person.customer_id,
            )
            if not person.reachable:
                dm.state, dm.error_kind = DeliveryState.FAILED, ErrorKind.WINDOW_CLOSED
                dm.error = "the customer has not written to this account within the platform's window"
            out.append(dm)
    return out


def release_due(runtime: Runtime, now: datetime | None = None) -> list[int]:
    """Release every scheduled publication whose time has come (one transaction each)."""
    now = now or utcnow()
    with runtime.sessions() as session:
        due = list(
            session.scalars(
                select(Publication.id)
                .where(
                    Publication.state == PublicationState.SCHEDULED,
                    (Publication.scheduled_at.is_(None)) | (Publication.scheduled_at <= now),
                )
                .order_by(Publication.id)
                .limit(50)
            )
        )
    released = []
    for publication_id in due:
        with runtime.sessions.begin() as session:
            if not claim(session, publication_id):
                continue
            publication = session.get(Publication, publication_id)
            assert publication is not None
            release(session, runtime, publication, now)
            released.append(publication_id)
    return released
