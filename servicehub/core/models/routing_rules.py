"""Routing configuration as data: per-account / per-listening-task policies and team rules.

A :class:`RoutingPolicy` says which strategy serves an account's (or a listening task's)
requests and whether a returning customer sticks to their previous operator. A
:class:`RoutingRule` sends requests that match a listening task, a tag or a keyword to a
team.

Round robin needs no pointer table: each user's ``last_assigned_at`` (updated under the
user's row lock) says whose turn it is, across processes and overlapping pools.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from servicehub.core.db import Base, utcnow


class Strategy(enum.StrEnum):
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"
    MANUAL = "manual"  # nobody is picked automatically; a supervisor assigns from the queue


class RoutingPolicy(Base):
    """How requests of one account, or of one listening task, are distributed."""

    __tablename__ = "routing_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    listening_task_id: Mapped[int | None] = mapped_column(
        ForeignKey("listening_tasks.id", ondelete="CASCADE"), unique=True
    )
    strategy: Mapped[Strategy] = mapped_column(String(16), default=Strategy.ROUND_ROBIN)
    sticky: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("(account_id IS NULL) <> (listening_task_id IS NULL)", name="one_target"),
    )


class RoutingRule(Base):
    """Requests matching a listening task, a message tag or a keyword go to ``team_id``.

    Rules are tried by ``position`` (then id); the first match wins. An empty condition
    matches nothing, so a rule must name at least one of task, tag or keyword.
    """

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=100)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    listening_task_id: Mapped[int | None] = mapped_column(
        ForeignKey("listening_tasks.id", ondelete="CASCADE")
    )
    tag: Mapped[str | None] = mapped_column(String(64))
    keyword: Mapped[str | None] = mapped_column(String(64))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
