"""Administration pages: organizations, users, teams, roles and grants (routing: ``admin_routing``).

Thin views: list what ``user.manage`` reaches (through ``restrict``), and hand every form to
one action of ``core.people`` through ``forms.submit``. Who may do what -- organizations,
roles and grants need scope ``all``; a partner's user manager sees only its company -- is
decided by those actions, never here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from servicehub.core import auth, people
from servicehub.core.models import Organization, OrgKind, Role, Scope, Team, User
from servicehub.core.permissions import FUNCTIONS, Forbidden, Principal, restrict
from servicehub.core.shifts import format_shifts
from servicehub.workbench import admin_routing, supervise
from servicehub.workbench.admin_layout import SECTIONS, show
from servicehub.workbench.forms import Form, principal, runtime_of, submit
from servicehub.workbench.security import guard

FN = people.MANAGE


@guard()
async def admin_index(request: Request) -> Response:
    who = principal(request)
    for _, href, function in SECTIONS:
        if who.can(function):
            return RedirectResponse(href, status_code=303)
    raise Forbidden("user.manage")


def _scoped(session: Session, who: Principal, model: type[Any], order: Any) -> list[Any]:
    return list(session.scalars(restrict(select(model).order_by(order), who, FN, model)))


# ---- organizations -------------------------------------------------------------------


@guard(FN)
async def orgs_page(request: Request) -> Response:
    def load(session: Session, who: Principal) -> dict[str, Any]:
        return {
            "orgs": _scoped(session, who, Organization, Organization.id),
            "kinds": [str(k) for k in OrgKind],
        }

    return await show(request, "admin/orgs.html", load)


@guard(FN)
async def org_create(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Form) -> None:
        people.do_create_org(session, who, name=form.text("name"), kind=form.text("kind"))

    return await submit(request, act, back="/admin/orgs")


# ---- users ---------------------------------------------------------------------------


@guard(FN)
async def users_page(request: Request) -> Response:
    runtime = runtime_of(request)

    def load(session: Session, who: Principal) -> dict[str, Any]:
        users = _scoped(session, who, User, User.id)
        return {
            "users": [(u, format_shifts(u.shifts or [])) for u in users],
            "locked": auth.locked_users(runtime, users),
            "orgs": _scoped(session, who, Organization, Organization.id),
            "teams": _scoped(session, who, Team, Team.id),
            "roles": list(session.scalars(select(Role).order_by(Role.id))),
            "can_roles": who.scope(FN) is Scope.ALL,
        }

    return await show(request, "admin/users.html", load)


@guard(FN)
async def user_create(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Form) -> None:
        people.do_create_user(
            session,
            who,
            org_id=form.number("org_id", 0) or 0,
            username=form.text("username", max_length=64),
            password=form.raw("password"),
            display_name=form.text("display_name", max_length=120),
            roles=form.strings("roles"),
        )

    return await submit(request, act, back="/admin/users")


@guard(FN)
async def user_update(request: Request) -> Response:
    user_id = int(request.path_params["user_id"])

    def act(session: Session, who: Principal, form: Form) -> None:
        people.do_update_user(
            session,
            who,
            user_id,
            display_name=form.text("display_name", max_length=120),
            is_active=form.flag("is_active"),
            capacity=form.number("capacity"),
            shifts=form.text("shifts"),
            team_ids=form.numbers("teams"),
            roles=form.strings("roles") if "roles_present" in form else None,
        )

    return await submit(request, act, back="/admin/users")


@guard(FN)
async def user_password_reset(request: Request) -> Response:
    user_id = int(request.path_params["user_id"])

    def act(session: Session, who: Principal, form: Form) -> None:
        auth.do_reset_password(session, who, user_id, new=form.raw("password"))

    return await submit(request, act, back="/admin/users", done="password_reset")


@guard(FN)
async def user_unlock(request: Request) -> Response:
    user_id = int(request.path_params["user_id"])
    runtime = runtime_of(request)

    def act(session: Session, who: Principal, form: Form) -> None:
        auth.do_unlock_login(session, runtime, who, user_id)

    return await submit(request, act, back="/admin/users", done="unlocked")


# ---- teams ---------------------------------------------------------------------------


@guard(FN)
async def teams_page(request: Request) -> Response:
    def load(session: Session, who: Principal) -> dict[str, Any]:
        teams = _scoped(session, who, Team, Team.id)
        users = _scoped(session, who, User, User.id)
        orgs = {o.id: o for o in _scoped(session, who, Organization, Organization.id)}
        members = {t.id: sorted(u.id for u in users if t in u.teams) for t in teams}
        return {"teams": teams, "users": users, "orgs": orgs, "members": members}

    return await show(request, "admin/teams.html", load)


@guard(FN)
async def team_create(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Form) -> None:
        people.do_create_team(session, who, org_id=form.number("org_id", 0) or 0, name=form.text("name"))

    return await submit(request, act, back="/admin/teams")


@guard(FN)
async def team_members(request: Request) -> Response:
    team_id = int(request.path_params["team_id"])

    def act(session: Session, who: Principal, form: Form) -> None:
        people.do_set_team_members(session, who, team_id, form.numbers("user_ids"))

    return await submit(request, act, back="/admin/teams")


# ---- roles and grants ----------------------------------------------------------------


@guard(FN)
async def roles_page(request: Request) -> Response:
    def load(session: Session, who: Principal) -> dict[str, Any]:
        if who.scope(FN) is not Scope.ALL:
            raise Forbidden(FN)
        roles = list(session.scalars(select(Role).order_by(Role.id)))
        return {"roles": roles, "functions": FUNCTIONS, "scopes": [str(s) for s in Scope]}

    return await show(request, "admin/roles.html", load)


@guard(FN)
async def role_create(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Form) -> None:
        people.do_create_role(session, who, name=form.text("name", max_length=64), label=form.text("label"))

    return await submit(request, act, back="/admin/roles")


@guard(FN)
async def role_grant(request: Request) -> Response:
    """Add, change (scope, states) or remove one grant of a role."""
    role_id = int(request.path_params["role_id"])

    def act(session: Session, who: Principal, form: Form) -> None:
        function = form.text("function", max_length=64)
        if form.text("remove"):
            people.do_remove_grant(session, who, role_id, function=function)
        else:
            people.do_set_grant(
                session,
                who,
                role_id,
                function=function,
                scope=form.text("scope", default=str(Scope.OWN)),
                states=form.text("states").split(","),
            )

    return await submit(request, act, back="/admin/roles")


ROUTES: list[BaseRoute] = [
    Route("/admin", admin_index),
    Route("/admin/orgs", orgs_page),
    Route("/admin/orgs", org_create, methods=["POST"]),
    Route("/admin/users", users_page),
    Route("/admin/users", user_create, methods=["POST"]),
    Route("/admin/users/{user_id:id}", user_update, methods=["POST"]),
    Route("/admin/users/{user_id:id}/password", user_password_reset, methods=["POST"]),
    Route("/admin/users/{user_id:id}/unlock", user_unlock, methods=["POST"]),
    Route("/admin/teams", teams_page),
    Route("/admin/teams", team_create, methods=["POST"]),
    Route("/admin/teams/{team_id:id}/members", team_members, methods=["POST"]),
    Route("/admin/roles", roles_page),
    Route("/admin/roles", role_create, methods=["POST"]),
    Route("/admin/roles/{role_id:id}/grants", role_grant, methods=["POST"]),
    *admin_routing.ROUTES,
    *supervise.ROUTES,
]
