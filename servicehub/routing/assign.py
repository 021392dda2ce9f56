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
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from servicehub.core.bulk import insert_rows
from servicehub.core.db import utcnow
from servicehub.core.lookup import one_of
from servicehub.core.models import (
    OPEN_STATES,
    Account,
    Assignment,
    AuditEvent,
    Presence,
    RequestState,
    ServiceRequest,
    User,
)
from servicehub.core.permissions import may_see_account, principal_for
from servicehub.core.runtime import Runtime
from servicehub.routing.presence import on_shift
from servicehub.routing.rules import Plan, RoutingConfig, heard, plan
from servicehub.routing.strategies import Candidate, Decision, decide

BACKLOG_BATCH = 50


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


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
    config = RoutingConfig.load(session, runtime)
    texts = heard(session, [r.id for r in requests]) if heard_texts is None else heard_texts
    plans: dict[int, Plan] = {r.id: plan(session, config, r, *texts.get(r.id, ("", set()))) for r in requests}
    sticky = [r for r in requests if plans[r.id].policy.sticky]
    previous: dict[int, int | None] = dict.fromkeys((r.id for r in requests), None)
    previous.update(previous_assignees(session, sticky) if sticky else {})
    users = lock_users(session, {u for p in plans.values() for u in p.user_ids})
    loads = open_loads(session, users)
    accounts = {
        a.id: a
        for a in session.scalars(select(Account).where(Account.id.in_({r.account_id for r in requests})))
    }
    result: dict[int, int | None] = {}
    statuses: dict[tuple[int, int], str] = {}  # (user, account) -> status: fixed for the batch
    decisions: list[dict[str, Any]] = []  # Assignment rows
    events: list[dict[str, Any]] = []  # AuditEvent rows
    ordered = sorted(requests, key=lambda r: (-r.priority, r.created_at, r.id))
    for tick, request in enumerate(ordered):
        chosen_plan = plans[request.id]
        account = accounts[request.account_id]
        operators = config.operators(session, account.id)
        considered: list[dict[str, Any]] = []
        candidates: list[Candidate] = []
        for uid in chosen_plan.user_ids:
            user = users.get(uid)
            if uid in exclude:
                status = "excluded"
            elif (uid, account.id) in statuses:
                status = statuses[uid, account.id]
            else:
                status = statuses[uid, account.id] = _status(user, account, operators, now)
            if user is not None and status == "ok":
                candidate = Candidate(
                    uid, user.display_name, loads[uid], user.capacity, user.last_assigned_at
                )
                candidates.append(candidate)
                status = "ok" if candidate.has_room else "at_capacity"
            considered.append(
                {
                    "id": uid,
                    "name": user.display_name if user else "",
                    "load": loads.get(uid, 0),
                    "capacity": user.capacity if user else 0,
                    "status": status,
                }
            )
        prev = previous[request.id]
        decision = decide(
            chosen_plan.policy.strategy, candidates, sticky=chosen_plan.policy.sticky, previous_id=prev
        )
        chosen = decision.chosen
        result[request.id] = chosen
        if chosen is not None:
            request.assignee_id = chosen
            request.state = RequestState.ASSIGNED
            if chosen_plan.team_id is not None:
                request.team_id = chosen_plan.team_id
            loads[chosen] += 1
            users[chosen].last_assigned_at = now + timedelta(microseconds=tick)
        elif not record_misses:
            continue
        reason = _explain(chosen_plan, decision, considered, prev, request)
        decisions.append(
            {"request_id": request.id, "user_id": chosen, "strategy": decision.strategy, "reason": reason}
        )
        if chosen is not None:  # "nobody" changes no state: its Assignment row is the record
            events.append(  # what audit.record would add, written below in one statement
                {
                    "actor_id": actor_id,
                    "action": "request.assigned",
                    "object_type": "request",
                    "object_id": str(request.id),
                    "detail": {"user_id": chosen, "strategy": decision.strategy, "why": decision.why},
                    "ip": "",
                }
            )
    if decisions:
        insert_rows(session, Assignment, decisions)
        insert_rows(session, AuditEvent, events)
        # One event per batch, not per request: pages re-read what they show anyway.
        changed = [d["request_id"] for d in decisions]
        runtime.publish_on_commit(session, {"type": "requests", "request_ids": changed})
    return result


def _explain(
    chosen_plan: Plan,
    decision: Decision,
    considered: list[dict[str, Any]],
    prev: int | None,
    request: ServiceRequest,
) -> dict[str, Any]:
    return {
        "why": decision.why,
        "policy": {
            "strategy": str(chosen_plan.policy.strategy),
            "sticky": chosen_plan.policy.sticky,
            "source": chosen_plan.policy.source,
        },
        "pool": chosen_plan.pool,
        "rule": chosen_plan.rule,
        "listening_tasks": list(chosen_plan.tasks),
        "candidates": considered,
        "previous": None if prev is None else {"id": prev, "status": decision.previous_status},
        "fallback_from": decision.fallback_from,
        "priority": request.priority,
    }


def assign_request(session: Session, runtime: Runtime, request: ServiceRequest) -> User | None:
    """Assign one new request inside the caller's transaction (kept for ``conversations``)."""
    chosen = assign_requests(session, runtime, [request]).get(request.id)
    return session.get(User, chosen) if chosen is not None else None


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
