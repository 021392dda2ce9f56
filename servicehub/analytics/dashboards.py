"""The five dashboards by name: what the workbench pages and the CSV export call."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from servicehub.analytics.charts import Dashboard
from servicehub.analytics.fans import fans
from servicehub.analytics.filters import Filters
from servicehub.analytics.graph import graph
from servicehub.analytics.publishing import publishing
from servicehub.analytics.service import service
from servicehub.analytics.trends import trends
from servicehub.core.permissions import Principal, require

DashboardFn = Callable[[Session, Principal, Filters], Dashboard]

DASHBOARDS: dict[str, DashboardFn] = {
    "fans": fans,
    "graph": graph,
    "trends": trends,
    "publishing": publishing,
    "service": service,
}


def dashboard(session: Session, who: Principal, name: str, filters: Filters) -> Dashboard:
    """Dashboard ``name`` as ``who`` may see it (KeyError for an unknown name)."""
    require(who, "analytics.view")
    return DASHBOARDS[name](session, who, filters)
