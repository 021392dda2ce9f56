"""Operator workload: presence, shift, open load against capacity, overdue requests.

Scoped by ``analytics.view``: everyone's for a manager, the company's for a partner
supervisor, only one's own for an operator ("no analytics beyond its own workload").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicehub.core.db import utcnow
from servicehub.core.models import Organization, ServiceRequest, User
from servicehub.core.permissions import Principal, restrict
from servicehub.core.shifts import format_shifts, on_shift
from servicehub.routing.assign import open_loads
from servicehub.routing.priority import overdue_clause


@dataclass(frozen=True)
class WorkloadRow:
    id: int
    name: str
    org: str
    presence: str
    on_shift: bool
    shifts: str
    load: int
    capacity: int
    overdue: int


def workload(session: Session, principal: Principal, now: datetime | None = None) -> list[WorkloadRow]:
    now = now or utcnow()
    stmt = (
        select(User, Organization.name)
        .join(Organization, Organization.id == User.org_id)
        .where(User.is_active.is_(True))
        .order_by(Organization.name, User.id)
    )
    rows = session.execute(restrict(stmt, principal, "analytics.view", User)).all()
    ids = [u.id for u, _ in rows]
    loads = open_loads(session, ids)
    overdue = (
        dict(
            session.execute(
                select(ServiceRequest.assignee_id, func.count())
                .where(ServiceRequest.assignee_id.in_(ids), overdue_clause(now))
                .group_by(ServiceRequest.assignee_id)
            ).all()
        )
        if ids
        else {}
    )
    return [
        WorkloadRow(
            id=u.id,
            name=u.display_name,
            org=org,
            presence=str(u.presence),
            on_shift=on_shift(u.shifts or [], now),
            shifts=format_shifts(u.shifts or []),
            load=loads[u.id],
            capacity=u.capacity,
            overdue=int(overdue.get(u.id, 0)),
        )
        for u, org in rows
    ]
