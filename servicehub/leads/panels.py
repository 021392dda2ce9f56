"""销售线索按阶段与负责人: the service dashboard's sales-lead panel (``analytics.panels``).

Leads logged in the period by stage, and a table of the same per owner with the expected value
of those won -- who turns conversations into sales. Read through ``restrict(...,
"analytics.view", SalesLead)``: a company sees its own leads, a person theirs.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicehub.analytics.charts import Cell, Chart, Series, Table
from servicehub.analytics.clock import Calendar
from servicehub.analytics.filters import Filters
from servicehub.analytics.panels import ServicePanel, register_service_panel
from servicehub.core.models import LeadStage, SalesLead, User
from servicehub.core.permissions import Principal, restrict
from servicehub.core.runtime import get_runtime

FUNCTION = "analytics.view"
STAGES = [str(s) for s in LeadStage]


def leads_by_stage(session: Session, who: Principal, filters: Filters) -> tuple[Chart, Table] | None:
    """None (no panel) when the period has no lead the viewer may see."""
    start, end = Calendar.named(get_runtime().settings.analytics.timezone).span(filters.first, filters.last)
    stmt = (
        select(User.display_name, SalesLead.stage, func.count(), func.coalesce(func.sum(SalesLead.value), 0))
        .join(User, User.id == SalesLead.owner_id)
        .where(SalesLead.created_at >= start, SalesLead.created_at < end)
    )
    if filters.account_ids:
        stmt = stmt.where(SalesLead.account_id.in_(filters.account_ids))
    stmt = restrict(stmt, who, FUNCTION, SalesLead).group_by(User.display_name, SalesLead.stage)
    by_owner: dict[str, dict[str, int]] = defaultdict(dict)
    won_value: dict[str, int] = defaultdict(int)
    for owner, stage, count, value in session.execute(stmt):
        by_owner[owner][str(stage)] = int(count)
        if str(stage) == LeadStage.WON:
            won_value[owner] += int(value)
    if not by_owner:
        return None
    totals = [sum(stages.get(s, 0) for stages in by_owner.values()) for s in STAGES]
    chart = Chart(
        key="service-leads",
        title="analytics.service.leads",
        categories=[f"lead_stage.{s}" for s in STAGES],
        category_keys=True,
        series=[Series("analytics.col.leads", totals)],
    )
    owners = sorted(by_owner, key=lambda o: (-sum(by_owner[o].values()), o))
    table = Table(
        key="service-leads-owners",
        title="analytics.service.leads_by_owner",
        columns=["analytics.col.owner", *[f"lead_stage.{s}" for s in STAGES], "analytics.col.won_value"],
        rows=[
            [Cell(owner), *[Cell(by_owner[owner].get(s, 0)) for s in STAGES], Cell(won_value[owner])]
            for owner in owners
        ],
    )
    return chart, table


register_service_panel(ServicePanel("leads", leads_by_stage))
