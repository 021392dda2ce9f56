"""Collaborative work orders (协同工单): a request handed to another person, team or company.

The order carries its request's account and customer, so its data scope and its live
events need no join. Exactly one of ``to_user_id``, ``to_team_id``, ``to_org_id`` names
the receiver. Every step is a :class:`WorkOrderStep` (who, when, from which state to which,
with the note or result written then); ``servicehub.workorders`` owns the state machine.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from servicehub.core.db import Base, utcnow


class WorkOrderState(enum.StrEnum):
    SENT = "sent"  # waiting for the receiver to accept it or send it back
    ACCEPTED = "accepted"  # the receiver works on it
    SENT_BACK = "sent_back"  # the receiver refused it; the originator resends or closes it
    RETURNED = "returned"  # the receiver returned it with a result; the originator answers
    CLOSED = "closed"


class WorkOrderKind(enum.StrEnum):
    BILLING = "billing"  # 计费核查
    BROADBAND = "broadband"  # 宽带装维
    NETWORK = "network"  # 网络故障
    COMPLAINT = "complaint"  # 投诉升级
    OTHER = "other"


class WorkOrder(Base):
    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[WorkOrderKind] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    state: Mapped[WorkOrderState] = mapped_column(String(16), default=WorkOrderState.SENT)
    due_at: Mapped[datetime]
    originator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    to_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    to_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    result: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    accepted_at: Mapped[datetime | None]
    returned_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_work_orders_due", "state", "due_at"),)


class WorkOrderStep(Base):
    """One step of an order's life: opened, accepted, progress, returned, closed, reopened..."""

    __tablename__ = "work_order_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
