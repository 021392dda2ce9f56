"""The filter chain as configured: ``[filters]`` settings plus the active listening tasks."""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core.models import Account, ListeningTask
from servicehub.core.runtime import Runtime
from servicehub.filters.chain import FilterChain, FilterSettings
from servicehub.filters.verdict import ListeningRule
from servicehub.listener.lexicon import sync_terms


def listening_rules(session: Session) -> tuple[ListeningRule, ...]:
    """The active keyword listening tasks as the filters take them (accounts by platform uid)."""
    tasks = list(
        session.scalars(
            select(ListeningTask).where(ListeningTask.is_active.is_(True)).order_by(ListeningTask.id)
        )
    )
    account_ids = sorted({a for t in tasks for a in t.account_ids})
    uids: dict[int, str] = {}
    if account_ids:
        found = session.execute(select(Account.id, Account.platform_uid).where(Account.id.in_(account_ids)))
        uids = {account_id: uid for account_id, uid in found}
    return tuple(
        ListeningRule(
            task_id=t.id,
            name=t.name,
            keywords=tuple(t.keywords),
            account_uids=tuple(uids[a] for a in t.account_ids if a in uids),
        )
        for t in tasks
    )


_lock = threading.Lock()
_chains: dict[tuple[FilterSettings, tuple[ListeningRule, ...]], FilterChain] = {}


def chain_for(session: Session, runtime: Runtime) -> FilterChain:
    """A chain for the runtime's ``[filters]`` and the current listening tasks; rebuilt only when
    the tasks change (building one is cheap; the models it uses are loaded once per process)."""
    sync_terms(session)  # administrators' terms segment whole here too, from this batch on
    key = (runtime.filters, listening_rules(session))
    with _lock:
        chain = _chains.get(key)
        if chain is None:
            _chains.clear()
            chain = _chains[key] = FilterChain(runtime.filters, key[1])
    return chain


def reset_cache() -> None:
    with _lock:
        _chains.clear()
