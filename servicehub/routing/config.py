"""Actions on routing configuration: policies per account or listening task, and team rules.

Needs ``rule.manage``. Every row an action names (account, listening task, team, rule) is
read through ``access``, so an organization-scoped rule manager can only point its own
accounts and tasks at its own teams; routing reads these rows on every batch, so a change
takes effect with the next assignment. Every change is audited.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.errors import ActionError
from servicehub.core.models import Account, ListeningTask, RoutingPolicy, RoutingRule, Strategy, Team
from servicehub.core.permissions import Principal, access

MANAGE = "rule.manage"
DEFAULT_POSITION = 100


def _strategy(value: str) -> Strategy:
    try:
        return Strategy(value)
    except ValueError:
        raise ActionError("invalid_choice", f"unknown strategy {value!r}", field="strategy") from None


def _target(
    session: Session, who: Principal, account_id: int | None, task_id: int | None
) -> tuple[Account | None, ListeningTask | None]:
    if (account_id is None) == (task_id is None):
        raise ActionError("policy_target", "choose an account or a listening task")
    account = access(session, who, Account, account_id, MANAGE) if account_id is not None else None
    task = access(session, who, ListeningTask, task_id, MANAGE) if task_id is not None else None
    return account, task


def do_set_policy(
    session: Session,
    who: Principal,
    *,
    account_id: int | None,
    task_id: int | None,
    strategy: str,
    sticky: bool,
) -> RoutingPolicy:
    """How requests of one account (or of one listening task) are distributed."""
    account, _ = _target(session, who, account_id, task_id)
    chosen = _strategy(strategy)
    column = RoutingPolicy.account_id if account is not None else RoutingPolicy.listening_task_id
    policy = session.scalars(select(RoutingPolicy).where(column == (account_id or task_id))).first()
    if policy is None:
        policy = RoutingPolicy(account_id=account_id, listening_task_id=task_id)
        session.add(policy)
    policy.strategy, policy.sticky = chosen, sticky
    session.flush()
    audit.record(
        session,
        "routing.policy_set",
        "routing_policy",
        policy.id,
        by=who,
        account_id=account_id,
        listening_task_id=task_id,
        strategy=str(chosen),
        sticky=sticky,
    )
    return policy


def do_remove_policy(
    session: Session, who: Principal, *, account_id: int | None, task_id: int | None
) -> None:
    """Back to the default strategy for this account or listening task."""
    _target(session, who, account_id, task_id)
    column = RoutingPolicy.account_id if account_id is not None else RoutingPolicy.listening_task_id
    policy = session.scalars(select(RoutingPolicy).where(column == (account_id or task_id))).first()
    if policy is not None:
        session.delete(policy)
    audit.record(
        session,
        "routing.policy_removed",
        "routing_policy",
        account_id or task_id,
        by=who,
        account_id=account_id,
        listening_task_id=task_id,
    )


def do_create_rule(
    session: Session,
    who: Principal,
    *,
    name: str,
    team_id: int | None,
    account_id: int | None = None,
    task_id: int | None = None,
    tag: str = "",
    keyword: str = "",
    position: int | None = None,
) -> RoutingRule:
    """Requests matching the task, tag or keyword (on the account, if given) go to the team."""
    name = name.strip()[:120]
    if not name or team_id is None:
        raise ActionError("rule_needs_team", "a name and a team are required")
    team = access(session, who, Team, team_id, MANAGE)
    account = access(session, who, Account, account_id, MANAGE) if account_id is not None else None
    task = access(session, who, ListeningTask, task_id, MANAGE) if task_id is not None else None
    tag, keyword = tag.strip()[:64], keyword.strip()[:64]
    if task is None and not tag and not keyword:
        raise ActionError("rule_needs_condition", "a rule needs a listening task, a tag or a keyword")
    rule = RoutingRule(
        name=name,
        position=position or DEFAULT_POSITION,
        team_id=team.id,
        account_id=account.id if account else None,
        listening_task_id=task.id if task else None,
        tag=tag or None,
        keyword=keyword or None,
    )
    session.add(rule)
    session.flush()
    audit.record(
        session,
        "routing.rule_created",
        "routing_rule",
        rule.id,
        by=who,
        name=name,
        team_id=team.id,
        tag=rule.tag,
        keyword=rule.keyword,
        listening_task_id=rule.listening_task_id,
        account_id=rule.account_id,
    )
    return rule


def do_update_rule(
    session: Session, who: Principal, rule_id: int, *, is_active: bool, position: int | None
) -> RoutingRule:
    rule = access(session, who, RoutingRule, rule_id, MANAGE)
    rule.is_active = is_active
    rule.position = position or rule.position
    audit.record(
        session,
        "routing.rule_updated",
        "routing_rule",
        rule.id,
        by=who,
        is_active=rule.is_active,
        position=rule.position,
    )
    return rule


def do_remove_rule(session: Session, who: Principal, rule_id: int) -> None:
    rule = access(session, who, RoutingRule, rule_id, MANAGE)
    session.delete(rule)
    audit.record(session, "routing.rule_removed", "routing_rule", rule_id, by=who, name=rule.name)
