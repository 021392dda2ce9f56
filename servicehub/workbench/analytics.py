"""Analytics pages: the overview with its alerts, five dashboards, the rows behind a figure, CSV.

Thin views over :mod:`servicehub.analytics`: parse the filters from the query string, call
one read, render. Charts reach the browser as JSON data blocks (``<script
type="application/json">``, which the CSP allows because nothing executes them) that
``static/analytics.js`` draws with the vendored ECharts; every chart has a table of the
same figures beside it, whose cells link to the rows behind them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from servicehub.analytics.alerts import active_alerts
from servicehub.analytics.charts import FUNCTION, Cell, Chart, Dashboard
from servicehub.analytics.clock import Calendar, Grain
from servicehub.analytics.dashboards import DASHBOARDS, dashboard
from servicehub.analytics.export import export
from servicehub.analytics.filters import PRESETS, Filters, parse
from servicehub.analytics.rows import DATASETS, page
from servicehub.core.db import utcnow
from servicehub.core.models import Account, Team
from servicehub.core.permissions import Principal, restrict
from servicehub.core.runtime import Runtime
from servicehub.workbench.forms import principal, runtime_of
from servicehub.workbench.i18n import has_text, translator
from servicehub.workbench.rendering import locale_of, platform_namer, render
from servicehub.workbench.security import guard

ORDER = ("fans", "graph", "trends", "publishing", "service")
# Parameters a drill-down link may carry besides the filters (see analytics.rows).
DRILL_KEYS = (
    "dataset",
    "kept",
    "interaction",
    "sentiment",
    "reason",
    "keyword",
    "customer",
    "which",
    "assignee",
    "team_of",
    "company",
    "age",
    "hour",
    "weekday",
    "category",
)


def calendar(runtime: Runtime) -> Calendar:
    return Calendar.named(runtime.settings.analytics.timezone)


def filters_of(request: Request, runtime: Runtime, default: str = "30d") -> Filters:
    params = request.query_params
    values = {k: params[k] for k in ("period", "from", "to", "grain") if k in params}
    lists = {k: params.getlist(k) for k in ("account", "team")}
    return parse(values, lists, calendar(runtime).day_of(utcnow()), default)


def drill_href(filters: Filters, params: Mapping[str, str], span: tuple[date, date] | None = None) -> str:
    """The rows page for a figure: the page's accounts and teams, the figure's days and kind."""
    pairs = [(k, v) for k, v in filters.params() if k not in ("from", "to", "grain")]
    first, last = span or (filters.first, filters.last)
    pairs += [("from", params.get("from", first.isoformat())), ("to", params.get("to", last.isoformat()))]
    pairs += [(k, str(v)) for k, v in params.items() if k in DRILL_KEYS]
    if "account" in params:
        pairs = [(k, v) for k, v in pairs if k != "account"] + [("account", params["account"])]
    return "/analytics/rows?" + urlencode(pairs)


def chart_spec(chart: Chart, t: Callable[..., str], filters: Filters) -> dict[str, Any]:
    """What ``analytics.js`` needs to draw a chart: names translated, drill-down links made."""
    categories = (
        [t(c) if has_text(c) else t("analytics.reason.other") for c in chart.categories]
        if chart.category_keys
        else list(chart.categories)
    )
    links: list[list[str | None]] = []
    for series in chart.series:
        row: list[str | None] = []
        for i in range(len(chart.categories)):
            if not chart.drill:
                row.append(None)
                continue
            extra = {
                **chart.drill,
                **series.drill,
                **(chart.category_drill[i] if i < len(chart.category_drill) else {}),
            }
            span = chart.ranges[i] if i < len(chart.ranges) else None
            row.append(drill_href(filters, extra, span))
        links.append(row)
    spec: dict[str, Any] = {
        "kind": chart.kind,
        "title": t(chart.title),
        "categories": categories,
        "units": [t(f"analytics.unit.{u}") for u in chart.units],
        "series": [
            {
                "name": s.name if s.literal else t(s.name),
                "key": None if s.literal else s.name,
                "data": list(s.data),
                "type": s.kind,
                "stack": s.stack,
                "axis": s.axis,
            }
            for s in chart.series
        ],
        "links": links,
        "empty": t("analytics.empty"),
    }
    if chart.graph is not None:
        spec["graph"] = {
            "nodes": [
                {**n, "href": f"/customers/{n['customer_id']}" if n.get("customer_id") else None}
                for n in chart.graph["nodes"]
            ],
            "links": [{**link, "label": t(f"analytics.tie.{link['kind']}")} for link in chart.graph["links"]],
            "categories": [t(f"analytics.mood.{c}") for c in chart.graph["categories"]],
            "category_keys": list(chart.graph["categories"]),
        }
    return spec


def cell_href(cell: Cell, filters: Filters) -> str | None:
    if cell.customer_id is not None:
        return f"/customers/{cell.customer_id}"
    if cell.request_id is not None:
        return f"/requests/{cell.request_id}"
    if cell.drill:
        return drill_href(filters, cell.drill)
    return None


def _choices(session: Any, who: Principal) -> dict[str, Any]:
    accounts = session.execute(
        restrict(
            select(Account.id, Account.display_name, Account.platform).order_by(Account.id),
            who,
            FUNCTION,
            Account,
        )
    ).all()
    teams = session.execute(
        restrict(select(Team.id, Team.name).order_by(Team.name), who, FUNCTION, Team)
    ).all()
    return {"accounts": accounts, "teams": teams}


def _context(request: Request, filters: Filters) -> dict[str, Any]:
    t = translator(locale_of(request))
    return {
        "filters": filters,
        "presets": PRESETS,
        "grains": [g.value for g in Grain],
        "cell_href": lambda cell: cell_href(cell, filters),
        "cell_text": lambda cell: _cell_text(cell, t, platform_namer(locale_of(request))),
        "can_export": principal(request).can("export"),
        "has_text": has_text,
    }


def _cell_text(cell: Cell, t: Callable[..., str], platform_name: Callable[[str], str]) -> str:
    if cell.value is None:
        return "—"
    if cell.platform:
        return platform_name(str(cell.value))
    return str(cell.value) if cell.literal else t(str(cell.value))


@guard(FUNCTION)
async def overview(request: Request) -> Response:
    runtime, who = runtime_of(request), principal(request)

    def load() -> list[Any]:
        with runtime.sessions() as session:
            return active_alerts(session, who, settings=runtime.settings.analytics)

    alerts = await run_in_threadpool(load)
    filters = filters_of(request, runtime)
    return render(
        request,
        "analytics/overview.html",
        alerts=alerts,
        order=ORDER,
        active="overview",
        **_context(request, filters),
    )


@guard(FUNCTION)
async def dashboard_page(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in DASHBOARDS:
        raise HTTPException(404)
    runtime, who = runtime_of(request), principal(request)
    filters = filters_of(request, runtime)

    def load() -> tuple[Dashboard, dict[str, Any]]:
        with runtime.sessions() as session:
            return dashboard(session, who, name, filters), _choices(session, who)

    board, choices = await run_in_threadpool(load)
    t = translator(locale_of(request))
    specs = [(chart, chart_spec(chart, t, filters)) for chart in board.charts]
    return render(
        request,
        "analytics/dashboard.html",
        board=board,
        specs=specs,
        order=ORDER,
        active=name,
        export_href="/analytics/export?" + filters.query(what=name),
        **choices,
        **_context(request, filters),
    )


@guard(FUNCTION)
async def rows_page(request: Request) -> Response:
    runtime, who = runtime_of(request), principal(request)
    filters = filters_of(request, runtime)
    params = {k: request.query_params[k] for k in DRILL_KEYS if k in request.query_params}
    dataset = params.get("dataset", "messages")
    if dataset not in DATASETS:
        raise HTTPException(404)
    after = request.query_params.get("after")

    def load() -> tuple[Any, dict[str, Any]]:
        with runtime.sessions() as session:
            return page(session, who, calendar(runtime), dataset, filters, params, after), _choices(
                session, who
            )

    rows, choices = await run_in_threadpool(load)
    shown_accounts = [name for id_, name, _ in choices["accounts"] if id_ in filters.account_ids]
    shown_teams = [name for id_, name in choices["teams"] if id_ in filters.team_ids]
    base = [(k, v) for k, v in request.query_params.multi_items() if k != "after"]
    return render(
        request,
        "analytics/rows.html",
        page=rows,
        params=params,
        shown_accounts=shown_accounts,
        shown_teams=shown_teams,
        order=ORDER,
        active="rows",
        next_href=("/analytics/rows?" + urlencode([*base, ("after", rows.next_after)]))
        if rows.next_after
        else None,
        export_href="/analytics/export?" + urlencode([*base, ("what", "rows")]),
        **_context(request, filters),
    )


@guard(FUNCTION)
async def export_csv(request: Request) -> Response:
    runtime, who = runtime_of(request), principal(request)
    what = request.query_params.get("what", "")
    if what not in DASHBOARDS and what != "rows":
        raise HTTPException(404)
    filters = filters_of(request, runtime)
    params = {k: request.query_params[k] for k in DRILL_KEYS if k in request.query_params}
    locale = locale_of(request)

    def load() -> tuple[str, str]:
        with runtime.sessions() as session:
            return export(
                session,
                who,
                calendar(runtime),
                what,
                filters,
                params,
                translator(locale),
                platform_namer(locale),
            )

    name, text = await run_in_threadpool(load)
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
    )


ROUTES: list[BaseRoute] = [
    Route("/analytics", overview),
    Route("/analytics/rows", rows_page),
    Route("/analytics/export", export_csv),
    Route("/analytics/{name:str}", dashboard_page),
]
