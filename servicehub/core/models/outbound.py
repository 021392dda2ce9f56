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
    FAILED = "failed"  # final: the platform refused it; the error says why
    RETRY = "retry"  # the platform was unavailable; will be tried again
    UNKNOWN = "unknown"  # may have reached the platform; a person checks before sending again


class ErrorKind(enum.StrEnum):
    """Why a send did not (or may not have) come through; the workbench says it in words."""

    REJECTED = "rejected"
    NOT_FOUND = "not_found"
    TOKEN_EXPIRED = "token_expired"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    UNSUPPORTED = "unsupported"
    GAVE_UP = "gave_up"
    INTERNAL = "internal"
    INTERRUPTED = "interrupted"
    # The answer to the send was lost and the platform cannot be read back to tell whether
    # it arrived: a person checks (never resent on its own).
    AMBIGUOUS = "ambiguous"
    # The platform no longer accepts a reply to this person (48 hours after their last
    # message): final, the reason is shown.
    WINDOW_CLOSED = "window_closed"


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
    error_kind: Mapped[ErrorKind | None] = mapped_column(String(16))
    # An attempt may have reached the platform (its answer was lost): before any resend the
    # platform is read back for it (publishing.outbox), so a reply is never posted twice.
    in_doubt: Mapped[bool] = mapped_column(default=False)
    # Where the person who wrote it was (their IP when queued): Weibo's ``rip``.
    rip: Mapped[str | None] = mapped_column(String(45))
    attempts: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]  # when a sender last took the row (see sweep_interrupted)
    sent_at: Mapped[datetime | None]
