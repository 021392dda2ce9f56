"""Managed platform accounts, who operates them, and per-source polling cursors."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from servicehub.core.db import Base, utcnow


class AccountKind(enum.StrEnum):
    OFFICIAL = "official"
    STAFF_PERSONAL = "staff_personal"


class Health(enum.StrEnum):
    OK = "ok"
    NEEDS_REAUTH = "needs_reauth"
    RATE_LIMITED = "rate_limited"


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_uid: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[AccountKind] = mapped_column(String(16), default=AccountKind.OFFICIAL)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    operated_by_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    # Fernet-encrypted JSON {"access_token": ..., "uid": ...}; see core.secrets.
    credentials: Mapped[bytes | None] = mapped_column(LargeBinary)
    token_expires_at: Mapped[datetime | None]
    health: Mapped[Health] = mapped_column(String(16), default=Health.OK)
    health_detail: Mapped[str] = mapped_column(String(500), default="")
    rate_limited_until: Mapped[datetime | None]
    listening: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The last time taking in what the account heard failed inside the hub (not a platform
    # error: a bug, a database fault), cleared by the next intake that succeeds.
    intake_error: Mapped[str] = mapped_column(String(500), default="")
    intake_failed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("platform", "platform_uid"),)


class AccountOperator(Base):
    """A user who serves customers of this account (the routing candidates)."""

    __tablename__ = "account_operators"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class PollCursor(Base):
    """Where polling of one account's source stopped, and who holds the lease to poll it now."""

    __tablename__ = "poll_cursors"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    cursor: Mapped[str | None] = mapped_column(String(32))
    # A walk stopped early (page cap): items in (cursor, gap_max_id] are still to fetch, and
    # the cursor moves to gap_newest only once that gap is closed. Nothing is ever skipped.
    gap_max_id: Mapped[str | None] = mapped_column(String(32))
    gap_newest: Mapped[str | None] = mapped_column(String(32))
    next_poll_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    leased_until: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(500), default="")
    # What kind of failure ``last_error`` is (see ``listener.poller.ERROR_KINDS``), for people.
    error_kind: Mapped[str | None] = mapped_column(String(16))
    interval_seconds: Mapped[float] = mapped_column(default=3.0)

    __table_args__ = (UniqueConstraint("account_id", "source"),)
