"""Sales leads (销售线索) found in service conversations, and their history.

A lead belongs to the company (``org_id``) of whoever logged it -- a partner sees only its
own company's -- and remembers the account whose conversation it came from, which decides
whether a reader sees the customer's phone whole. Stage and owner changes are
:class:`LeadEvent` rows.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from servicehub.core.db import Base, utcnow


class LeadStage(enum.StrEnum):
    POTENTIAL = "potential"  # 潜在
    INTENTIONAL = "intentional"  # 意向
    WON = "won"  # 成交
    LOST = "lost"  # 流失


class SalesLead(Base):
    __tablename__ = "sales_leads"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stage: Mapped[LeadStage] = mapped_column(String(16), default=LeadStage.POTENTIAL)
    product: Mapped[str] = mapped_column(String(120))
    value: Mapped[int] = mapped_column(default=0)  # expected value in yuan
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_sales_leads_org", "org_id", "stage", "id"),)


class LeadEvent(Base):
    """A lead was logged, changed stage, changed owner or was edited."""

    __tablename__ = "lead_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("sales_leads.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))  # created | stage | owner | edited
    before: Mapped[str] = mapped_column(String(120), default="")
    after: Mapped[str] = mapped_column(String(120), default="")
    note: Mapped[str] = mapped_column(Text, default="")
