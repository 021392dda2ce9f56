"""Administration of routing: policies per account / listening task, team rules, listening tasks.

Needs ``rule.manage``. Lists and lookups go through ``restrict``: an organization-scoped
rule manager sees the rules and listening tasks of its own teams and the policies of its
own accounts only. Every change is audited; the routing reads these rows on each batch, so
a change takes effect with the next assignment.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from servicehub.core import audit
from servicehub.core.models import Account, ListeningTask, RoutingPolicy, RoutingRule, Strategy, Team, User
from servicehub.core.permissions import Principal, restrict
from servicehub.routing.access import NotVisible
from servicehub.workbench.admin_forms import AdminError, change, ip_of, show
from servicehub.workbench.security import guard

FN = "rule.manage"


def _one(session: Session, who: Principal, model: type[Any], row_id: int | None) -> Any:
    if row_id is None:
        return None
    row = session.scalars(restrict(select(model).where(model.id == row_id), who, FN, model)).first()
    if row is None:
        raise NotVisible(f"{model.__name__} {row_id}")
    return row


def _opt_int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text else None


def _ids(values: list[Any]) -> list[int]:
    return sorted({int(v) for v in values if str(v).strip()})


def _words(text: Any) -> list[str]:
    return sorted({w.strip() for w in str(text or "").replace("，", ",").split(",") if w.strip()})


def _listing(session: Session, who: Principal) -> dict[str, Any]:
    return {
        "accounts": list(session.scalars(restrict(select(Account).order_by(Account.id), who, FN, Account))),
        "teams": list(session.scalars(restrict(select(Team).order_by(Team.id), who, FN, Team))),
        "tasks": list(
            session.scalars(
                restrict(select(ListeningTask).order_by(ListeningTask.id), who, FN, ListeningTask)
            )
        ),
        "strategies": [str(s) for s in Strategy],
    }


async def routing_page(request: Request) -> Response:
    def load(session: Session, who: Principal) -> dict[str, Any]:
        data = _listing(session, who)
        data["policies"] = list(
            session.scalars(
                restrict(select(RoutingPolicy).order_by(RoutingPolicy.id), who, FN, RoutingPolicy)
            )
        )
        data["rules"] = list(
            session.scalars(
                restrict(
                    select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id), who, FN, RoutingRule
                )
            )
        )
        return data

    return await show(request, "admin/routing.html", load)


async def policy_set(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Any) -> None:
        account = _one(session, who, Account, _opt_int(form.get("account_id")))
        task = _one(session, who, ListeningTask, _opt_int(form.get("listening_task_id")))
        if (account is None) == (task is None):
            raise AdminError("choose an account or a listening task")
        column = RoutingPolicy.account_id if account is not None else RoutingPolicy.listening_task_id
        target = account or task
        policy = session.scalars(select(RoutingPolicy).where(column == target.id)).first()
        if form.get("remove"):
            if policy is not None:
                session.delete(policy)
            audit.record(
                session,
                "routing.policy_removed",
                "routing_policy",
                target.id,
                actor_id=who.user_id,
                ip=ip_of(request),
                account_id=getattr(account, "id", None),
                listening_task_id=getattr(task, "id", None),
            )
            return
        strategy, sticky = (
            Strategy(str(form.get("strategy", Strategy.ROUND_ROBIN))),
            form.get("sticky") == "on",
        )
        if policy is None:
            policy = RoutingPolicy(
                account_id=getattr(account, "id", None), listening_task_id=getattr(task, "id", None)
            )
            session.add(policy)
        policy.strategy, policy.sticky = strategy, sticky
        session.flush()
        audit.record(
            session,
            "routing.policy_set",
            "routing_policy",
            policy.id,
            actor_id=who.user_id,
            ip=ip_of(request),
            account_id=policy.account_id,
            listening_task_id=policy.listening_task_id,
            strategy=str(strategy),
            sticky=sticky,
        )

    return await change(request, act, "/admin/routing")


async def rule_create(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Any) -> None:
        team = _one(session, who, Team, _opt_int(form.get("team_id")))
        account = _one(session, who, Account, _opt_int(form.get("account_id")))
        task = _one(session, who, ListeningTask, _opt_int(form.get("listening_task_id")))
        tag = str(form.get("tag", "")).strip()[:64] or None
        keyword = str(form.get("keyword", "")).strip()[:64] or None
        name = str(form.get("name", "")).strip()[:120]
        if team is None or not name:
            raise AdminError("a name and a team are required")
        if task is None and tag is None and keyword is None:
            raise AdminError("a rule needs a listening task, a tag or a keyword")
        rule = RoutingRule(
            name=name,
            position=_opt_int(form.get("position")) or 100,
            team_id=team.id,
            account_id=getattr(account, "id", None),
            listening_task_id=getattr(task, "id", None),
            tag=tag,
            keyword=keyword,
        )
        session.add(rule)
        session.flush()
        audit.record(
            session,
            "routing.rule_created",
            "routing_rule",
            rule.id,
            actor_id=who.user_id,
            ip=ip_of(request),
            name=name,
            team_id=team.id,
            tag=tag,
            keyword=keyword,
            listening_task_id=rule.listening_task_id,
            account_id=rule.account_id,
        )

    return await change(request, act, "/admin/routing")


async def rule_update(request: Request) -> Response:
    rule_id = int(request.path_params["rule_id"])

    def act(session: Session, who: Principal, form: Any) -> None:
        rule = _one(session, who, RoutingRule, rule_id)
        if form.get("remove"):
            session.delete(rule)
            audit.record(
                session,
                "routing.rule_removed",
                "routing_rule",
                rule_id,
                actor_id=who.user_id,
                ip=ip_of(request),
                name=rule.name,
            )
            return
        rule.is_active = form.get("is_active") == "on"
        rule.position = _opt_int(form.get("position")) or rule.position
        audit.record(
            session,
            "routing.rule_updated",
            "routing_rule",
            rule_id,
            actor_id=who.user_id,
            ip=ip_of(request),
            is_active=rule.is_active,
            position=rule.position,
        )

    return await change(request, act, "/admin/routing")


async def listening_page(request: Request) -> Response:
    def load(session: Session, who: Principal) -> dict[str, Any]:
        data = _listing(session, who)
        data["users"] = list(session.scalars(restrict(select(User).order_by(User.id), who, FN, User)))
        return data

    return await show(request, "admin/listening.html", load)


def _task_fields(session: Session, who: Principal, form: Any) -> dict[str, Any]:
    accounts = _ids(form.getlist("account_ids"))
    users = _ids(form.getlist("user_ids"))
    for account_id in accounts:
        _one(session, who, Account, account_id)
    for user_id in users:
        _one(session, who, User, user_id)
    team = _one(session, who, Team, _opt_int(form.get("team_id")))
    keywords = _words(form.get("keywords"))
    name = str(form.get("name", "")).strip()[:120]
    if not name or not keywords:
        raise AdminError("a name and at least one keyword are required")
    return {
        "name": name,
        "keywords": keywords,
        "account_ids": accounts,
        "user_ids": users,
        "team_id": getattr(team, "id", None),
        "is_active": form.get("is_active", "on") == "on",
    }


async def task_create(request: Request) -> Response:
    def act(session: Session, who: Principal, form: Any) -> None:
        fields = _task_fields(session, who, form)
        task = ListeningTask(**fields)
        session.add(task)
        session.flush()
        audit.record(
            session,
            "listening.created",
            "listening_task",
            task.id,
            actor_id=who.user_id,
            ip=ip_of(request),
            **fields,
        )

    return await change(request, act, "/admin/listening")


async def task_update(request: Request) -> Response:
    task_id = int(request.path_params["task_id"])

    def act(session: Session, who: Principal, form: Any) -> None:
        task = _one(session, who, ListeningTask, task_id)
        fields = _task_fields(session, who, form)
        for key, value in fields.items():
            setattr(task, key, value)
        audit.record(
            session,
            "listening.updated",
            "listening_task",
            task.id,
            actor_id=who.user_id,
            ip=ip_of(request),
            **fields,
        )

    return await change(request, act, "/admin/listening")


def _guarded(view: Any) -> Any:
    return guard(FN)(view)


ROUTES: list[BaseRoute] = [
    Route("/admin/routing", _guarded(routing_page)),
    Route("/admin/routing/policies", _guarded(policy_set), methods=["POST"]),
    Route("/admin/routing/rules", _guarded(rule_create), methods=["POST"]),
    Route("/admin/routing/rules/{rule_id:int}", _guarded(rule_update), methods=["POST"]),
    Route("/admin/listening", _guarded(listening_page)),
    Route("/admin/listening", _guarded(task_create), methods=["POST"]),
    Route("/admin/listening/{task_id:int}", _guarded(task_update), methods=["POST"]),
]
