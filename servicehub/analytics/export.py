"""CSV export of a dashboard's figures or of the rows behind a figure (the ``export`` function).

Figures export as one section per chart and table, the way the page shows them; rows export
whole (up to ``MAX_ROWS``), newest first, with phone and ID-card numbers in texts masked
unless the viewer sees phone numbers on that account (``core.masking``, as on screen).
Files start with a UTF-8 byte-order mark so spreadsheet programs read the Chinese right.
Names are translated by the caller's ``translate`` (the workbench's catalog).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping

from sqlalchemy.orm import Session

from servicehub.analytics.charts import Cell, Chart, Dashboard, Table
from servicehub.analytics.clock import Calendar
from servicehub.analytics.dashboards import dashboard
from servicehub.analytics.filters import Filters
from servicehub.analytics.rows import columns_of, iter_rows
from servicehub.core.permissions import Principal, require

MAX_ROWS = 100_000
BOM = "\ufeff"

Translate = Callable[[str], str]


def _line(values: Iterable[object]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(["" if v is None else v for v in values])
    return out.getvalue()


def cell_text(cell: Cell, translate: Translate, platform_name: Translate) -> str:
    if cell.value is None:
        return ""
    if cell.platform:
        return platform_name(str(cell.value))
    return str(cell.value) if cell.literal else translate(str(cell.value))


def _chart_lines(chart: Chart, translate: Translate) -> Iterator[str]:
    if chart.graph is not None:
        return
    yield _line([translate(chart.title)])
    names = [s.name if s.literal else translate(s.name) for s in chart.series]
    yield _line(["", *names])
    for i, category in enumerate(chart.categories):
        shown = translate(category) if chart.category_keys else category
        yield _line([shown, *(s.data[i] if i < len(s.data) else None for s in chart.series)])
    yield _line([])


def _table_lines(table: Table, translate: Translate, platform_name: Translate) -> Iterator[str]:
    yield _line([translate(table.title)])
    yield _line([translate(c) for c in table.columns])
    for row in table.rows:
        yield _line([cell_text(c, translate, platform_name) for c in row])
    yield _line([])


def dashboard_csv(board: Dashboard, translate: Translate, platform_name: Translate) -> Iterator[str]:
    yield BOM
    yield _line(
        [
            translate(f"analytics.{board.name}.title"),
            board.filters.first.isoformat(),
            board.filters.last.isoformat(),
        ]
    )
    yield _line([])
    for chart in board.charts:
        yield from _chart_lines(chart, translate)
    for table in board.tables:
        yield from _table_lines(table, translate, platform_name)


def rows_csv(
    session: Session,
    who: Principal,
    cal: Calendar,
    dataset: str,
    filters: Filters,
    params: Mapping[str, str],
    translate: Translate,
    platform_name: Translate,
) -> Iterator[str]:
    yield BOM
    yield _line([translate(c) for c in columns_of(dataset)])
    for count, (_, _, cells) in enumerate(iter_rows(session, who, cal, dataset, filters, params)):
        if count >= MAX_ROWS:
            break
        yield _line([cell_text(c, translate, platform_name) for c in cells])


def export(
    session: Session,
    who: Principal,
    cal: Calendar,
    what: str,
    filters: Filters,
    params: Mapping[str, str],
    translate: Translate,
    platform_name: Translate,
) -> tuple[str, str]:
    """(file name, CSV text) of dashboard ``what``, or of the rows of ``params["dataset"]``
    when ``what`` is ``rows``. Needs the ``export`` function as well as ``analytics.view``."""
    require(who, "export")
    require(who, "analytics.view")
    stamp = f"{filters.first:%Y%m%d}-{filters.last:%Y%m%d}"
    if what == "rows":
        dataset = params.get("dataset", "messages")
        text = "".join(rows_csv(session, who, cal, dataset, filters, params, translate, platform_name))
        return f"analytics-{dataset}-{stamp}.csv", text
    board = dashboard(session, who, what, filters)
    return f"analytics-{what}-{stamp}.csv", "".join(dashboard_csv(board, translate, platform_name))
