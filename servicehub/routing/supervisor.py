"""Supervisor actions on assignment: manual pick, re-route, and who may be picked.

``check_*`` validates, ``do_*`` mutates (Zulip style). A supervisor may hand a request
only to someone who may see it (the same account scope as the queue), who is within the
supervisor's own ``request.assign`` scope (a partner supervisor picks only from its
company), who is not offline, and who has room: capacity holds for people too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.db import is_postgres, utcnow
from servicehub.core.errors import ActionError
from servicehub.core.masking import customer_view
from servicehub.core.models import (
    Account,
    AccountOperator,
    Assignment,
    Customer,
    Presence,
    RequestState,
    ServiceRequest,
    User,
)
from servicehub.core.permissions import Principal, may_see_account, principal_for, restrict
from servicehub.core.runtime import Runtime
from servicehub.core.shifts import on_shift
from servicehub.routing.assign import assign_requests, lock_users, open_loads
from servicehub.routing.presence import access_user
from servicehub.routing.priority import is_overdue
from servicehub.routing.requests import access_request

CLOSED = (RequestState.RESOLVED, RequestState.CLOSED)


class AssignError(ActionError):
    """A pick that is understood but not allowed now (``assign_<why>``)."""

    def __init__(self, why: str) -> None:
        super().__init__(f"assign_{why}", f"cannot assign: {why}")
        self.why = why


@dataclass(frozen=True)
class PickOption:
    id: int
    name: str
    presence: str
    on_shift: bool
    load: int
    capacity: int

    @property
    def pickable(self) -> bool:
        return self.presence != Presence.OFFLINE and self.load < self.capacity


def _operators(session: Session, account_id: int) -> list[int]:
    return list(
        session.scalars(select(AccountOperator.user_id).where(AccountOperator.account_id == account_id))
    )


def _serves(user: User, account: Account, operators: Sequence[int]) -> bool:
    """Whether ``user`` works requests of ``account``: they may answer its customers, and they
    are one of its operators or in a team (the pools routing hands requests to). An
    administrator or a manager may see everything but is nobody's operator."""
    in_pool = user.id in operators or bool(user.teams)
    return in_pool and may_see_account(principal_for(user), account, operators, "request.reply")


def pick_options(session: Session, principal: Principal, request: ServiceRequest) -> list[PickOption]:
    """People the principal may hand ``request`` to (pickable or not, to explain why not)."""
    if not principal.can("request.assign"):
        return []
    account = session.get(Account, request.account_id)
    if account is None:
        return []
    operators = _operators(session, account.id)
    people = [
        u
        for u in session.scalars(
            restrict(
                select(User).where(User.is_active.is_(True)), principal, "request.assign", User
            ).order_by(User.id)
        )
        if _serves(u, account, operators)
    ]
    loads = open_loads(session, [u.id for u in people])
    now = utcnow()
    return [
        PickOption(
            u.id, u.display_name, str(u.presence), on_shift(u.shifts or [], now), loads[u.id], u.capacity
        )
        for u in people
    ]


def _lock_request(session: Session, principal: Principal, request_id: int) -> ServiceRequest:
    request = access_request(session, principal, request_id, "request.assign")
    if is_postgres(session):
        session.execute(select(ServiceRequest.id).where(ServiceRequest.id == request.id).with_for_update())
        session.refresh(request)
    if request.state in CLOSED:
        raise AssignError("closed")
    return request


def check_pick(session: Session, principal: Principal, request: ServiceRequest, user_id: int) -> User:
    target = access_user(session, principal, user_id, "request.assign")
    account = session.get(Account, request.account_id)
    if account is None or not target.is_active:
        raise AssignError("not_eligible")
    if not _serves(target, account, _operators(session, account.id)):
        raise AssignError("not_eligible")
    return target


def do_pick(runtime: Runtime, principal: Principal, request_id: int, user_id: int) -> None:
    """Hand ``request_id`` to ``user_id`` by hand (a supervisor's manual pick or reassignment)."""
    with runtime.sessions.begin() as session:
        request = _lock_request(session, principal, request_id)
        target = check_pick(session, principal, request, user_id)
        if request.assignee_id == target.id:
            return
        lock_users(session, [target.id])
        session.refresh(target)
        if target.presence == Presence.OFFLINE:
            raise AssignError("offline")
        load = open_loads(session, [target.id])[target.id]
        if load >= target.capacity:
            raise AssignError("at_capacity")
        before = request.assignee_id
        request.assignee_id = target.id
        if request.state in (RequestState.NEW, RequestState.ASSIGNED):
            request.state = RequestState.ASSIGNED
        target.last_assigned_at = utcnow()
        reason: dict[str, Any] = {
            "why": "manual_pick",
            "by": {"id": principal.user_id, "name": principal.display_name},
            "from_user_id": before,
            "candidates": [
                {
                    "id": target.id,
                    "name": target.display_name,
                    "load": load,
                    "capacity": target.capacity,
                    "status": "ok",
                }
            ],
            "priority": request.priority,
        }
        session.add(Assignment(request_id=request.id, user_id=target.id, strategy="manual", reason=reason))
        audit.record(
            session,
            "request.reassigned" if before else "request.assigned",
            "request",
            request.id,
            by=principal,
            user_id=target.id,
            from_user_id=before,
            strategy="manual",
        )
        runtime.publish_on_commit(
            session, {"type": "request", "request_id": request.id, "account_id": request.account_id}
        )


def do_reroute(runtime: Runtime, principal: Principal, request_id: int) -> int | None:
    """Take ``request_id`` from its assignee and route it again automatically (to someone else)."""
    with runtime.sessions.begin() as session:
        request = _lock_request(session, principal, request_id)
        before, state = request.assignee_id, request.state
        request.assignee_id, request.state = None, RequestState.NEW
        audit.record(
            session,
            "request.rerouted",
            "request",
            request.id,
            by=principal,
            from_user_id=before,
        )
        exclude = [before] if before is not None else []
        chosen = assign_requests(session, runtime, [request], exclude=exclude, actor_id=principal.user_id)
        if chosen.get(request.id) is not None and state not in (RequestState.NEW, RequestState.ASSIGNED):
            request.state = state  # work in progress stays in progress with its new owner
        return chosen.get(request.id)


def waiting_since(request: ServiceRequest, now: datetime | None = None) -> float:
    """Minutes the customer has waited for a first answer (0 once answered)."""
    if request.first_response_at is not None:
        return 0.0
    return max(0.0, ((now or utcnow()) - request.created_at).total_seconds() / 60)


def assignment_panel(session: Session, principal: Principal, request: ServiceRequest) -> dict[str, Any]:
    """What the request page shows about assignment: overdue, wait, customer (masked), picks."""
    account = session.get(Account, request.account_id)
    customer = session.get(Customer, request.customer_id)
    operators = _operators(session, request.account_id)
    presence = session.scalar(select(User.presence).where(User.id == principal.user_id))
    return {
        "overdue": is_overdue(request),
        "waited_minutes": int(waiting_since(request)),
        "customer": customer_view(principal, customer, account, operators) if customer and account else None,
        "can_assign": principal.can("request.assign") and request.state not in CLOSED,
        "pick_options": pick_options(session, principal, request) if request.state not in CLOSED else [],
        "my_presence": str(presence) if presence else "",
    }
