"""服务分析: requests received and resolved, response and resolution times, SLA, backlog.

Every figure counts on the day its event happened (see ``ServiceDaily``); medians and p90s
are nearest-rank over whole minutes, in the assignee's business hours when shifts are set
(:mod:`servicehub.analytics.histogram` tells the resolution). The backlog is now, whatever
the period. Per-operator, per-team and per-company tables go by the request's assignee (its
company: the assignee's organization) and team. Panels of other features (work orders,
leads) are added through :mod:`servicehub.analytics.panels`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicehub.analytics import histogram
from servicehub.analytics.charts import (
    Cell,
    Chart,
    Dashboard,
    Series,
    Table,
    bucket_index,
    place,
    rate,
    scoped,
    timeline,
)
from servicehub.analytics.filters import Filters
from servicehub.analytics.panels import extra_panels
from servicehub.core.db import utcnow
from servicehub.core.models import MessageDaily, Organization, RequestFact, ServiceDaily, Team, User
from servicehub.core.permissions import Principal

# Open requests by age: (upper bound in hours, label key); None = no bound.
AGES: tuple[tuple[float | None, str], ...] = (
    (1, "lt1h"),
    (4, "1_4h"),
    (24, "4_24h"),
    (72, "1_3d"),
    (168, "3_7d"),
    (None, "gt7d"),
)


@dataclass
class Figures:
    """Service figures of one group of rollup rows (a bucket, an operator, a team...)."""

    received: int = 0
    responded: int = 0
    resolved: int = 0
    sla_due: int = 0
    sla_met: int = 0
    first_response: npt.NDArray[np.int64] = field(default_factory=histogram.empty)
    resolution: npt.NDArray[np.int64] = field(default_factory=histogram.empty)

    def add(self, row: Any) -> None:
        self.received += row.received
        self.responded += row.responded
        self.resolved += row.resolved
        self.sla_due += row.sla_due
        self.sla_met += row.sla_met
        histogram.add(self.first_response, row.first_response_hist)
        histogram.add(self.resolution, row.resolution_hist)

    def frt(self, p: float) -> int | None:
        return histogram.percentile(self.first_response, p)

    def ttr(self, p: float) -> int | None:
        return histogram.percentile(self.resolution, p)

    @property
    def sla_rate(self) -> float | None:
        return rate(self.sla_met, self.sla_due)


def daily_rows(session: Session, who: Principal, filters: Filters) -> list[Any]:
    stmt = select(
        ServiceDaily.day,
        ServiceDaily.team_id,
        ServiceDaily.assignee_id,
        ServiceDaily.received,
        ServiceDaily.responded,
        ServiceDaily.resolved,
        ServiceDaily.sla_due,
        ServiceDaily.sla_met,
        ServiceDaily.first_response_hist,
        ServiceDaily.resolution_hist,
    ).where(ServiceDaily.day >= filters.first, ServiceDaily.day <= filters.last)
    return list(session.execute(scoped(stmt, who, ServiceDaily, filters)))


def totals(rows: list[Any]) -> Figures:
    found = Figures()
    for row in rows:
        found.add(row)
    return found


def grouped(rows: list[Any], key: Callable[[Any], Any]) -> dict[Any, Figures]:
    found: dict[Any, Figures] = defaultdict(Figures)
    for row in rows:
        found[key(row)].add(row)
    return found


def backlog(session: Session, who: Principal, filters: Filters, now: datetime) -> list[int]:
    """Open requests now, by age band (see ``AGES``)."""
    ages = [0] * len(AGES)
    stmt = scoped(
        select(RequestFact.created_at).where(RequestFact.is_open.is_(True)), who, RequestFact, filters
    )
    for (created_at,) in session.execute(stmt):
        hours = (now - created_at).total_seconds() / 3600
        for i, (bound, _) in enumerate(AGES):
            if bound is None or hours < bound:
                ages[i] += 1
                break
    return ages


def dropped(session: Session, who: Principal, filters: Filters) -> list[tuple[str, int]]:
    """Messages the filters dropped in the period, by reason (follow events left out)."""
    total = func.sum(MessageDaily.messages)
    stmt = (
        select(MessageDaily.drop_reason, total)
        .where(
            MessageDaily.day >= filters.first,
            MessageDaily.day <= filters.last,
            MessageDaily.drop_reason != "",
            MessageDaily.drop_reason != "event",
        )
        .group_by(MessageDaily.drop_reason)
        .order_by(total.desc(), MessageDaily.drop_reason)
    )
    return [(str(r), int(n)) for r, n in session.execute(scoped(stmt, who, MessageDaily, filters))]


COLUMNS = [
    "analytics.col.received",
    "analytics.col.resolved",
    "analytics.col.frt_median",
    "analytics.col.frt_p90",
    "analytics.col.ttr_median",
    "analytics.col.ttr_p90",
    "analytics.col.sla",
]


def _cells(f: Figures, drill: dict[str, str]) -> list[Cell]:
    sla = f.sla_rate
    return [
        Cell(f.received, drill={**drill, "which": "received"}),
        Cell(f.resolved, drill={**drill, "which": "resolved"}),
        Cell(f.frt(0.5)),
        Cell(f.frt(0.9)),
        Cell(f.ttr(0.5)),
        Cell(f.ttr(0.9)),
        Cell(None if sla is None else f"{sla}%"),
    ]


def _names(session: Session, model: type[Any], ids: set[int]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    column = model.display_name if model is User else model.name
    return {i: str(n) for i, n in session.execute(select(model.id, column).where(model.id.in_(wanted)))}


def breakdowns(session: Session, rows: list[Any], filters: Filters) -> list[Table]:
    base = {"dataset": "requests", "from": filters.first.isoformat(), "to": filters.last.isoformat()}
    by_user = grouped(rows, lambda r: r.assignee_id)
    by_team = grouped(rows, lambda r: r.team_id)
    people = _names(session, User, set(by_user))
    org_of: dict[int, int] = {
        uid: org
        for uid, org in session.execute(
            select(User.id, User.org_id).where(User.id.in_([i for i in by_user if i is not None]))
        )
    }
    orgs = _names(session, Organization, set(org_of.values()))
    teams = _names(session, Team, set(by_team))
    by_org: dict[int | None, Figures] = defaultdict(Figures)
    for row in rows:
        by_org[org_of.get(row.assignee_id)].add(row)

    def table(
        key: str, title: str, first: str, groups: dict[Any, Figures], name: Callable[[Any], Cell], param: str
    ) -> Table:
        ordered = sorted(groups.items(), key=lambda kv: (-kv[1].received, str(kv[0])))
        return Table(
            key=key,
            title=title,
            columns=[first, *COLUMNS],
            rows=[
                [name(k), *_cells(f, {**base, param: "none" if k is None else str(k)})] for k, f in ordered
            ],
        )

    return [
        table(
            "service-operators",
            "analytics.service.by_operator",
            "analytics.col.operator",
            by_user,
            lambda k: (
                Cell(people.get(k, "")) if k is not None else Cell("analytics.unassigned", literal=False)
            ),
            "assignee",
        ),
        table(
            "service-teams",
            "analytics.service.by_team",
            "analytics.col.team",
            by_team,
            lambda k: Cell(teams.get(k, "")) if k is not None else Cell("analytics.no_team", literal=False),
            "team_of",
        ),
        table(
            "service-companies",
            "analytics.service.by_company",
            "analytics.col.company",
            by_org,
            lambda k: Cell(orgs.get(k, "")) if k is not None else Cell("analytics.unassigned", literal=False),
            "company",
        ),
    ]


def service(session: Session, who: Principal, filters: Filters, now: datetime | None = None) -> Dashboard:
    now = now or utcnow()
    _, labels, ranges = timeline(filters)
    index = bucket_index(filters)
    rows = daily_rows(session, who, filters)
    per: list[Figures] = [Figures() for _ in labels]
    for row in rows:
        at = place(filters, index, row.day)
        if at is not None:
            per[at].add(row)
    drill = {"dataset": "requests"}
    volume = Chart(
        key="service-volume",
        title="analytics.service.volume",
        categories=labels,
        ranges=ranges,
        drill=drill,
        series=[
            Series("analytics.col.received", [f.received for f in per], drill={"which": "received"}),
            Series("analytics.col.resolved", [f.resolved for f in per], drill={"which": "resolved"}),
        ],
    )
    times = Chart(
        key="service-times",
        title="analytics.service.times",
        categories=labels,
        ranges=ranges,
        drill=drill,
        units=("minutes",),
        note="analytics.service.times_note",
        series=[
            Series(
                "analytics.col.frt_median",
                [f.frt(0.5) for f in per],
                kind="line",
                drill={"which": "responded"},
            ),
            Series(
                "analytics.col.frt_p90", [f.frt(0.9) for f in per], kind="line", drill={"which": "responded"}
            ),
            Series(
                "analytics.col.ttr_median",
                [f.ttr(0.5) for f in per],
                kind="line",
                drill={"which": "resolved"},
            ),
            Series(
                "analytics.col.ttr_p90", [f.ttr(0.9) for f in per], kind="line", drill={"which": "resolved"}
            ),
        ],
    )
    sla = Chart(
        key="service-sla",
        title="analytics.service.sla",
        categories=labels,
        ranges=ranges,
        drill=drill,
        units=("count", "percent"),
        series=[
            Series("analytics.col.sla_due", [f.sla_due for f in per], drill={"which": "sla_due"}),
            Series(
                "analytics.col.sla_missed",
                [f.sla_due - f.sla_met for f in per],
                drill={"which": "sla_missed"},
            ),
            Series("analytics.col.sla", [f.sla_rate for f in per], kind="line", axis=1),
        ],
    )
    ages = backlog(session, who, filters, now)
    today = now.date()
    backlog_chart = Chart(
        key="service-backlog",
        title="analytics.service.backlog",
        categories=[f"analytics.age.{k}" for _, k in AGES],
        category_keys=True,
        ranges=[(today - timedelta(days=3650), today)] * len(AGES),
        drill={"dataset": "requests", "which": "open"},
        category_drill=[{"age": k} for _, k in AGES],
        series=[Series("analytics.col.open", list(ages))],
        note="analytics.service.backlog_note",
    )
    reasons = dropped(session, who, filters)
    dropped_chart = Chart(
        key="service-dropped",
        title="analytics.service.dropped",
        kind="pie",
        categories=[f"analytics.reason.{r}" for r, _ in reasons],
        category_keys=True,
        ranges=[(filters.first, filters.last)] * len(reasons),
        drill={"dataset": "messages", "kept": "0"},
        category_drill=[{"reason": r} for r, _ in reasons],
        series=[Series("analytics.col.messages", [n for _, n in reasons])],
    )
    extra_charts, extra_tables = extra_panels(session, who, filters)
    overall = totals(rows)
    return Dashboard(
        "service",
        filters,
        [volume, times, sla, backlog_chart, dropped_chart, *extra_charts],
        [*breakdowns(session, rows, filters), *extra_tables],
        extra={"totals": overall},
    )
