"""The filter chain as configured: ``[filters]`` settings plus the active listening tasks."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core.models import Account, ListeningTask
from servicehub.core.runtime import get_runtime
from servicehub.filters.chain import FilterChain, FilterSettings
from servicehub.filters.verdict import ListeningRule


@lru_cache(maxsize=1)
def _settings() -> FilterSettings:
    return FilterSettings.from_mapping(get_runtime().settings.filters)


def listening_rules(session: Session) -> tuple[ListeningRule, ...]:
    tasks = list(session.scalars(select(ListeningTask).where(ListeningTask.is_active.is_(True))))
    account_ids = {a for t in tasks for a in t.account_ids}
    uids = (
        dict(session.execute(select(Account.id, Account.platform_uid).where(Account.id.in_(account_ids))))
        if account_ids
        else {}
    )
    return tuple(
        ListeningRule(
            task_id=t.id,
            name=t.name,
            keywords=tuple(t.keywords),
            account_uids=tuple(uids[a] for a in t.account_ids if a in uids),
        )
        for t in tasks
    )


_chains: dict[tuple[ListeningRule, ...], FilterChain] = {}


def chain_for(session: Session) -> FilterChain:
    """A chain for the current listening tasks; rebuilt only when the tasks change."""
    rules = listening_rules(session)
    chain = _chains.get(rules)
    if chain is None:
        _chains.clear()
        chain = _chains[rules] = FilterChain(_settings(), rules)
    return chain


def reset_cache() -> None:
    _settings.cache_clear()
    _chains.clear()
