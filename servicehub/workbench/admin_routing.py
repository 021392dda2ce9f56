"""Administration of routing: policies per account / listening task, team rules, listening tasks.

Thin views over ``routing.config`` and ``listener.listening``: they list what ``rule.manage``
reaches (through ``restrict``) and hand each form to one action through ``forms.submit``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from servicehub.core.models import (
    Account,
    ListeningTask,
    RoutingPolicy,
    RoutingRule,
    Scope,
    Strategy,
    Team,
    User,
)
from servicehub.core.permissions import Principal, restrict
from servicehub.listener import lexicon, listening
from servicehub.routing import config
from servicehub.workbench.admin_layout import show
from servicehub.workbench.forms import Form, submit
from servicehub.workbench.security import guard

FN = config.MANAGE


def _scoped(session: Session, who: Principal, model: type[Any], *order: Any) -> list[Any]:
    return list(session.scalars(restrict(select(model).order_by(*order), who, FN, model)))


def _listing(session: Session, who: Principal) -> dict[str, Any]:
    accounts = _scoped(session, who, Account, Account.id)
    teams = _scoped(session, who, Team, Team.id)
    tasks = _scoped(session, who, ListeningTask, ListeningTask.id)
    return {
        "accounts": accounts,
        "teams": teams,
        "tasks": tasks,
        "strategies": [str(s) for s in Strategy],
        # Names for ids a row refers to; a name the viewer may not see is not listed.
        "account_names": {a.id: a.display_name for a in accounts},
        "team_names": {t.id: t.name for t in teams},
        "task_names": {k.id: k.name for k in tasks},
    }


@guard(FN)
async def routing_page(request: Request) -> Response:
    def load(session: Session, who: Principal) -> dict[str, Any]:
        data = _listing(session, who)
        data["policies"] = _scoped(session, who, RoutingPolicy, RoutingPolicy.id)
        data["rules"] = _scoped(session, who, RoutingRule, RoutingRule.position, RoutingRule.id)
        return data

    return await show(request, "admin/routing.html", load)


@guard(FN)
async def policy_set(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Form) -> None:
        account_id, task_id = form.number("account_id"), form.number("listening_task_id")
        if form.text("remove"):
            config.do_remove_policy(session, who, account_id=account_id, task_id=task_id)
        else:
            config.do_set_policy(
                session,
                who,
                account_id=account_id,
                task_id=task_id,
                strategy=form.text("strategy", default=str(Strategy.ROUND_ROBIN)),
                sticky=form.flag("sticky"),
            )

    return await submit(request, act, back="/admin/routing")


@guard(FN)
async def rule_create(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Form) -> None:
        config.do_create_rule(
            session,
            who,
            name=form.text("name", max_length=120),
            team_id=form.number("team_id"),
            account_id=form.number("account_id"),
            task_id=form.number("listening_task_id"),
            tag=form.text("tag", max_length=64),
            keyword=form.text("keyword", max_length=64),
            position=form.number("position"),
        )

    return await submit(request, act, back="/admin/routing")


@guard(FN)
async def rule_update(request: Request) -> Response:
    rule_id = int(request.path_params["rule_id"])

    def act(session: Session, who: Principal, form: Form) -> None:
        if form.text("remove"):
            config.do_remove_rule(session, who, rule_id)
        else:
            config.do_update_rule(
                session, who, rule_id, is_active=form.flag("is_active"), position=form.number("position")
            )

    return await submit(request, act, back="/admin/routing")


@guard(FN)
async def listening_page(request: Request) -> Response:
    def load(session: Session, who: Principal) -> dict[str, Any]:
        data = _listing(session, who)
        data["users"] = _scoped(session, who, User, User.id)
        return data

    return await show(request, "admin/listening.html", load)


def _task_fields(form: Form) -> listening.TaskFields:
    return listening.TaskFields(
        name=form.text("name", max_length=120),
        keywords=form.words("keywords"),
        account_ids=form.numbers("account_ids"),
        user_ids=form.numbers("user_ids"),
        team_id=form.number("team_id"),
        is_active=form.flag("is_active"),
    )


@guard(FN)
async def task_create(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Form) -> None:
        listening.do_create_listening_task(session, who, _task_fields(form))

    return await submit(request, act, back="/admin/listening")


@guard(FN)
async def task_update(request: Request) -> Response:
    task_id = int(request.path_params["task_id"])

    def act(session: Session, who: Principal, form: Form) -> None:
        if form.text("delete"):
            listening.do_delete_listening_task(session, who, task_id)
        else:
            listening.do_update_listening_task(session, who, task_id, _task_fields(form))

    return await submit(request, act, back="/admin/listening", done="saved")


@guard(FN)
async def terms_page(request: Request) -> Response:
    def load(session: Session, who: Principal) -> dict[str, Any]:
        return {"terms": lexicon.list_terms(session), "can_edit": who.scope(FN) is Scope.ALL}

    return await show(request, "admin/terms.html", load)


@guard(FN)
async def terms_add(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Form) -> None:
        text = form.text("terms", max_length=4000).replace("，", "\n").replace(",", "\n")
        lexicon.do_add_terms(session, who, text.splitlines())

    return await submit(request, act, back="/admin/terms")


@guard(FN)
async def term_remove(request: Request) -> Response:
    term_id = int(request.path_params["term_id"])

    def act(session: Session, who: Principal, form: Form) -> None:
        lexicon.do_remove_term(session, who, term_id)

    return await submit(request, act, back="/admin/terms")


ROUTES: list[BaseRoute] = [
    Route("/admin/routing", routing_page),
    Route("/admin/routing/policies", policy_set, methods=["POST"]),
    Route("/admin/routing/rules", rule_create, methods=["POST"]),
    Route("/admin/routing/rules/{rule_id:id}", rule_update, methods=["POST"]),
    Route("/admin/listening", listening_page),
    Route("/admin/listening", task_create, methods=["POST"]),
    Route("/admin/listening/{task_id:id}", task_update, methods=["POST"]),
    Route("/admin/terms", terms_page),
    Route("/admin/terms", terms_add, methods=["POST"]),
    Route("/admin/terms/{term_id:id}/remove", term_remove, methods=["POST"]),
]
