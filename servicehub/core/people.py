"""Actions on people and their permissions: organizations, users, teams, roles and grants.

``user.manage`` is needed for all of them. Organizations, roles and grants need it at scope
``all`` (an administrator); a partner company's user manager (scope ``org``) sees and
changes only its own company's users and teams, and anything else answers NotVisible.
Giving someone roles needs scope ``all`` too: otherwise a company could grant itself more.
Every change is one audit event naming the actor, with what changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.auth import end_sessions
from servicehub.core.errors import ActionError
from servicehub.core.models import Grant, Organization, OrgKind, RequestState, Role, Scope, Team, User
from servicehub.core.permissions import FUNCTIONS, NotVisible, Principal, access, require, restrict
from servicehub.core.shifts import parse_shifts
from servicehub.core.users import create_user

MANAGE = "user.manage"
MAX_CAPACITY = 500


def _name(value: str, limit: int = 120) -> str:
    name = value.strip()
    if not name:
        raise ActionError("name_required", "a name is required")
    if len(name) > limit:
        raise ActionError("too_long", f"the name is longer than {limit}", field="name", limit=limit)
    return name


# -- organizations --------------------------------------------------------------------------


def do_create_org(session: Session, who: Principal, *, name: str, kind: str) -> Organization:
    require(who, MANAGE, Scope.ALL)
    name = _name(name)
    try:
        org_kind = OrgKind(kind)
    except ValueError:
        raise ActionError("invalid_choice", f"unknown organization kind {kind!r}", field="kind") from None
    if session.scalars(select(Organization).where(Organization.name == name)).first():
        raise ActionError("name_taken", f"{name} exists", name=name)
    org = Organization(name=name, kind=org_kind)
    session.add(org)
    session.flush()
    audit.record(session, "org.created", "organization", org.id, by=who, name=name, kind=str(org_kind))
    return org


# -- users ------------------------------------------------------------------------------------


def do_create_user(
    session: Session,
    who: Principal,
    *,
    org_id: int,
    username: str,
    password: str,
    display_name: str = "",
    roles: Sequence[str] = (),
) -> User:
    org = access(session, who, Organization, org_id, MANAGE)
    if roles:
        require(who, MANAGE, Scope.ALL)
    return create_user(
        session,
        username,
        password,
        org=org,
        roles=list(roles),
        display_name=display_name.strip()[:120] or None,
        actor=who,
    )


def do_update_user(
    session: Session,
    who: Principal,
    user_id: int,
    *,
    display_name: str,
    is_active: bool,
    capacity: int | None,
    shifts: str,
    team_ids: Sequence[int],
    roles: Sequence[str] | None,
) -> User:
    """Change a user; ``roles`` None leaves their roles alone (the form did not show them)."""
    user = access(session, who, User, user_id, MANAGE)
    before = _user_state(user)
    user.display_name = display_name.strip()[:120] or user.display_name
    if user.id == who.user_id and not is_active:
        raise ActionError("cannot_deactivate_self", "you cannot deactivate yourself")
    if user.is_active and not is_active:
        end_sessions(session, user.id)  # a deactivated user's open pages and streams end now
    user.is_active = is_active
    if capacity is not None:
        if not 0 <= capacity <= MAX_CAPACITY:
            raise ActionError("out_of_range", "capacity: 0-500", field="capacity", low=0, high=MAX_CAPACITY)
        user.capacity = capacity
    user.shifts = parse_shifts(shifts)
    user.teams = _teams(session, who, team_ids)
    if roles is not None and sorted(roles) != sorted(r.name for r in user.roles):
        require(who, MANAGE, Scope.ALL)
        user.roles = _roles(session, roles)
    after = _user_state(user)
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changed:
        audit.record(session, "user.updated", "user", user.id, by=who, changed=changed)
    return user


def _user_state(user: User) -> dict[str, Any]:
    return {
        "display_name": user.display_name,
        "is_active": user.is_active,
        "capacity": user.capacity,
        "shifts": list(user.shifts or []),
        "teams": sorted(t.id for t in user.teams),
        "roles": sorted(r.name for r in user.roles),
    }


def _teams(session: Session, who: Principal, team_ids: Sequence[int]) -> list[Team]:
    wanted = sorted(set(team_ids))
    teams = list(session.scalars(restrict(select(Team).where(Team.id.in_(wanted)), who, MANAGE, Team)))
    if len(teams) != len(wanted):
        raise NotVisible("team")
    return teams


def _roles(session: Session, names: Sequence[str]) -> list[Role]:
    found = list(session.scalars(select(Role).where(Role.name.in_(list(names)))))
    missing = sorted(set(names) - {r.name for r in found})
    if missing:
        raise ActionError("invalid_choice", f"unknown role(s): {', '.join(missing)}", field="roles")
    return found


# -- teams ------------------------------------------------------------------------------------


def do_create_team(session: Session, who: Principal, *, org_id: int, name: str) -> Team:
    org = access(session, who, Organization, org_id, MANAGE)
    name = _name(name)
    if session.scalars(select(Team).where(Team.org_id == org.id, Team.name == name)).first():
        raise ActionError("name_taken", f"{name} exists", name=name)
    team = Team(name=name, org_id=org.id)
    session.add(team)
    session.flush()
    audit.record(session, "team.created", "team", team.id, by=who, name=name, org_id=org.id)
    return team


def do_set_team_members(session: Session, who: Principal, team_id: int, user_ids: Sequence[int]) -> Team:
    team = access(session, who, Team, team_id, MANAGE)
    wanted = sorted(set(user_ids))
    users = list(session.scalars(restrict(select(User).where(User.id.in_(wanted)), who, MANAGE, User)))
    if len(users) != len(wanted):
        raise NotVisible("user")
    current = set(session.scalars(select(User).where(User.teams.any(Team.id == team.id))))
    for user in current - set(users):
        user.teams.remove(team)
    for user in set(users) - current:
        user.teams.append(team)
    audit.record(session, "team.members", "team", team.id, by=who, members=wanted)
    return team


# -- roles and grants ---------------------------------------------------------------------------


def do_create_role(session: Session, who: Principal, *, name: str, label: str) -> Role:
    require(who, MANAGE, Scope.ALL)
    name = _name(name, 64)
    label = _name(label)
    if session.scalars(select(Role).where(Role.name == name)).first():
        raise ActionError("name_taken", f"{name} exists", name=name)
    role = Role(name=name, label=label)
    session.add(role)
    session.flush()
    audit.record(session, "role.created", "role", role.id, by=who, name=name)
    return role


def _role(session: Session, role_id: int) -> Role:
    role = session.get(Role, role_id)
    if role is None:
        raise NotVisible(f"role {role_id}")
    return role


def _function(function: str) -> str:
    if function not in FUNCTIONS:
        raise ActionError("invalid_choice", f"unknown function {function!r}", field="function")
    return function


def do_set_grant(
    session: Session, who: Principal, role_id: int, *, function: str, scope: str, states: Sequence[str]
) -> Grant:
    """Give ``role_id`` the ``function`` at ``scope``, limited to request ``states`` (none: all)."""
    require(who, MANAGE, Scope.ALL)
    role = _role(session, role_id)
    function = _function(function)
    try:
        grant_scope = Scope(scope)
    except ValueError:
        raise ActionError("invalid_choice", f"unknown scope {scope!r}", field="scope") from None
    limit = sorted({s.strip() for s in states if s.strip()})
    unknown = sorted(set(limit) - {str(s) for s in RequestState})
    if unknown:
        raise ActionError(
            "unknown_states", f"unknown state(s): {', '.join(unknown)}", states=", ".join(unknown)
        )
    grant = next((g for g in role.grants if g.function == function), None)
    if grant is None:
        grant = Grant(function=function, scope=grant_scope, states=limit)
        role.grants.append(grant)
    else:
        grant.scope, grant.states = grant_scope, limit
    audit.record(
        session, "grant.set", "role", role.id, by=who, function=function, scope=str(grant_scope), states=limit
    )
    return grant


def do_remove_grant(session: Session, who: Principal, role_id: int, *, function: str) -> None:
    require(who, MANAGE, Scope.ALL)
    role = _role(session, role_id)
    grant = next((g for g in role.grants if g.function == _function(function)), None)
    if grant is not None:
        role.grants.remove(grant)
        audit.record(session, "grant.removed", "role", role.id, by=who, function=function)
