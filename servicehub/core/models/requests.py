"""Service requests (conversations with one customer on one account) and their assignments."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from servicehub.core.db import Base, utcnow


class RequestState(enum.StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    TRANSFERRED = "transferred"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATES = (
    RequestState.NEW,
    RequestState.ASSIGNED,
    RequestState.IN_PROGRESS,
    RequestState.TRANSFERRED,
    RequestState.WAITING_CUSTOMER,
)


# What is not open; queries of open requests say ``state NOT IN CLOSED_STATES`` -- the
# predicate of the partial indexes below, which PostgreSQL then uses.
CLOSED_STATES = (RequestState.RESOLVED, RequestState.CLOSED)
_OPEN_SQL = "state NOT IN ('resolved', 'closed')"


class Priority(enum.IntEnum):
    LOW = 0
    NORMAL = 1
    HIGH = 2
    URGENT = 3


class ServiceRequest(Base):
    __tablename__ = "service_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    thread_key: Mapped[str] = mapped_column(String(96))
    state: Mapped[RequestState] = mapped_column(String(20), default=RequestState.NEW)
    priority: Mapped[int] = mapped_column(default=Priority.NORMAL)
    subject: Mapped[str] = mapped_column(String(200), default="")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    sentiment: Mapped[float | None]
    # The most pressing intent of its messages, every escalation threat they made, whether
    # one was furious -- what priority reads -- and the signals that set the priority.
    intent: Mapped[str | None] = mapped_column(String(16))
    escalation: Mapped[list[str]] = mapped_column(JSON, default=list)
    furious: Mapped[bool] = mapped_column(default=False)
    priority_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    message_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_requests_queue", "state", "priority", "created_at"),
        Index("ix_requests_assignee", "assignee_id", "state"),
        # Analytics re-reads the requests changed since it last looked.
        Index("ix_requests_updated", "updated_at"),
        # At most one open request per conversation, even with several routers racing.
        Index(
            "uq_requests_open_thread",
            "account_id",
            "thread_key",
            unique=True,
            postgresql_where=text(_OPEN_SQL),
            sqlite_where=text(_OPEN_SQL),
        ),
    )


# The queue's order (priority DESC, id): each tab walks one of these and stops after a page,
# so a page costs the same at ten million requests as at ten thousand (routing/queue.py).
Index(
    "ix_requests_all_order",
    ServiceRequest.priority.desc(),
    ServiceRequest.id,
    postgresql_include=["account_id", "assignee_id"],
)
# The scope clauses read account_id and assignee_id: kept in the index (INCLUDE), the capped
# count and the scope filter are answered from the index without visiting the rows.
Index(
    "ix_requests_open_order",
    ServiceRequest.priority.desc(),
    ServiceRequest.id,
    postgresql_include=["account_id", "assignee_id"],
    postgresql_where=text(_OPEN_SQL),
    sqlite_where=text(_OPEN_SQL),
)
Index(
    "ix_requests_mine_order",
    ServiceRequest.assignee_id,
    ServiceRequest.priority.desc(),
    ServiceRequest.id,
    postgresql_include=["account_id"],
    postgresql_where=text(_OPEN_SQL),
    sqlite_where=text(_OPEN_SQL),
)


class Assignment(Base):
    """Why a request went to whom: strategy, candidates considered, their load at the time."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    strategy: Mapped[str] = mapped_column(String(32))
    reason: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
