"""Assigning requests to operators under row locks, and recording why.

One transaction assigns a batch: it plans each request (policy and pool, see ``rules``),
locks every user row any plan may touch in id order (PostgreSQL ``FOR UPDATE``; SQLite's
``BEGIN IMMEDIATE`` already serializes writers), re-reads presence and capacity, counts
open loads once, and then lets the pure strategies of ``strategies`` choose, highest
priority and oldest first. Because each assigner holds the rows of the people it may hand
work to, two assigners can never both give the last free slot of one operator away, and
because the backlog is claimed with ``FOR UPDATE SKIP LOCKED``, a request is never taken
by two assigners. Every decision -- including "nobody" -- is stored as an Assignment with
the policy, rule, pool, every candidate considered (and why others were not) and loads.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.bulk import insert_rows
from servicehub.core.db import is_postgres, utcnow
from servicehub.core.lookup import one_of
from servicehub.core.models import (
    OPEN_STATES,
    Account,
    Assignment,
    Presence,
    RequestState,
    ServiceRequest,
    User,
)
from servicehub.core.permissions import may_see_account, principal_for
from servicehub.core.runtime import Runtime
from servicehub.core.shifts import on_shift
from servicehub.routing.rules import Plan, RoutingConfig, heard, plan
from servicehub.routing.strategies import Candidate, Decision, decide

BACKLOG_BATCH = 50


def open_loads(session: Session, user_ids: Collection[int]) -> dict[int, int]:
    loads = dict.fromkeys(user_ids, 0)
    if not user_ids:
        return loads
    rows = session.execute(
        select(ServiceRequest.assignee_id, func.count())
        .where(ServiceRequest.assignee_id.in_(list(user_ids)), ServiceRequest.state.in_(OPEN_STATES))
        .group_by(ServiceRequest.assignee_id)
    )
    loads.update({uid: n for uid, n in rows if uid is not None})
    return loads


def lock_users(session: Session, user_ids: Collection[int]) -> dict[int, User]:
    """Lock ``user_ids`` in id order (one global order: no deadlocks) and read them fresh."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    if is_postgres(session):
        session.execute(select(User.id).where(User.id.in_(ids)).order_by(User.id).with_for_update())
    users = session.scalars(select(User).where(User.id.in_(ids)).execution_options(populate_existing=True))
    return {u.id: u for u in users}


def previous_assignee(session: Session, request: ServiceRequest) -> int | None:
    """Who last served this customer on this account (for sticky routing)."""
    return session.scalar(
        select(ServiceRequest.assignee_id)
        .where(
            ServiceRequest.customer_id == request.customer_id,
            ServiceRequest.account_id == request.account_id,
            ServiceRequest.id != request.id,
            ServiceRequest.assignee_id.is_not(None),
        )
        .order_by(ServiceRequest.id.desc())
        .limit(1)
    )


def previous_assignees(session: Session, requests: Sequence[ServiceRequest]) -> dict[int, int | None]:
    """:func:`previous_assignee` for a whole batch in one query per 500 customers.

    For every (customer, account) of the batch it reads the two latest requests that had an
    assignee (one of them may be the request itself) and picks the latest other than it.
    """
    latest: dict[tuple[int, int], list[tuple[int, int]]] = {}
    customers = sorted({r.customer_id for r in requests})
    accounts = sorted({r.account_id for r in requests})
    for start in range(0, len(customers), 500):
        ranked = (
            select(
                ServiceRequest.customer_id,
                ServiceRequest.account_id,
                ServiceRequest.id,
                ServiceRequest.assignee_id,
                func.row_number()
                .over(
                    partition_by=(ServiceRequest.customer_id, ServiceRequest.account_id),
                    order_by=ServiceRequest.id.desc(),
                )
                .label("rank"),
            )
            .where(
                one_of(session, ServiceRequest.customer_id, customers[start : start + 500]),
                one_of(session, ServiceRequest.account_id, accounts),
                ServiceRequest.assignee_id.is_not(None),
            )
            .subquery()
        )
        rows = session.execute(
            select(ranked.c.customer_id, ranked.c.account_id, ranked.c.id, ranked.c.assignee_id)
            .where(ranked.c.rank <= 2)
            .order_by(ranked.c.id.desc())
        )
        for customer_id, account_id, request_id, assignee_id in rows:
            latest.setdefault((customer_id, account_id), []).append((request_id, assignee_id))
    return {
        r.id: next(
            (uid for rid, uid in latest.get((r.customer_id, r.account_id), ()) if rid != r.id),
            None,
        )
        for r in requests
    }


def _status(user: User | None, account: Account, operators: Sequence[int], now: datetime) -> str:
    """Why a pool member is or is not a candidate right now ("ok" when they are)."""
    if user is None or not user.is_active:
        return "inactive"
    if not may_see_account(principal_for(user), account, operators):
        return "out_of_scope"
    if user.presence != Presence.ON_DUTY:
        return str(user.presence)
    if not on_shift(user.shifts or [], now):
        return "off_shift"
    return "ok"


Considered = list[dict[str, Any]]  # a pool member's id, name, load, capacity and status

# A pool whose members all have one of these may never serve the request: a rule's team
# that cannot see the account (a partner's account, say) hands over to its operators.
NEVER = frozenset({"inactive", "out_of_scope", "excluded"})


@dataclass
class _Batch:
    """What one assignment batch reads once: plans, locked users, loads, accounts."""

    config: RoutingConfig
    plans: dict[int, Plan]
    previous: dict[int, int | None]
    users: dict[int, User]
    loads: dict[int, int]
    accounts: dict[int, Account]
    now: datetime
    exclude: Collection[int]
    statuses: dict[tuple[int, int], str] = field(default_factory=dict)  # (user, account): fixed

    @classmethod
    def prepare(
        cls,
        session: Session,
        runtime: Runtime,
        requests: Sequence[ServiceRequest],
        texts: Mapping[int, tuple[str, set[str]]],
        now: datetime,
        exclude: Collection[int],
    ) -> _Batch:
        config = RoutingConfig.load(session, runtime)
        plans = {r.id: plan(session, config, r, *texts.get(r.id, ("", set()))) for r in requests}
        sticky = [r for r in requests if plans[r.id].policy.sticky]
        previous: dict[int, int | None] = dict.fromkeys((r.id for r in requests), None)
        previous.update(previous_assignees(session, sticky) if sticky else {})
        people = {u for p in plans.values() for u in (*p.user_ids, *p.fallback_ids)}
        users = lock_users(session, people)
        accounts = {
            a.id: a
            for a in session.scalars(select(Account).where(Account.id.in_({r.account_id for r in requests})))
        }
        return cls(config, plans, previous, users, open_loads(session, users), accounts, now, exclude)

    def status(self, session: Session, uid: int, account: Account) -> str:
        if uid in self.exclude:
            return "excluded"
        if (uid, account.id) not in self.statuses:
            operators = self.config.operators(session, account.id)
            self.statuses[uid, account.id] = _status(self.users.get(uid), account, operators, self.now)
        return self.statuses[uid, account.id]

    def pool(
        self, session: Session, request: ServiceRequest
    ) -> tuple[list[dict[str, Any]], list[Candidate], str | None]:
        """Every member of the request's pool with their status, the candidates among them,
        and the pool fallen back from when none of the planned pool may ever serve it."""
        chosen_plan = self.plans[request.id]
        account = self.accounts[request.account_id]
        considered, candidates = self._consider(session, chosen_plan.user_ids, account)
        if chosen_plan.fallback_ids and all(c["status"] in NEVER for c in considered):
            more, candidates = self._consider(session, chosen_plan.fallback_ids, account)
            return considered + more, candidates, chosen_plan.pool
        return considered, candidates, None

    def _consider(
        self, session: Session, user_ids: Sequence[int], account: Account
    ) -> tuple[Considered, list[Candidate]]:
        considered: Considered = []
        candidates: list[Candidate] = []
        for uid in user_ids:
            user = self.users.get(uid)
            status = self.status(session, uid, account)
            if user is not None and status == "ok":
                candidate = Candidate(
                    uid, user.display_name, self.loads[uid], user.capacity, user.last_assigned_at
                )
                candidates.append(candidate)
                status = "ok" if candidate.has_room else "at_capacity"
            considered.append(
                {
                    "id": uid,
                    "name": user.display_name if user else "",
                    "load": self.loads.get(uid, 0),
                    "capacity": user.capacity if user else 0,
                    "status": status,
                }
            )
        return considered, candidates


def assign_requests(
    session: Session,
    runtime: Runtime,
    requests: Sequence[ServiceRequest],
    *,
    now: datetime | None = None,
    record_misses: bool = True,
    exclude: Collection[int] = (),
    actor_id: int | None = None,
    heard_texts: Mapping[int, tuple[str, set[str]]] | None = None,
) -> dict[int, int | None]:
    """Assign ``requests`` (locked or new, unassigned) in one go; request id -> user id or None.

    ``heard_texts`` is what :func:`~servicehub.routing.rules.heard` would read for them, when
    the caller already holds it (requests it has just opened).
    """
    if not requests:
        return {}
    now = now or utcnow()
    texts = heard(session, [r.id for r in requests]) if heard_texts is None else heard_texts
    batch = _Batch.prepare(session, runtime, requests, texts, now, exclude)
    result: dict[int, int | None] = {}
    decisions: list[dict[str, Any]] = []  # Assignment rows
    events: list[dict[str, Any]] = []  # AuditEvent rows
    ordered = sorted(requests, key=lambda r: (-r.priority, r.created_at, r.id))
    for tick, request in enumerate(ordered):
        chosen_plan = batch.plans[request.id]
        considered, candidates, fell_back = batch.pool(session, request)
        prev = batch.previous[request.id]
        decision = decide(
            chosen_plan.policy.strategy, candidates, sticky=chosen_plan.policy.sticky, previous_id=prev
        )
        chosen = result[request.id] = decision.chosen
        if chosen is not None:
            request.assignee_id = chosen
            request.state = RequestState.ASSIGNED
            if chosen_plan.team_id is not None and fell_back is None:
                request.team_id = chosen_plan.team_id
            batch.loads[chosen] += 1
            batch.users[chosen].last_assigned_at = now + timedelta(microseconds=tick)
            # "nobody" changes no state: its Assignment row is the record
            events.append(
                audit.event_row(
                    "request.assigned",
                    "request",
                    request.id,
                    actor_id=actor_id,
                    user_id=chosen,
                    strategy=decision.strategy,
                    why=decision.why,
                )
            )
        elif not record_misses:
            continue
        reason = _explain(chosen_plan, decision, considered, prev, request, fell_back)
        decisions.append(
            {"request_id": request.id, "user_id": chosen, "strategy": decision.strategy, "reason": reason}
        )
    if decisions:
        insert_rows(session, Assignment, decisions)
        audit.record_many(session, events)
        # One event per batch, not per request: pages re-read what they show anyway.
        changed = [d["request_id"] for d in decisions]
        assigned = set(changed)
        accounts = sorted({r.account_id for r in requests if r.id in assigned})
        runtime.publish_on_commit(
            session, {"type": "requests", "request_ids": changed, "account_ids": accounts}
        )
    return result


def _explain(
    chosen_plan: Plan,
    decision: Decision,
    considered: list[dict[str, Any]],
    prev: int | None,
    request: ServiceRequest,
    pool_fallback: str | None,
) -> dict[str, Any]:
    return {
        "why": decision.why,
        "policy": {
            "strategy": str(chosen_plan.policy.strategy),
            "sticky": chosen_plan.policy.sticky,
            "source": chosen_plan.policy.source,
        },
        "pool": f"account:{request.account_id}" if pool_fallback else chosen_plan.pool,
        "pool_fallback_from": pool_fallback,
        "rule": chosen_plan.rule,
        "listening_tasks": list(chosen_plan.tasks),
        "candidates": considered,
        "previous": None if prev is None else {"id": prev, "status": decision.previous_status},
        "fallback_from": decision.fallback_from,
        "priority": request.priority,
        "priority_reasons": list(request.priority_reasons or ()),
    }


def _claim(session: Session, stmt: Any) -> list[ServiceRequest]:
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def _unassigned() -> Any:
    return select(ServiceRequest).where(
        ServiceRequest.state == RequestState.NEW, ServiceRequest.assignee_id.is_(None)
    )


def assign_ids(
    runtime: Runtime, request_ids: Sequence[int], *, record_misses: bool = True
) -> dict[int, int | None]:
    """Route these (unassigned) requests again in a transaction of their own."""
    with runtime.sessions.begin() as session:
        requests = _claim(
            session, _unassigned().where(ServiceRequest.id.in_(list(request_ids))).order_by(ServiceRequest.id)
        )
        return assign_requests(session, runtime, requests, record_misses=record_misses)


def assign_backlog(runtime: Runtime, *, batch: int = BACKLOG_BATCH, max_batches: int | None = None) -> int:
    """Assign waiting requests, highest priority then oldest first, one transaction per batch.

    Safe to run in any number of workers at once: each batch is claimed with SKIP LOCKED,
    and a keyset cursor moves past requests nobody could take, so they never starve the rest.
    Returns how many requests were assigned.
    """
    assigned = 0
    cursor: tuple[int, datetime, int] | None = None
    done = 0
    while max_batches is None or done < max_batches:
        done += 1
        with runtime.sessions.begin() as session:
            stmt = _unassigned().order_by(
                ServiceRequest.priority.desc(), ServiceRequest.created_at, ServiceRequest.id
            )
            if cursor is not None:
                p, c, i = cursor
                stmt = stmt.where(
                    or_(
                        ServiceRequest.priority < p,
                        and_(
                            ServiceRequest.priority == p,
                            or_(
                                ServiceRequest.created_at > c,
                                and_(ServiceRequest.created_at == c, ServiceRequest.id > i),
                            ),
                        ),
                    )
                )
            requests = _claim(session, stmt.limit(batch))
            if not requests:
                break
            last = requests[-1]
            cursor = (last.priority, last.created_at, last.id)
            result = assign_requests(session, runtime, requests, record_misses=False)
            assigned += sum(1 for uid in result.values() if uid is not None)
    return assigned
