"""Inbound messages: everything the accounts heard, kept whole, with the filter verdict.

Intake is exactly-once because of the unique key (account, kind, platform_id): the listener
inserts with "skip rows whose key exists", so a replayed page or a second poller adds nothing.
The account is part of the key because one post may @-mention two managed accounts, and
each account then owes the customer an answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from servicehub.core.db import Base, utcnow


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(24))
    platform_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    author_uid: Mapped[str] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]  # platform time
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    thread_id: Mapped[str] = mapped_column(String(64))
    reply_target: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Photos, voice notes, videos the customer sent (adapters.base.MediaRef.as_dict each);
    # NULL when none. Fetched from the platform when an operator opens one.
    attachments: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    # Filter verdict. keep=False rows are dropped from routing but kept for review/restore.
    keep: Mapped[bool] = mapped_column(default=True)
    drop_reason: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    sentiment: Mapped[float | None]
    sentiment_label: Mapped[str | None] = mapped_column(String(16))
    # What the customer wants (inquiry, complaint, praise, suggestion, other) and the threats
    # of escalation they made (工信部, 12315, ...), as the filters read them.
    intent: Mapped[str | None] = mapped_column(String(16))
    escalation: Mapped[list[str]] = mapped_column(JSON, default=list)
    duplicate_of: Mapped[str | None] = mapped_column(String(64))
    routed: Mapped[bool] = mapped_column(default=False)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id"), index=True)

    __table_args__ = (
        UniqueConstraint("account_id", "kind", "platform_id"),
        Index("ix_messages_unrouted", "routed", "keep"),
        # Analytics recomputes one account's days and pages through its rows by time.
        Index("ix_messages_account_created", "account_id", "created_at"),
    )


class ListeningTask(Base):
    """Keywords to listen for on some accounts; matches are tagged and routed to its people."""

    __tablename__ = "listening_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    account_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # empty = all accounts
    user_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    is_active: Mapped[bool] = mapped_column(default=True)
