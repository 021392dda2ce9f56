"""Creating organizations and users (CLI, demo seeding, admin pages), and recording logins."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.errors import ActionError
from servicehub.core.models import Organization, OrgKind, Role, User
from servicehub.core.passwords import check_new_password
from servicehub.core.permissions import Principal
from servicehub.core.security import hash_password


class UserError(ActionError):
    """A user that cannot be created as asked; ``code`` says why."""


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
    actor: Principal | None = None,
) -> User:
    username = username.strip()
    if not username or len(username) > 64:
        raise UserError("username_length", "username must be 1-64 characters")
    check_new_password(password, personal=(username, display_name or ""))
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise UserError("name_taken", f"user {username!r} already exists", name=username)
    found = list(session.scalars(select(Role).where(Role.name.in_(roles))))
    missing = set(roles) - {r.name for r in found}
    if missing:
        raise UserError("invalid_choice", f"unknown role(s): {', '.join(sorted(missing))}", field="roles")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        org_id=org.id,
        roles=found,
    )
    session.add(user)
    session.flush()
    audit.record(session, "user.created", "user", user.id, by=actor, username=username, roles=roles)
    return user


def record_denial(session: Session, who: Principal | None, *, action: str, path: str, what: str) -> None:
    """Audit a refused page or call (missing function, or an id outside the caller's scope)."""
    audit.record(session, action, "route", path[:64], by=who, what=what[:200])
