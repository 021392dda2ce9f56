"""Announcements from supervisors to everyone, one company or one team, and who has read them.

Writing and removing one is ``announcement.manage`` within its data scope (see
``workday.audience``): a partner supervisor writes to its own company or its teams, an
in-house supervisor (scope ALL) to anyone. Everyone reads the announcements addressed to
them; one addressed elsewhere answers NotVisible, like one that does not exist. Marking one
read is the reader's own view state: it needs no function and is not audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.db import is_postgres
from servicehub.core.errors import ActionError
from servicehub.core.models import Announcement, AnnouncementRead, Organization, Team, User
from servicehub.core.permissions import Forbidden, NotVisible, Principal, scope_clause
from servicehub.workday.audience import parse_audience, reaches

MANAGE = "announcement.manage"
MAX_TITLE = 120
MAX_BODY = 2000


def _text(value: str, field: str, limit: int, *, required: bool = True) -> str:
    text = value.strip()
    if required and not text:
        raise ActionError("field_required", f"{field} is required", field=field)
    if len(text) > limit:
        raise ActionError("too_long", f"{field} is longer than {limit}", field=field, limit=limit)
    return text


def do_post_announcement(
    session: Session, who: Principal, *, title: str, body: str, audience: str
) -> Announcement:
    """Publish an announcement to ``audience`` (``all``, ``org:<id>`` or ``team:<id>``)."""
    target = parse_audience(session, who, MANAGE, audience)
    announcement = Announcement(
        title=_text(title, "title", MAX_TITLE),
        body=_text(body, "body", MAX_BODY, required=False),
        author_id=who.user_id,
        org_id=target.org_id,
        team_id=target.team_id,
    )
    session.add(announcement)
    session.flush()
    session.add(AnnouncementRead(announcement_id=announcement.id, user_id=who.user_id))  # one's own: read
    audit.record(
        session,
        "announcement.posted",
        "announcement",
        announcement.id,
        by=who,
        title=announcement.title,
        org_id=target.org_id,
        team_id=target.team_id,
    )
    return announcement


def do_remove_announcement(session: Session, who: Principal, announcement_id: int) -> None:
    """Take an announcement down: one ``who`` reads but does not manage is Forbidden."""
    announcement = session.scalars(
        select(Announcement).where(Announcement.id == announcement_id, _readable(who))
    ).first()
    if announcement is None:
        raise NotVisible(f"announcement {announcement_id}")
    manageable = select(Announcement.id).where(
        Announcement.id == announcement_id, scope_clause(who, MANAGE, Announcement)
    )
    if session.scalar(manageable) is None:
        raise Forbidden(MANAGE)
    audit.record(
        session, "announcement.removed", "announcement", announcement.id, by=who, title=announcement.title
    )
    session.delete(announcement)


def _readable(who: Principal) -> ColumnElement[bool]:
    return or_(
        reaches(Announcement.org_id, Announcement.team_id, who), scope_clause(who, MANAGE, Announcement)
    )


def do_mark_announcement_read(session: Session, who: Principal, announcement_id: int) -> None:
    """``who`` has read the announcement (once; again changes nothing)."""
    found = session.scalar(select(Announcement.id).where(Announcement.id == announcement_id, _readable(who)))
    if found is None:
        raise NotVisible(f"announcement {announcement_id}")
    insert = pg_insert if is_postgres(session) else sqlite_insert
    session.execute(
        insert(AnnouncementRead)
        .values(announcement_id=found, user_id=who.user_id)
        .on_conflict_do_nothing(index_elements=["announcement_id", "user_id"])
    )


@dataclass(frozen=True)
class ShownAnnouncement:
    id: int
    title: str
    body: str
    author: str
    created_at: datetime
    audience_kind: str  # "all" | "org" | "team"
    audience: str  # the company or team name
    read: bool
    can_remove: bool


def announcements_for(session: Session, who: Principal, limit: int = 20) -> list[ShownAnnouncement]:
    """Announcements addressed to ``who`` (and, for supervisors, those they manage), newest first."""
    is_read = exists().where(
        and_(AnnouncementRead.announcement_id == Announcement.id, AnnouncementRead.user_id == who.user_id)
    )
    manageable = scope_clause(who, MANAGE, Announcement)
    rows = session.execute(
        select(Announcement, User.display_name, Organization.name, Team.name, is_read, manageable)
        .outerjoin(User, User.id == Announcement.author_id)
        .outerjoin(Organization, Organization.id == Announcement.org_id)
        .outerjoin(Team, Team.id == Announcement.team_id)
        .where(_readable(who))
        .order_by(Announcement.id.desc())
        .limit(limit)
    )
    return [
        ShownAnnouncement(
            a.id,
            a.title,
            a.body,
            author or "",
            a.created_at,
            "team" if a.team_id else "org" if a.org_id else "all",
            team or org or "",
            bool(read),
            bool(can_remove),
        )
        for a, author, org, team, read, can_remove in rows
    ]
