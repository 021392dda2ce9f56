"""Everything the hub sends, each at most once: replies, posts and private messages on the
platforms, and SMS, MMS and e-mail to a customer (``servicehub.contact``)."""

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
    MASS = "mass"  # one text to every follower in one of the account's platform tags (WeChat)
    SMS = "sms"
    MMS = "mms"
    EMAIL = "email"


# Sent through an account's platform adapter / through a contact channel (SMS gateway, SMTP).
PLATFORM_KINDS = (OutboundKind.REPLY, OutboundKind.POST, OutboundKind.DIRECT_MESSAGE, OutboundKind.MASS)
CONTACT_KINDS = (OutboundKind.SMS, OutboundKind.MMS, OutboundKind.EMAIL)


class DeliveryState(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # final: the platform refused it (or sending broke); ``error_kind`` says why
    RETRY = "retry"  # the platform was unavailable; will be tried again
    UNKNOWN = "unknown"  # the sender was interrupted mid-send: only a person may send it again
    DELIVERED = "delivered"  # final: the carrier reported it reached the customer's phone


class ErrorKind(enum.StrEnum):
    """Why a send did not succeed, in words an operator can act on (``send_error.<kind>``)."""

    REJECTED = "rejected"
    NOT_FOUND = "not_found"
    TOKEN_EXPIRED = "token_expired"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    UNSUPPORTED = "unsupported"
    GAVE_UP = "gave_up"
    INTERNAL = "internal"
    INTERRUPTED = "interrupted"
    UNCONFIRMED = "unconfirmed"  # no answer after the other side may have taken it (a timeout)
    UNDELIVERED = "undelivered"  # the delivery report says it did not reach the customer
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
    # The publication this post or message is one target of (None: a reply or a contact).
    publication_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"), index=True)
    kind: Mapped[OutboundKind] = mapped_column(String(8))
    target: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    # The id the other side sees for the current send (an SMS gateway's OutId, an e-mail's
    # Message-ID): the idempotency key, renewed only when a person sends again something the
    # other side provably had, so a delivery report for the earlier send matches nothing.
    send_key: Mapped[str | None] = mapped_column(String(96), index=True)
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
    sent_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]  # when the current sender took it (see sweep_interrupted)
    delivered_at: Mapped[datetime | None]  # from the delivery report
