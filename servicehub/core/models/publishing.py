"""Publications: one text published from several accounts, as posts and/or private messages,
and what each post draws afterwards.

A :class:`Publication` names its accounts (:class:`PublicationAccount`: post there, message
which contact lists or platform tags there). When it is released, each thing to send becomes
an :class:`~servicehub.core.models.outbound.OutboundMessage` carrying ``publication_id``:
the outbox is the per-target delivery record (state, platform id, error), so a publication
is sent at most once per target by the same machinery as a reply. A sent post is then
followed by a :class:`TrackedPost` whose samples land in ``engagement_snapshots``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicehub.core.db import Base, utcnow


class PublicationState(enum.StrEnum):
    PENDING = "pending"  # waits for an approver
    REJECTED = "rejected"  # sent back with the approver's comment; editable, then submitted again
    SCHEDULED = "scheduled"  # approved (or needing no approval), waiting for its time
    RELEASED = "released"  # its outbox rows exist: sending or sent, per target
    CANCELLED = "cancelled"


EDITABLE_STATES = (PublicationState.PENDING, PublicationState.REJECTED, PublicationState.SCHEDULED)


class Category(enum.StrEnum):
    ANNOUNCEMENT = "announcement"
    PRODUCT = "product"
    PROMOTION = "promotion"
    SERVICE_NOTICE = "service_notice"
    KNOWLEDGE = "knowledge"
    OTHER = "other"


class Publication(Base):
    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[Category] = mapped_column(String(16), default=Category.OTHER)
    # An uploaded picture (a file name under the media directory) posted with the text.
    image: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[PublicationState] = mapped_column(String(12), default=PublicationState.PENDING)
    scheduled_at: Mapped[datetime | None]  # None: as soon as it may go
    # What a double-clicked or retried submit carries, so it adds nothing the second time.
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    review_comment: Mapped[str] = mapped_column(String(500), default="")
    released_at: Mapped[datetime | None]

    targets: Mapped[list[PublicationAccount]] = relationship(
        back_populates="publication", cascade="all, delete-orphan", order_by="PublicationAccount.account_id"
    )

    __table_args__ = (Index("ix_publications_due", "state", "scheduled_at"),)


class PublicationAccount(Base):
    """One account of a publication: a post there, private messages to contact lists through
    it, a mass send to some of its own platform tags -- any of them."""

    __tablename__ = "publication_accounts"

    publication_id: Mapped[int] = mapped_column(
        ForeignKey("publications.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True, index=True)
    as_post: Mapped[bool] = mapped_column(default=False)
    list_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # contact lists messaged through it
    tag_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # the platform's own tags (WeChat)
    # Their names as the platform said when it was submitted (what people recognise them by).
    tag_names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    publication: Mapped[Publication] = relationship(back_populates="targets")


class ContactList(Base):
    """A saved group of customers to message: a rule (tags, lowest VIP tier, accounts they
    wrote to) evaluated when a publication goes, plus people added by hand or by CSV."""

    __tablename__ = "contact_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # {"tags": [str], "min_tier": int, "account_ids": [int]}; empty: members only.
    rule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ContactListMember(Base):
    __tablename__ = "contact_list_members"

    list_id: Mapped[int] = mapped_column(ForeignKey("contact_lists.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)


class TrackedPost(Base):
    """A sent post whose reposts, comments and likes are sampled, often at first, then less."""

    __tablename__ = "tracked_posts"

    outbound_id: Mapped[int] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    platform_id: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime]
    next_at: Mapped[datetime | None]  # None: no longer followed
    samples: Mapped[int] = mapped_column(default=0)
    reposts: Mapped[int] = mapped_column(default=0)
    comments: Mapped[int] = mapped_column(default=0)
    likes: Mapped[int] = mapped_column(default=0)
    # The newest repost already taken in (the repost list is read only when the count rose).
    reposts_since: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("ix_tracked_posts_due", "account_id", "next_at"),)
