"""An operator's day around the requests: announcements, snippets, private notes, mentions
and notifications, and who is looking at a request right now.

Announcements and snippets share one notion of *audience*: ``org_id`` None is everyone;
an ``org_id`` alone is that company; a ``team_id`` (with its team's ``org_id``) is that
team. ``core.permissions`` turns it into the clause of who reads them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from servicehub.core.db import Base, utcnow


class Announcement(Base):
    """A supervisor's message to everyone, one company, or one team."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AnnouncementRead(Base):
    """That one user has read one announcement (its absence: unread)."""

    __tablename__ = "announcement_reads"

    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


class Snippet(Base):
    """A canned reply with placeholders ({客户名称}, {账号名称}), for everyone, a company or a team."""

    __tablename__ = "snippets"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RequestNote(Base):
    """A private note on a request: staff only, never sent to the customer."""

    __tablename__ = "request_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[int]] = mapped_column(JSON, default=list)  # user ids told about it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """Something one user should look at: a mention, a work order sent to them or returned."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    note_id: Mapped[int | None] = mapped_column(ForeignKey("request_notes.id", ondelete="CASCADE"))
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("sales_leads.id", ondelete="CASCADE"))
    publication_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_notifications_user", "user_id", "read_at", "id"),)


class RequestViewer(Base):
    """Someone has a request open (viewing or replying) until ``expires_at``; renewed by heartbeat.

    Kept in the database, not in a process, so every workbench process sees every viewer.
    """

    __tablename__ = "request_viewers"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(12), default="viewing")
    expires_at: Mapped[datetime] = mapped_column(index=True)
