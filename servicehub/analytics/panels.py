"""The hook other features use to add panels to the service dashboard.

Work orders and sales leads are built in their own packages; their figures belong on the
service page (工单按状态与超时, 销售线索按阶段与负责人) without analytics importing them. A
package registers a panel once, at import (its ``tasks`` module is imported in every
process, see ``core.tasks.TASK_MODULES``)::

    from servicehub.analytics.panels import ServicePanel, register_service_panel

    def orders_by_state(session, who, filters):
        rows = session.execute(restrict(select(...), who, "analytics.view", WorkOrder)...)
        return Chart(key="service-workorders", title="workorders.analytics.by_state", ...)

    register_service_panel(ServicePanel("workorders", orders_by_state))

The function gets the session, the viewer and the page's :class:`Filters` and returns a
:class:`Chart` (and optionally a :class:`Table`); it must read through
``permissions.restrict`` like every figure here, and its model needs its clause in
``permissions._CLAUSES``. A panel that raises is left out of the page and logged, so one
broken panel does not take the dashboard down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from servicehub.analytics.charts import Chart, Table
from servicehub.analytics.filters import Filters
from servicehub.core.permissions import Principal

log = logging.getLogger(__name__)

PanelResult = Chart | tuple[Chart, Table]
PanelFn = Callable[[Session, Principal, Filters], PanelResult | None]


@dataclass(frozen=True)
class ServicePanel:
    key: str
    compute: PanelFn


SERVICE_PANELS: dict[str, ServicePanel] = {}


def register_service_panel(panel: ServicePanel) -> None:
    """Add (or replace, by key) a panel of the service dashboard."""
    SERVICE_PANELS[panel.key] = panel


def extra_panels(session: Session, who: Principal, filters: Filters) -> tuple[list[Chart], list[Table]]:
    charts: list[Chart] = []
    tables: list[Table] = []
    for key in sorted(SERVICE_PANELS):
        try:
            with session.begin_nested():  # a failed query must not spoil the session for the rest
                result = SERVICE_PANELS[key].compute(session, who, filters)
        except Exception:
            log.exception("service panel %s failed", key)
            continue
        if isinstance(result, tuple):
            charts.append(result[0])
            tables.append(result[1])
        elif result is not None:
            charts.append(result)
    return charts, tables
