"""Choosing an operator for a request, and recording why.

Candidates are the account's operators who are active and on duty. Round robin keeps a
per-account pointer row that is locked while choosing, so concurrent routers never hand
two requests to the same "next" person by accident; least-loaded counts open requests
and respects each operator's capacity. Every decision is stored as an Assignment.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.db import dialect_insert
from servicehub.core.models import (
    OPEN_STATES,
    AccountOperator,
    Assignment,
    Presence,
    RequestState,
    RoundRobinPointer,
    ServiceRequest,
    User,
)
from servicehub.core.runtime import Runtime


def candidates(session: Session, account_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(AccountOperator, AccountOperator.user_id == User.id)
            .where(
                AccountOperator.account_id == account_id,
                User.is_active.is_(True),
                User.presence == Presence.ON_DUTY,
            )
            .order_by(User.id)
        )
    )


def open_loads(session: Session, user_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(ServiceRequest.assignee_id, func.count())
        .where(ServiceRequest.assignee_id.in_(user_ids), ServiceRequest.state.in_(OPEN_STATES))
        .group_by(ServiceRequest.assignee_id)
    )
    loads = dict.fromkeys(user_ids, 0)
    loads.update({uid: n for uid, n in rows if uid is not None})
    return loads


def assign_request(session: Session, runtime: Runtime, request: ServiceRequest) -> User | None:
    strategy = runtime.settings.routing.strategy
    people = candidates(session, request.account_id)
    loads = open_loads(session, [u.id for u in people])
    chosen: User | None
    reason: dict[str, Any] = {
        "candidates": [{"id": u.id, "name": u.display_name, "load": loads[u.id], "capacity": u.capacity} for u in people],
    }
    if strategy == "least_loaded":
        chosen = _least_loaded(people, loads)
    else:
        chosen = _round_robin(session, request.account_id, people)
    if chosen is None:
        reason["why"] = "no operator on duty" if not people else "everyone at capacity"
    else:
        request.assignee_id = chosen.id
        request.state = RequestState.ASSIGNED
    session.add(Assignment(request_id=request.id, user_id=chosen.id if chosen else None, strategy=strategy, reason=reason))
    audit.record(
        session, "request.assigned", "request", request.id, user_id=chosen.id if chosen else None, strategy=strategy
    )
    return chosen


def _least_loaded(people: list[User], loads: dict[int, int]) -> User | None:
    free = [u for u in people if loads[u.id] < u.capacity]
    return min(free, key=lambda u: (loads[u.id], u.id)) if free else None


def _round_robin(session: Session, account_id: int, people: list[User]) -> User | None:
    if not people:
        return None
    session.execute(dialect_insert(session)(RoundRobinPointer).values(account_id=account_id).on_conflict_do_nothing())
    stmt = select(RoundRobinPointer).where(RoundRobinPointer.account_id == account_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    pointer = session.scalars(stmt).one()
    after = [u for u in people if pointer.last_user_id is not None and u.id > pointer.last_user_id]
    chosen = after[0] if after else people[0]
    pointer.last_user_id = chosen.id
    return chosen
