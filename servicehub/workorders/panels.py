"""工单按状态与超时: the service dashboard's work-order panel (``analytics.panels``).

Orders opened in the period, by state, beside those of them still open past their due time
(as of now) -- what a supervisor asks first: how many hand-overs, and how many are late. Read
through ``restrict(..., "analytics.view", WorkOrder)``: a partner supervisor counts the orders
of their company's requests and those sent to their company, like the work-order pages.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from servicehub.analytics.charts import Chart, Series
from servicehub.analytics.clock import Calendar
from servicehub.analytics.filters import Filters
from servicehub.analytics.panels import ServicePanel, register_service_panel
from servicehub.core.db import utcnow
from servicehub.core.models import WorkOrder, WorkOrderState
from servicehub.core.permissions import Principal, restrict
from servicehub.core.runtime import get_runtime

FUNCTION = "analytics.view"


def orders_by_state(session: Session, who: Principal, filters: Filters) -> Chart | None:
    """None (no panel) when the period has no order the viewer may see."""
    start, end = Calendar.named(get_runtime().settings.analytics.timezone).span(filters.first, filters.last)
    stmt = select(WorkOrder.state, func.count(), func.count().filter(_late())).where(
        WorkOrder.created_at >= start, WorkOrder.created_at < end
    )
    if filters.account_ids:
        stmt = stmt.where(WorkOrder.account_id.in_(filters.account_ids))
    found = {
        str(state): (total, late)
        for state, total, late in session.execute(
            restrict(stmt, who, FUNCTION, WorkOrder).group_by(WorkOrder.state)
        )
    }
    if not found:
        return None
    states = [str(s) for s in WorkOrderState]
    return Chart(
        key="service-workorders",
        title="analytics.service.workorders",
        categories=[f"wo_state.{s}" for s in states],
        category_keys=True,
        series=[
            Series("analytics.col.orders", [found.get(s, (0, 0))[0] for s in states]),
            Series("analytics.col.overdue", [found.get(s, (0, 0))[1] for s in states]),
        ],
        note="analytics.service.workorders_note",
    )


def _late() -> ColumnElement[bool]:
    """Still open past its due time, now."""
    return and_(WorkOrder.state != WorkOrderState.CLOSED, WorkOrder.due_at < utcnow())


register_service_panel(ServicePanel("workorders", orders_by_state))
