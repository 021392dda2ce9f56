"""Everything the hub sends: replies, posts and private messages, each sent at most once."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from servicehub.core.db import Base, utcnow


class OutboundKind(enum.StrEnum):
    REPLY = "reply"
    POST = "post"
    DIRECT_MESSAGE = "dm"


class DeliveryState(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # final: the platform refused it (or sending broke); ``error_kind`` says why
    RETRY = "retry"  # the platform was unavailable; will be tried again
    # The send was interrupted after it may have reached the platform: never resent on its
    # own (at most once); an operator checks the platform and retries or lets it be.
    UNKNOWN = "unknown"


class ErrorKind(enum.StrEnum):
    """Why a message failed (or waits), for people: the workbench explains each in words."""

    REJECTED = "rejected"  # the platform refused the content or the action
    NOT_FOUND = "not_found"  # what it answers was deleted
    TOKEN_EXPIRED = "token_expired"  # the account needs re-authorization
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"  # network fault, timeout, 5xx
    UNSUPPORTED = "unsupported"  # the platform cannot send this kind of message
    GAVE_UP = "gave_up"  # unavailable too many times
    INTERNAL = "internal"  # the hub failed while sending; see the log
    INTERRUPTED = "interrupted"  # the sender stopped mid-send (see UNKNOWN)


class OutboundMessage(Base):
    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id"), index=True)
    kind: Mapped[OutboundKind] = mapped_column(String(8))
    target: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    state: Mapped[DeliveryState] = mapped_column(String(10), default=DeliveryState.QUEUED)
    platform_id: Mapped[str | None] = mapped_column(String(64))
    sent_text: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str] = mapped_column(String(500), default="")
    error_kind: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]  # when the current (or last) send attempt began
    sent_at: Mapped[datetime | None]
