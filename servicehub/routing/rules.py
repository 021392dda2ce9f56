"""Which policy and which pool of people serve a request: listening tasks, rules, accounts.

Resolution, in order:

1. the listening tasks the request's messages match (keywords heard on the task's accounts,
   or a ``listen:<task id>`` tag the filters put on the message);
2. the first active :class:`RoutingRule` (by position) whose task, tag or keyword matches
   sends the request to the rule's team;
3. otherwise a matched listening task with people or a team serves it;
4. otherwise the account's operators.

The strategy comes from the matched task's :class:`RoutingPolicy`, else the account's,
else ``[routing].strategy``. Who in the pool may actually be handed the request (active,
allowed to see the account, on duty, on shift, with room) is decided in ``assign``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core.lookup import one_of
from servicehub.core.models import (
    AccountOperator,
    ListeningTask,
    Message,
    RoutingPolicy,
    RoutingRule,
    ServiceRequest,
    Strategy,
    user_teams,
)
from servicehub.core.runtime import Runtime
from servicehub.filters.keywords import hears


@dataclass(frozen=True)
class Policy:
    strategy: Strategy
    sticky: bool
    source: str  # "task:3", "account:1" or "default"


@dataclass(frozen=True)
class Plan:
    """Where a request goes: the policy, the pool of people, and the rule/tasks that said so."""

    request_id: int
    policy: Policy
    pool: str  # "team:2", "task:3" or "account:1"
    user_ids: tuple[int, ...]
    rule: dict[str, Any] | None = None
    tasks: tuple[int, ...] = ()
    team_id: int | None = None
    # The account's operators, when the pool is a rule's team or a task's people: they serve
    # the request if nobody in the pool may ever see its account (see ``assign.NEVER``).
    fallback_ids: tuple[int, ...] = ()


@dataclass
class RoutingConfig:
    """Rules, policies and active listening tasks, read once per batch."""

    rules: list[RoutingRule]
    policies: dict[str, RoutingPolicy]
    tasks: list[ListeningTask]
    default: Strategy
    _team_members: dict[int, tuple[int, ...]] = field(default_factory=dict)
    _operators: dict[int, tuple[int, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, runtime: Runtime) -> RoutingConfig:
        rules = list(
            session.scalars(
                select(RoutingRule)
                .where(RoutingRule.is_active.is_(True))
                .order_by(RoutingRule.position, RoutingRule.id)
            )
        )
        policies = {}
        for p in session.scalars(select(RoutingPolicy)):
            key = f"account:{p.account_id}" if p.account_id is not None else f"task:{p.listening_task_id}"
            policies[key] = p
        tasks = list(session.scalars(select(ListeningTask).where(ListeningTask.is_active.is_(True))))
        try:
            default = Strategy(runtime.settings.routing.strategy)
        except ValueError:
            default = Strategy.ROUND_ROBIN
        return cls(rules=rules, policies=policies, tasks=tasks, default=default)

    def team_members(self, session: Session, team_id: int) -> tuple[int, ...]:
        if team_id not in self._team_members:
            self._team_members[team_id] = tuple(
                session.scalars(
                    select(user_teams.c.user_id)
                    .where(user_teams.c.team_id == team_id)
                    .order_by(user_teams.c.user_id)
                )
            )
        return self._team_members[team_id]

    def operators(self, session: Session, account_id: int) -> tuple[int, ...]:
        if account_id not in self._operators:
            self._operators[account_id] = tuple(
                session.scalars(
                    select(AccountOperator.user_id)
                    .where(AccountOperator.account_id == account_id)
                    .order_by(AccountOperator.user_id)
                )
            )
        return self._operators[account_id]


def heard(session: Session, request_ids: Sequence[int]) -> dict[int, tuple[str, set[str]]]:
    """Per request: its messages' text joined, and their tags."""
    found: dict[int, tuple[list[str], set[str]]] = {rid: ([], set()) for rid in request_ids}
    rows = session.execute(
        select(Message.request_id, Message.text, Message.tags).where(
            one_of(session, Message.request_id, request_ids)
        )
    )
    for rid, text, tags in rows:
        if rid in found:
            found[rid][0].append(text)
            found[rid][1].update(tags or ())
    return {rid: ("\n".join(texts), tags) for rid, (texts, tags) in found.items()}


def matching_tasks(tasks: Iterable[ListeningTask], account_id: int, text: str, tags: set[str]) -> list[int]:
    out = []
    for task in tasks:
        on_account = not task.account_ids or account_id in task.account_ids
        tagged = f"listen:{task.id}" in tags
        if tagged or (on_account and any(hears(k, text) for k in task.keywords)):
            out.append(task.id)
    return out


def _rule_matches(rule: RoutingRule, account_id: int, text: str, tags: set[str], tasks: list[int]) -> bool:
    if rule.account_id is not None and rule.account_id != account_id:
        return False
    conditions = [
        rule.listening_task_id is None or rule.listening_task_id in tasks,
        not rule.tag or rule.tag in tags,
        not rule.keyword or hears(rule.keyword, text),
    ]
    named = rule.listening_task_id is not None or bool(rule.tag) or bool(rule.keyword)
    return named and all(conditions)


def plan(
    session: Session,
    config: RoutingConfig,
    request: ServiceRequest,
    text: str = "",
    tags: set[str] | None = None,
) -> Plan:
    tags = tags or set()
    tasks = matching_tasks(config.tasks, request.account_id, text, tags)
    policy = Policy(config.default, True, "default")
    for key in [*(f"task:{t}" for t in tasks), f"account:{request.account_id}"]:
        found = config.policies.get(key)
        if found is not None:
            policy = Policy(Strategy(found.strategy), found.sticky, key)
            break
    for rule in config.rules:
        if _rule_matches(rule, request.account_id, text, tags, tasks):
            return Plan(
                request.id,
                policy,
                f"team:{rule.team_id}",
                config.team_members(session, rule.team_id),
                rule={"id": rule.id, "name": rule.name, "team_id": rule.team_id},
                tasks=tuple(tasks),
                team_id=rule.team_id,
                fallback_ids=config.operators(session, request.account_id),
            )
    by_id = {t.id: t for t in config.tasks}
    for task_id in tasks:
        task = by_id[task_id]
        people = set(task.user_ids or ())
        if task.team_id is not None:
            people.update(config.team_members(session, task.team_id))
        if people:
            return Plan(
                request.id,
                policy,
                f"task:{task_id}",
                tuple(sorted(people)),
                tasks=tuple(tasks),
                team_id=task.team_id,
                fallback_ids=config.operators(session, request.account_id),
            )
    return Plan(
        request.id,
        policy,
        f"account:{request.account_id}",
        config.operators(session, request.account_id),
        tasks=tuple(tasks),
    )
