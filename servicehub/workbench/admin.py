"""Administration pages: organizations, users, teams, roles and grants (routing: ``admin_routing``).

Thin views: authorize (``user.manage``; roles, grants and organizations need it at scope
``all``), validate, change, audit, redirect. Lists go through ``restrict`` like every other
query, so an organization-scoped user manager sees and edits only its own company; an id
outside the scope answers 404. Every change is one audit event naming the actor.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from servicehub.core import audit
from servicehub.core.models import Grant, Organization, OrgKind, RequestState, Role, Scope, Team, User
from servicehub.core.permissions import FUNCTIONS, Principal, restrict
from servicehub.core.users import create_user
from servicehub.routing.access import Forbidden, NotVisible
from servicehub.routing.presence import format_shifts, parse_shifts
from servicehub.workbench import admin_routing, supervise
from servicehub.workbench.admin_forms import SECTIONS, AdminError, change, ints, ip_of, need_all, show
from servicehub.workbench.pages import principal
from servicehub.workbench.security import guard


@guard()
async def admin_index(request: Request) -> Response:
    who = principal(request)
    for _, href, function in SECTIONS:
        if who.can(function):
            return RedirectResponse(href, status_code=303)
    raise Forbidden("user.manage")


# ---- organizations -------------------------------------------------------------------


@guard("user.manage")
async def orgs_page(request: Request) -> Response:
    def load(session: Session, who: Principal) -> dict[str, Any]:
        stmt = restrict(select(Organization).order_by(Organization.id), who, "user.manage", Organization)
        return {"orgs": list(session.scalars(stmt)), "kinds": [str(k) for k in OrgKind]}

    return await show(request, "admin/orgs.html", load)


@guard("user.manage")
async def org_create(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Any) -> None:
        need_all(who, "user.manage")
        name, kind = str(form.get("name", "")).strip(), str(form.get("kind", OrgKind.PARTNER))
        if not name or len(name) > 120:
            raise AdminError("name: 1-120")
        if session.scalars(select(Organization).where(Organization.name == name)).first():
            raise AdminError(f"{name} exists")
        org = Organization(name=name, kind=OrgKind(kind))
        session.add(org)
        session.flush()
        audit.record(
            session,
            "org.created",
            "organization",
            org.id,
            actor_id=who.user_id,
            ip=ip_of(request),
            name=name,
            kind=kind,
        )

    return await change(request, act, "/admin/orgs")


# ---- users ---------------------------------------------------------------------------


def _scoped_user(session: Session, who: Principal, user_id: int) -> User:
    user = session.scalars(restrict(select(User).where(User.id == user_id), who, "user.manage", User)).first()
    if user is None:
        raise NotVisible(f"user {user_id}")
    return user


def _scoped_org(session: Session, who: Principal, org_id: int) -> Organization:
    stmt = restrict(select(Organization).where(Organization.id == org_id), who, "user.manage", Organization)
    org = session.scalars(stmt).first()
    if org is None:
        raise NotVisible(f"organization {org_id}")
    return org


@guard("user.manage")
async def users_page(request: Request) -> Response:
    def load(session: Session, who: Principal) -> dict[str, Any]:
        users = list(session.scalars(restrict(select(User).order_by(User.id), who, "user.manage", User)))
        orgs = list(session.scalars(restrict(select(Organization), who, "user.manage", Organization)))
        teams = list(session.scalars(restrict(select(Team).order_by(Team.id), who, "user.manage", Team)))
        roles = list(session.scalars(select(Role).order_by(Role.id)))
        return {
            "users": [(u, format_shifts(u.shifts or [])) for u in users],
            "orgs": orgs,
            "teams": teams,
            "roles": roles,
            "can_roles": who.scope("user.manage") is Scope.ALL,
        }

    return await show(request, "admin/users.html", load)


@guard("user.manage")
async def user_create(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Any) -> None:
        org = _scoped_org(session, who, int(form.get("org_id") or 0))
        roles = [str(r) for r in form.getlist("roles")]
        if roles:
            need_all(who, "user.manage")
        create_user(
            session,
            str(form.get("username", "")),
            str(form.get("password", "")),
            org=org,
            roles=roles,
            display_name=str(form.get("display_name", "")).strip() or None,
            actor_id=who.user_id,
        )

    return await change(request, act, "/admin/users")


@guard("user.manage")
async def user_update(request: Request) -> Response:
    user_id = int(request.path_params["user_id"])

    def act(session: Session, who: Principal, form: Any) -> None:
        user = _scoped_user(session, who, user_id)
        before = _user_state(user)
        user.display_name = (
            str(form.get("display_name", user.display_name)).strip()[:120] or user.display_name
        )
        user.is_active = form.get("is_active") == "on"
        capacity = int(form.get("capacity") or user.capacity)
        if not 0 <= capacity <= 500:
            raise AdminError("capacity: 0-500")
        user.capacity = capacity
        user.shifts = parse_shifts(str(form.get("shifts", "")))
        teams = ints(form.getlist("teams"))
        scoped_teams = list(
            session.scalars(restrict(select(Team).where(Team.id.in_(teams)), who, "user.manage", Team))
        )
        if len(scoped_teams) != len(teams):
            raise NotVisible("team")
        user.teams = scoped_teams
        if "roles" in form or form.get("roles_present"):
            wanted = sorted(str(r) for r in form.getlist("roles"))
            if wanted != sorted(r.name for r in user.roles):
                need_all(who, "user.manage")
                user.roles = list(session.scalars(select(Role).where(Role.name.in_(wanted))))
        if user.id == who.user_id and not user.is_active:
            raise AdminError("you cannot deactivate yourself")
        after = _user_state(user)
        changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        if changed:
            audit.record(
                session,
                "user.updated",
                "user",
                user.id,
                actor_id=who.user_id,
                ip=ip_of(request),
                changed=changed,
            )

    return await change(request, act, "/admin/users")


def _user_state(user: User) -> dict[str, Any]:
    return {
        "display_name": user.display_name,
        "is_active": user.is_active,
        "capacity": user.capacity,
        "shifts": list(user.shifts or []),
        "teams": sorted(t.id for t in user.teams),
        "roles": sorted(r.name for r in user.roles),
    }


# ---- teams ---------------------------------------------------------------------------


@guard("user.manage")
async def teams_page(request: Request) -> Response:
    def load(session: Session, who: Principal) -> dict[str, Any]:
        teams = list(session.scalars(restrict(select(Team).order_by(Team.id), who, "user.manage", Team)))
        users = list(session.scalars(restrict(select(User).order_by(User.id), who, "user.manage", User)))
        orgs = {
            o.id: o for o in session.scalars(restrict(select(Organization), who, "user.manage", Organization))
        }
        members = {t.id: sorted(u.id for u in users if t in u.teams) for t in teams}
        return {"teams": teams, "users": users, "orgs": orgs, "members": members}

    return await show(request, "admin/teams.html", load)


@guard("user.manage")
async def team_create(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Any) -> None:
        org = _scoped_org(session, who, int(form.get("org_id") or 0))
        name = str(form.get("name", "")).strip()
        if not name or len(name) > 120:
            raise AdminError("name: 1-120")
        if session.scalars(select(Team).where(Team.org_id == org.id, Team.name == name)).first():
            raise AdminError(f"{name} exists")
        team = Team(name=name, org_id=org.id)
        session.add(team)
        session.flush()
        audit.record(
            session,
            "team.created",
            "team",
            team.id,
            actor_id=who.user_id,
            ip=ip_of(request),
            name=name,
            org_id=org.id,
        )

    return await change(request, act, "/admin/teams")


@guard("user.manage")
async def team_members(request: Request) -> Response:
    team_id = int(request.path_params["team_id"])

    def act(session: Session, who: Principal, form: Any) -> None:
        team = session.scalars(
            restrict(select(Team).where(Team.id == team_id), who, "user.manage", Team)
        ).first()
        if team is None:
            raise NotVisible(f"team {team_id}")
        wanted = set(ints(form.getlist("user_ids")))
        users = list(
            session.scalars(restrict(select(User).where(User.id.in_(wanted)), who, "user.manage", User))
        )
        if len(users) != len(wanted):
            raise NotVisible("user")
        current = set(session.scalars(select(User).where(User.teams.any(Team.id == team.id))))
        for user in current - set(users):
            user.teams.remove(team)
        for user in set(users) - current:
            user.teams.append(team)
        audit.record(
            session,
            "team.members",
            "team",
            team.id,
            actor_id=who.user_id,
            ip=ip_of(request),
            members=sorted(wanted),
        )

    return await change(request, act, "/admin/teams")


# ---- roles and grants ----------------------------------------------------------------


@guard("user.manage")
async def roles_page(request: Request) -> Response:
    def load(session: Session, who: Principal) -> dict[str, Any]:
        need_all(who, "user.manage")
        roles = list(session.scalars(select(Role).order_by(Role.id)))
        return {"roles": roles, "functions": FUNCTIONS, "scopes": [str(s) for s in Scope]}

    return await show(request, "admin/roles.html", load)


@guard("user.manage")
async def role_create(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Any) -> None:
        need_all(who, "user.manage")
        name, label = str(form.get("name", "")).strip(), str(form.get("label", "")).strip()
        if not name or len(name) > 64 or not label:
            raise AdminError("name: 1-64, label required")
        if session.scalars(select(Role).where(Role.name == name)).first():
            raise AdminError(f"{name} exists")
        role = Role(name=name, label=label[:120])
        session.add(role)
        session.flush()
        audit.record(
            session, "role.created", "role", role.id, actor_id=who.user_id, ip=ip_of(request), name=name
        )

    return await change(request, act, "/admin/roles")


@guard("user.manage")
async def role_grant(request: Request) -> Response:
    """Add, change (scope, states) or remove one grant of a role."""
    role_id = int(request.path_params["role_id"])

    def act(session: Session, who: Principal, form: Any) -> None:
        need_all(who, "user.manage")
        role = session.get(Role, role_id)
        if role is None:
            raise NotVisible(f"role {role_id}")
        function = str(form.get("function", ""))
        if function not in FUNCTIONS:
            raise AdminError(f"unknown function {function!r}")
        grant = next((g for g in role.grants if g.function == function), None)
        if form.get("remove"):
            if grant is not None:
                role.grants.remove(grant)
                audit.record(
                    session,
                    "grant.removed",
                    "role",
                    role.id,
                    actor_id=who.user_id,
                    ip=ip_of(request),
                    function=function,
                )
            return
        scope = Scope(str(form.get("scope", Scope.OWN)))
        states = sorted({s.strip() for s in str(form.get("states", "")).split(",") if s.strip()})
        unknown = set(states) - {str(s) for s in RequestState}
        if unknown:
            raise AdminError(f"unknown state(s): {', '.join(sorted(unknown))}")
        if grant is None:
            role.grants.append(Grant(function=function, scope=scope, states=states))
        else:
            grant.scope, grant.states = scope, states
        audit.record(
            session,
            "grant.set",
            "role",
            role.id,
            actor_id=who.user_id,
            ip=ip_of(request),
            function=function,
            scope=str(scope),
            states=states,
        )

    return await change(request, act, "/admin/roles")


ROUTES: list[BaseRoute] = [
    Route("/admin", admin_index),
    Route("/admin/orgs", orgs_page),
    Route("/admin/orgs", org_create, methods=["POST"]),
    Route("/admin/users", users_page),
    Route("/admin/users", user_create, methods=["POST"]),
    Route("/admin/users/{user_id:int}", user_update, methods=["POST"]),
    Route("/admin/teams", teams_page),
    Route("/admin/teams", team_create, methods=["POST"]),
    Route("/admin/teams/{team_id:int}/members", team_members, methods=["POST"]),
    Route("/admin/roles", roles_page),
    Route("/admin/roles", role_create, methods=["POST"]),
    Route("/admin/roles/{role_id:int}/grants", role_grant, methods=["POST"]),
    *admin_routing.ROUTES,
    *supervise.ROUTES,
]
