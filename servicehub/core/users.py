"""Creating organizations and users (CLI, demo seeding, admin pages)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.models import Organization, OrgKind, Role, User
from servicehub.core.security import hash_password


class UserError(ValueError):
    pass


def ensure_org(session: Session, name: str, kind: OrgKind = OrgKind.IN_HOUSE) -> Organization:
    org = session.scalars(select(Organization).where(Organization.name == name)).first()
    if org is None:
        org = Organization(name=name, kind=kind)
        session.add(org)
        session.flush()
        audit.record(session, "org.created", "organization", org.id, name=name, kind=str(kind))
    return org


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    org: Organization,
    roles: list[str],
    display_name: str | None = None,
    actor_id: int | None = None,
) -> User:
    username = username.strip()
    if not username or len(username) > 64:
        raise UserError("username must be 1-64 characters")
    if len(password) < 8:
        raise UserError("password must have at least 8 characters")
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise UserError(f"user {username!r} already exists")
    found = list(session.scalars(select(Role).where(Role.name.in_(roles))))
    missing = set(roles) - {r.name for r in found}
    if missing:
        raise UserError(f"unknown role(s): {', '.join(sorted(missing))}")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        org_id=org.id,
        roles=found,
    )
    session.add(user)
    session.flush()
    audit.record(session, "user.created", "user", user.id, actor_id=actor_id, username=username, roles=roles)
    return user
