"""Customers, their platform identities, and the built-in CRM table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from servicehub.core.db import Base, utcnow


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(
        String(32), index=True
    )  # stored whole, shown masked unless permitted
    crm_number: Mapped[str | None] = mapped_column(String(64))
    # The linked CRM record as read when it was linked (name, plan, tier, ...): shown on the
    # customer panel without asking the CRM on every page view.
    crm_profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    email: Mapped[str | None] = mapped_column(String(254))
    # Set when its identities were linked into another customer (which now holds its history).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    tier: Mapped[int] = mapped_column(default=0)  # VIP level, 0 = regular
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CustomerIdentity(Base):
    """One platform account of a customer; a customer may have several across channels."""

    __tablename__ = "customer_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_uid: Mapped[str] = mapped_column(String(64))
    screen_name: Mapped[str] = mapped_column(String(120))
    followers_count: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("platform", "platform_uid"),)


class CrmEntry(Base):
    """One record of the hub's built-in CRM (``[crm] backend = "builtin"``, the embedded mode)."""

    __tablename__ = "crm_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    crm_number: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(120))
    plan: Mapped[str] = mapped_column(String(120), default="")
    tier: Mapped[int] = mapped_column(default=0)
    email: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
