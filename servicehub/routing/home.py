"""The home page's figures about requests: my day, and for supervisors their team's.

"Today" and "this week" are China time (the operators' day), the week starting on Monday.
Handled means resolved by the request's assignee: what an operator closed themselves. The
median first response is over the requests assigned to me that were first answered this
week (minutes from the customer's first message to the first reply queued).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from statistics import median

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicehub.core.db import utcnow
from servicehub.core.models import OPEN_STATES, Account, AccountOperator, ServiceRequest, User
from servicehub.core.permissions import Principal, restrict
from servicehub.routing.priority import overdue_clause
from servicehub.routing.queue import DONE, QueueRow, rows_of
from servicehub.routing.workload import WorkloadRow, workload

CHINA = timezone(timedelta(hours=8))


def day_start(now: datetime) -> datetime:
    local = now.astimezone(CHINA)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def week_start(now: datetime) -> datetime:
    return day_start(now) - timedelta(days=now.astimezone(CHINA).weekday())


@dataclass(frozen=True)
class ServedAccount:
    id: int
    name: str
    platform: str
    health: str
    token_expires_at: datetime | None


@dataclass(frozen=True)
class MyDay:
    open_mine: int
    capacity: int
    handled_today: int
    handled_week: int
    median_first_response_minutes: float | None
    answered_week: int
    accounts: list[ServedAccount]
    operates: bool  # the accounts are the ones I operate (else: the ones I may see)


def my_day(session: Session, who: Principal, now: datetime | None = None) -> MyDay:
    now = now or utcnow()
    today, week = day_start(now), week_start(now)
    mine = ServiceRequest.assignee_id == who.user_id
    open_mine = session.scalar(select(func.count()).where(mine, ServiceRequest.state.in_(OPEN_STATES)))
    resolved = select(func.count()).where(mine, ServiceRequest.state.in_(DONE))
    handled_today = session.scalar(resolved.where(ServiceRequest.resolved_at >= today))
    handled_week = session.scalar(resolved.where(ServiceRequest.resolved_at >= week))
    waits = [
        (first - created).total_seconds() / 60
        for created, first in session.execute(
            select(ServiceRequest.created_at, ServiceRequest.first_response_at).where(
                mine, ServiceRequest.first_response_at >= week
            )
        )
        if first is not None
    ]
    user = session.get(User, who.user_id)
    accounts, operates = served_accounts(session, who)
    return MyDay(
        open_mine=int(open_mine or 0),
        capacity=user.capacity if user else 0,
        handled_today=int(handled_today or 0),
        handled_week=int(handled_week or 0),
        median_first_response_minutes=round(median(waits), 1) if waits else None,
        answered_week=len(waits),
        accounts=accounts,
        operates=operates,
    )


def served_accounts(session: Session, who: Principal, limit: int = 20) -> tuple[list[ServedAccount], bool]:
    """The accounts ``who`` operates (and True); for someone who operates none (a manager, a
    back-office desk), the accounts they may see (and False)."""
    stmt = select(Account).order_by(Account.id).limit(limit)
    operated = stmt.where(
        Account.id.in_(select(AccountOperator.account_id).where(AccountOperator.user_id == who.user_id))
    )
    accounts = list(session.scalars(operated))
    operates = bool(accounts)
    if not accounts and who.can("account.view"):
        accounts = list(session.scalars(restrict(stmt, who, "account.view", Account)))
    shown = [
        ServedAccount(a.id, a.display_name, a.platform, str(a.health), a.token_expires_at) for a in accounts
    ]
    return shown, operates


@dataclass(frozen=True)
class TeamBoard:
    """What a supervisor sees of the requests and people in their scope."""

    open_total: int
    unassigned: int
    overdue_total: int
    overdue: list[QueueRow]
    loads: list[WorkloadRow]


def team_board(session: Session, who: Principal, now: datetime | None = None, limit: int = 10) -> TeamBoard:
    now = now or utcnow()
    scoped = restrict(
        select(ServiceRequest).where(ServiceRequest.state.in_(OPEN_STATES)),
        who,
        "request.view",
        ServiceRequest,
    )
    open_total = session.scalar(select(func.count()).select_from(scoped.subquery()))
    unassigned = session.scalar(
        select(func.count()).select_from(scoped.where(ServiceRequest.assignee_id.is_(None)).subquery())
    )
    late = scoped.where(overdue_clause(now))
    overdue_total = session.scalar(select(func.count()).select_from(late.subquery()))
    rows = rows_of(session, who, late, limit, (ServiceRequest.due_at, ServiceRequest.id))
    return TeamBoard(
        open_total=int(open_total or 0),
        unassigned=int(unassigned or 0),
        overdue_total=int(overdue_total or 0),
        overdue=rows,
        loads=workload(session, who, now) if who.can("analytics.view") else [],
    )
