"""What a dashboard hands the page: charts (drawn by ECharts) and tables, in neutral terms.

Names are catalog keys (``analytics.interaction.comment``) unless marked ``literal`` (an
account's or a customer's name); the workbench translates them and turns drill-down
parameters into links. Every chart is also readable as a table: its categories are the
rows, its series the columns.

:func:`scoped` is how every figure reads a rollup: ``restrict`` to the viewer's data scope
of ``analytics.view``, then the page's account and team filters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Select

from servicehub.analytics.clock import Grain, bucket_of, buckets, label, next_month
from servicehub.analytics.filters import Filters
from servicehub.core.permissions import Principal, restrict

FUNCTION = "analytics.view"

S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def scoped(stmt: S, who: Principal, model: type[Any], filters: Filters, *, teams: bool = True) -> S:
    """``stmt`` over ``model`` limited to the viewer's scope and the page's filters."""
    limited = restrict(stmt, who, FUNCTION, model)
    if filters.account_ids:
        limited = limited.where(model.account_id.in_(filters.account_ids))
    if teams and filters.team_ids and hasattr(model, "team_id"):
        limited = limited.where(model.team_id.in_(filters.team_ids))
    return limited


@dataclass(frozen=True)
class Series:
    name: str
    data: Sequence[float | int | None]
    kind: str = "bar"  # bar | line
    stack: str | None = None
    axis: int = 0  # 0: left (counts), 1: right (minutes, percent)
    literal: bool = False  # ``name`` is a display value, not a catalog key
    drill: Mapping[str, str] = field(default_factory=dict)  # extra drill-down parameters


@dataclass(frozen=True)
class Chart:
    key: str  # the element id, e.g. "trends-interactions"
    title: str  # catalog key
    categories: list[str]
    series: list[Series]
    kind: str = "cartesian"  # cartesian | hbar | pie | graph
    category_keys: bool = False  # categories are catalog keys
    ranges: list[tuple[date, date]] = field(default_factory=list)  # each category's days, for drill-down
    drill: Mapping[str, str] = field(default_factory=dict)  # dataset and fixed parameters; {} = none
    category_drill: list[Mapping[str, str]] = field(default_factory=list)  # per-category parameters
    units: tuple[str, ...] = ("count",)  # per axis: count | minutes | percent
    note: str | None = None  # catalog key of a remark under the chart
    graph: Mapping[str, Any] | None = None  # nodes and links of a relationship graph

    @property
    def empty(self) -> bool:
        if self.graph is not None:
            return not self.graph.get("nodes")
        return not any(v for s in self.series for v in s.data if v)


@dataclass(frozen=True)
class Cell:
    value: str | int | float | None
    literal: bool = True  # False: ``value`` is a catalog key
    drill: Mapping[str, str] | None = None  # a drill-down link with these parameters
    customer_id: int | None = None  # a link to the customer page
    request_id: int | None = None  # a link to the request page
    platform: bool = False  # ``value`` is a platform code, shown by its name


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: list[str]  # catalog keys
    rows: list[list[Cell]]
    note: str | None = None


@dataclass(frozen=True)
class Dashboard:
    name: str  # fans | graph | trends | publishing | service
    filters: Filters
    charts: list[Chart]
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # catalog keys shown above the charts
    extra: Mapping[str, Any] = field(default_factory=dict)


def timeline(filters: Filters) -> tuple[list[date], list[str], list[tuple[date, date]]]:
    """The period's buckets: their starts, axis labels and (clipped) day ranges."""
    starts = buckets(filters.first, filters.last, filters.grain)
    ranges = []
    for start in starts:
        if filters.grain is Grain.MONTH:
            end = next_month(start)
        elif filters.grain is Grain.WEEK:
            end = date.fromordinal(start.toordinal() + 7)
        else:
            end = date.fromordinal(start.toordinal() + 1)
        ranges.append((max(start, filters.first), min(date.fromordinal(end.toordinal() - 1), filters.last)))
    return starts, [label(s, filters.grain) for s in starts], ranges


def bucket_index(filters: Filters) -> dict[date, int]:
    starts = buckets(filters.first, filters.last, filters.grain)
    return {start: i for i, start in enumerate(starts)}


def place(filters: Filters, index: dict[date, int], day: date) -> int | None:
    return index.get(bucket_of(day, filters.grain))


def rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None
