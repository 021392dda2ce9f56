"""People and who they work for: organizations, teams, users, roles and their grants.

Permissions are data (Netbox-style): a Role holds Grants; each Grant names a function
(e.g. ``request.reply``) and the data scope it applies to (``all`` rows, rows of the
user's ``org``, or rows the user ``own``s). ``servicehub.core.permissions`` applies them.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicehub.core.db import Base, utcnow


class OrgKind(enum.StrEnum):
    IN_HOUSE = "in_house"
    PARTNER = "partner"


class Presence(enum.StrEnum):
    ON_DUTY = "on_duty"
    AWAY = "away"
    OFFLINE = "offline"


class Scope(enum.StrEnum):
    ALL = "all"  # every row
    ORG = "org"  # rows of accounts operated by the user's organization
    OWN = "own"  # rows assigned to the user or of accounts the user operates


user_teams = Table(
    "user_teams",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
)

user_roles = Table(
    "user_roles",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[OrgKind] = mapped_column(String(16), default=OrgKind.IN_HOUSE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))

    __table_args__ = (UniqueConstraint("org_id", "name"),)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    presence: Mapped[Presence] = mapped_column(String(16), default=Presence.ON_DUTY)
    capacity: Mapped[int] = mapped_column(default=20)
    # Working hours in China time: [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}]
    # (Monday = 0; an end before the start runs past midnight). Empty: no shift limit.
    shifts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    presence_changed_at: Mapped[datetime | None]
    # When routing last handed this user a request: round robin serves the longest-idle first.
    last_assigned_at: Mapped[datetime | None]
    locale: Mapped[str] = mapped_column(String(8), default="zh-CN")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]

    org: Mapped[Organization] = relationship(lazy="joined")
    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin")
    teams: Mapped[list[Team]] = relationship(secondary=user_teams, lazy="selectin")


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(120))

    grants: Mapped[list[Grant]] = relationship(
        back_populates="role", lazy="selectin", cascade="all, delete-orphan"
    )


class Grant(Base):
    """Permission to perform ``function`` on rows within ``scope``."""

    __tablename__ = "grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), index=True)
    function: Mapped[str] = mapped_column(String(64))
    scope: Mapped[Scope] = mapped_column(String(8), default=Scope.ALL)
    # Request states this grant covers (data permission by state); empty: every state.
    states: Mapped[list[str]] = mapped_column(JSON, default=list)

    role: Mapped[Role] = relationship(back_populates="grants")

    __table_args__ = (UniqueConstraint("role_id", "function"),)
