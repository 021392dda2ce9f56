"""服务分析: requests received and resolved, response and resolution times, SLA, backlog.

Every figure counts on the day its event happened (see ``ServiceDaily``); medians and p90s
are nearest-rank over whole minutes, in the assignee's business hours when shifts are set
(:mod:`servicehub.analytics.histogram` tells the resolution). The backlog is now, whatever
the period. Per-operator, per-team and per-company tables go by the request's assignee (its
company: the assignee's organization) and team. Panels of other features (work orders,
leads) are added through :mod:`servicehub.analytics.panels`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
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
from servicehub.analytics.clock import Grain, split_months
from servicehub.analytics.filters import Filters
from servicehub.analytics.panels import extra_panels
from servicehub.core.db import utcnow
from servicehub.core.models import (
    MessageDaily,
    Organization,
    RequestFact,
    ServiceDaily,
    ServiceMonthly,
    Team,
    User,
)
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


COUNTED = ("received", "responded", "resolved", "sla_due", "sla_met")


@dataclass(frozen=True)
class Figures:
    """Service figures of one group of rollup rows (a bucket, an operator, a team...)."""

    counts: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(len(COUNTED), dtype=np.int64))
    first_response: npt.NDArray[np.int64] = field(default_factory=histogram.empty)
    resolution: npt.NDArray[np.int64] = field(default_factory=histogram.empty)

    @property
    def received(self) -> int:
        return int(self.counts[0])

    @property
    def responded(self) -> int:
        return int(self.counts[1])

    @property
    def resolved(self) -> int:
        return int(self.counts[2])

    @property
    def sla_due(self) -> int:
        return int(self.counts[3])

    @property
    def sla_met(self) -> int:
        return int(self.counts[4])

    def frt(self, p: float) -> int | None:
        return histogram.percentile(self.first_response, p)

    def ttr(self, p: float) -> int | None:
        return histogram.percentile(self.resolution, p)

    @property
    def sla_rate(self) -> float | None:
        return rate(self.sla_met, self.sla_due)


@dataclass(frozen=True)
class DailyRows:
    """Rollup rows column by column (added up with numpy, not row by row): ``ServiceDaily`` rows
    for days, ``ServiceMonthly`` rows (dated the 1st) for whole months."""

    days: list[date]
    teams: list[int | None]
    assignees: list[int | None]
    counts: npt.NDArray[np.int64]  # rows x COUNTED
    first_response: histogram.Decoded
    resolution: histogram.Decoded

    def keys(self, values: Sequence[Hashable]) -> tuple[npt.NDArray[np.int64], list[Any]]:
        """Each row's group number for the given per-row keys, and the keys by group number."""
        index: dict[Any, int] = {}
        groups = np.fromiter(
            (index.setdefault(k, len(index)) for k in values), dtype=np.int64, count=len(values)
        )
        return groups, list(index)


def _columns(model: Any, when: Any) -> list[Any]:
    return [
        when,
        model.team_id,
        model.assignee_id,
        model.received,
        model.responded,
        model.resolved,
        model.sla_due,
        model.sla_met,
        model.first_response_hist,
        model.resolution_hist,
    ]


def daily_rows(
    session: Session,
    who: Principal,
    filters: Filters,
    ranges: Sequence[tuple[date, date]] | None = None,
    months: Sequence[date] = (),
) -> DailyRows:
    """The rollup rows of the day ranges (default: the whole period) and of the whole months."""
    found: list[Any] = []
    for first, last in [(filters.first, filters.last)] if ranges is None else ranges:
        stmt = select(*_columns(ServiceDaily, ServiceDaily.day)).where(
            ServiceDaily.day >= first, ServiceDaily.day <= last
        )
        found.extend(session.execute(scoped(stmt, who, ServiceDaily, filters)).all())
    if months:
        stmt = select(*_columns(ServiceMonthly, ServiceMonthly.month)).where(ServiceMonthly.month.in_(months))
        found.extend(session.execute(scoped(stmt, who, ServiceMonthly, filters)).all())
    return rows_of(found)


def rows_of(found: Sequence[Any]) -> DailyRows:
    if not found:
        nothing = histogram.Decoded.of([])
        return DailyRows([], [], [], np.zeros((0, len(COUNTED)), dtype=np.int64), nothing, nothing)
    days, teams, assignees, *counts, frt, res = zip(*found, strict=True)
    return DailyRows(
        list(days),
        list(teams),
        list(assignees),
        np.array(counts, dtype=np.int64).T,
        histogram.Decoded.of(frt),
        histogram.Decoded.of(res),
    )


def grouped(rows: DailyRows, keys: Sequence[Hashable]) -> dict[Any, Figures]:
    """Figures per distinct key (``keys`` gives each row's)."""
    groups, names = rows.keys(keys)
    n = len(names)
    if n == 0:
        return {}
    counts = np.stack(
        [np.bincount(groups, weights=rows.counts[:, i], minlength=n) for i in range(len(COUNTED))], axis=1
    )
    first = rows.first_response.grouped(groups, n)
    resolution = rows.resolution.grouped(groups, n)
    return {
        key: Figures(np.rint(counts[i]).astype(np.int64), first[i], resolution[i])
        for i, key in enumerate(names)
    }


def totals(rows: DailyRows) -> Figures:
    return grouped(rows, [0] * len(rows.days)).get(0, Figures())


def backlog(session: Session, who: Principal, filters: Filters, now: datetime) -> list[int]:
    """Open requests now, by age band (see ``AGES``), counted in the database."""
    bands = []
    newer = None
    for bound, _ in AGES:
        older_than = RequestFact.created_at <= now - timedelta(hours=bound) if bound is not None else None
        inside = [c for c in (newer, None if older_than is None else ~older_than) if c is not None]
        bands.append(func.count().filter(*inside) if inside else func.count())
        newer = older_than
    stmt = scoped(select(*bands).where(RequestFact.is_open), who, RequestFact, filters)
    return [int(n or 0) for n in session.execute(stmt).one()]


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


def breakdowns(session: Session, rows: DailyRows, filters: Filters) -> list[Table]:
    base = {"dataset": "requests", "from": filters.first.isoformat(), "to": filters.last.isoformat()}
    by_user = grouped(rows, rows.assignees)
    by_team = grouped(rows, rows.teams)
    people = _names(session, User, set(by_user))
    org_of: dict[int, int] = {
        uid: org
        for uid, org in session.execute(
            select(User.id, User.org_id).where(User.id.in_([i for i in by_user if i is not None]))
        )
    }
    orgs = _names(session, Organization, set(org_of.values()))
    teams = _names(session, Team, set(by_team))
    by_org = grouped(rows, [org_of.get(a) if a is not None else None for a in rows.assignees])

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
    months, ranges = split_months(filters.first, filters.last)
    whole = daily_rows(session, who, filters, ranges, months) if months else None
    rows = whole if whole is not None and filters.grain is Grain.MONTH else daily_rows(session, who, filters)
    places = {day: place(filters, index, day) for day in set(rows.days)}
    buckets = grouped(rows, [places[day] for day in rows.days])
    per = [buckets.get(i, Figures()) for i in range(len(labels))]
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
    overall = totals(whole if whole is not None else rows)
    return Dashboard(
        "service",
        filters,
        [volume, times, sla, backlog_chart, dropped_chart, *extra_charts],
        [*breakdowns(session, whole if whole is not None else rows, filters), *extra_tables],
        extra={"totals": overall},
    )
