"""Publication actions: submit, edit, cancel, approve or reject.

A publication is ``publish`` on every account it goes out on (one outside the sender's scope
is missing). Who holds ``publish.unreviewed`` over all its accounts publishes straight away
(or at the scheduled time); anyone else's publication waits for someone holding
``publish.approve`` over all of them -- a partner operator's for their supervisor or a
manager -- who approves it, or sends it back with a comment. It can be edited or cancelled
until it is released; an edit by someone who needs approval sends it for approval again.
Every change is audited; approvers and authors are told through notifications.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.db import utcnow
from servicehub.core.errors import ActionError
from servicehub.core.models import (
    EDITABLE_STATES,
    Grant,
    Publication,
    PublicationAccount,
    PublicationState,
    Role,
    User,
)
from servicehub.core.notifications import notify
from servicehub.core.permissions import (
    NotVisible,
    Principal,
    access,
    principal_for,
    require,
    restrict,
    scope_clause,
)
from servicehub.core.runtime import Runtime
from servicehub.publishing.compose import Draft, check_draft, refuse_problems, tag_names
from servicehub.publishing.release import claim, release

COMMENT_MAX = 500


def submission_key(who: Principal, nonce: str) -> str:
    return "pub:" + hashlib.sha256(f"{who.user_id}:{nonce}".encode()).hexdigest()[:64]


def holds(session: Session, who: Principal, publication_id: int, function: str) -> bool:
    """Whether ``who`` holds ``function`` over every account of the publication (a page
    offers only the buttons whose action would be allowed)."""
    stmt = select(Publication.id).where(Publication.id == publication_id)
    return session.scalars(restrict(stmt, who, function, Publication)).first() is not None


def needs_review(session: Session, who: Principal, publication_id: int) -> bool:
    """Whether ``who`` lacks ``publish.unreviewed`` over one of the publication's accounts."""
    return not holds(session, who, publication_id, "publish.unreviewed")


def do_submit(
    session: Session,
    runtime: Runtime,
    who: Principal,
    draft: Draft,
    *,
    nonce: str,
    now: datetime | None = None,
) -> Publication:
    """Check ``draft`` (per-target problems refuse it whole, see ``compose``) and store it:
    released now, scheduled, or waiting for approval. The same ``nonce`` twice adds nothing."""
    require(who, "publish")
    now = now or utcnow()
    key = submission_key(who, nonce)
    existing = session.scalars(select(Publication).where(Publication.idempotency_key == key)).first()
    if existing is not None:
        return existing
    refuse_problems(check_draft(session, runtime, who, draft, now=now))
    names = tag_names(session, runtime, draft)
    publication = Publication(
        text=draft.text.strip(),
        category=draft.category,
        image=draft.image,
        scheduled_at=draft.scheduled_at,
        idempotency_key=key,
        org_id=who.org_id,
        created_by=who.user_id,
    )
    _set_targets(publication, draft, names)
    session.add(publication)
    session.flush()
    audit.record(
        session,
        "publication.submitted",
        "publication",
        publication.id,
        by=who,
        accounts=[t.account_id for t in publication.targets],
        category=str(draft.category),
        scheduled_at=draft.scheduled_at.isoformat() if draft.scheduled_at else None,
    )
    _route(session, runtime, who, publication, now)
    return publication


def _set_targets(publication: Publication, draft: Draft, names: dict[int, dict[str, str]]) -> None:
    publication.targets = [
        PublicationAccount(
            account_id=t.account_id,
            as_post=t.as_post,
            list_ids=sorted(set(t.list_ids)),
            tag_ids=list(t.tag_ids),
            tag_names=names.get(t.account_id, {}),
        )
        for t in draft.targets
        if not t.empty
    ]


def _route(
    session: Session, runtime: Runtime, who: Principal, publication: Publication, now: datetime
) -> None:
    """Send it for approval, or schedule it (released at once when its time has come)."""
    if needs_review(session, who, publication.id):
        publication.state = PublicationState.PENDING
        notify(
            session,
            runtime,
            approvers_of(session, publication.id),
            "publication_review",
            by=who,
            account_id=publication.targets[0].account_id,
            publication_id=publication.id,
        )
    else:
        _schedule(session, runtime, publication, now)
    runtime.publish_on_commit(session, {"type": "publication", "publication_id": publication.id})


def _schedule(session: Session, runtime: Runtime, publication: Publication, now: datetime) -> None:
    publication.state = PublicationState.SCHEDULED
    session.flush()
    due = publication.scheduled_at is None or publication.scheduled_at <= now
    if due and claim(session, publication.id):
        session.refresh(publication)
        release(session, runtime, publication, now)


def approvers_of(session: Session, publication_id: int) -> list[int]:
    """Active users holding ``publish.approve`` over every account of the publication."""
    users = session.scalars(
        select(User)
        .join(User.roles)
        .join(Grant, Grant.role_id == Role.id)
        .where(Grant.function == "publish.approve", User.is_active.is_(True))
        .distinct()
    )
    found = []
    for user in users:
        stmt = restrict(
            select(Publication.id).where(Publication.id == publication_id),
            principal_for(user),
            "publish.approve",
            Publication,
        )
        if session.scalars(stmt).first() is not None:
            found.append(user.id)
    return found


def seen_by(who: Principal) -> ColumnElement[bool]:
    """Publications ``who`` may look at: those going out on accounts they publish on, and
    those they may approve."""
    return or_(scope_clause(who, "publish", Publication), scope_clause(who, "publish.approve", Publication))


def access_publication(session: Session, who: Principal, publication_id: int) -> Publication:
    """The publication if ``who`` may look at it (:func:`seen_by`); missing otherwise."""
    found = session.scalars(select(Publication).where(Publication.id == publication_id, seen_by(who))).first()
    if found is None:
        raise NotVisible(f"Publication {publication_id}")
    return found


def do_edit(
    session: Session,
    runtime: Runtime,
    who: Principal,
    publication_id: int,
    draft: Draft,
    *,
    now: datetime | None = None,
) -> Publication:
    """Change a publication that has not gone yet; it is checked and routed again."""
    now = now or utcnow()
    publication = access(session, who, Publication, publication_id, "publish", lock=True)
    if publication.state not in EDITABLE_STATES:
        raise ActionError("publication_not_editable", f"publication {publication_id} is {publication.state}")
    refuse_problems(check_draft(session, runtime, who, draft, now=now))
    names = tag_names(session, runtime, draft)
    before = {"text": publication.text, "state": str(publication.state)}
    publication.text, publication.category = draft.text.strip(), draft.category
    publication.image, publication.scheduled_at = draft.image, draft.scheduled_at
    publication.reviewed_by, publication.reviewed_at = None, None
    _set_targets(publication, draft, names)
    session.flush()
    audit.record(session, "publication.edited", "publication", publication.id, by=who, before=before)
    _route(session, runtime, who, publication, now)
    return publication


def do_cancel(session: Session, runtime: Runtime, who: Principal, publication_id: int) -> Publication:
    publication = access(session, who, Publication, publication_id, "publish", lock=True)
    if publication.state not in EDITABLE_STATES:
        raise ActionError("publication_not_editable", f"publication {publication_id} is {publication.state}")
    before = publication.state
    publication.state = PublicationState.CANCELLED
    audit.record(session, "publication.cancelled", "publication", publication.id, by=who, before=str(before))
    runtime.publish_on_commit(session, {"type": "publication", "publication_id": publication.id})
    return publication


def do_review(
    session: Session,
    runtime: Runtime,
    who: Principal,
    publication_id: int,
    *,
    approve: bool,
    comment: str = "",
    now: datetime | None = None,
) -> Publication:
    """Approve a waiting publication (it is scheduled, or released when its time has come) or
    send it back; sending back needs a comment saying why."""
    now = now or utcnow()
    publication = access(session, who, Publication, publication_id, "publish.approve", lock=True)
    if publication.state != PublicationState.PENDING:
        raise ActionError("publication_not_pending", f"publication {publication_id} is {publication.state}")
    comment = comment.strip()
    if len(comment) > COMMENT_MAX:
        raise ActionError("comment_too_long", "the comment is too long", limit=COMMENT_MAX)
    if not approve and not comment:
        raise ActionError("comment_required", "say why it is sent back")
    if approve and publication.scheduled_at is not None and publication.scheduled_at <= now:
        publication.scheduled_at = None  # approved after its time: it goes now
    publication.reviewed_by, publication.reviewed_at, publication.review_comment = who.user_id, now, comment
    verdict = "approved" if approve else "rejected"
    audit.record(session, f"publication.{verdict}", "publication", publication.id, by=who, comment=comment)
    notify(
        session,
        runtime,
        [publication.created_by],
        f"publication_{verdict}",
        by=who,
        account_id=publication.targets[0].account_id if publication.targets else None,
        publication_id=publication.id,
    )
    if approve:
        _schedule(session, runtime, publication, now)
    else:
        publication.state = PublicationState.REJECTED
    runtime.publish_on_commit(session, {"type": "publication", "publication_id": publication.id})
    return publication
