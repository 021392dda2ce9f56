"""The service dashboard's panels from work orders and sales leads: counted by hand on a small
fixed set, and only what the viewer may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from servicehub.analytics.filters import Filters
from servicehub.analytics.service import service
from servicehub.core.models import Account, ServiceRequest, WorkOrder
from servicehub.core.runtime import Runtime
from servicehub.leads.actions import do_create_lead, do_move_stage
from servicehub.listener.filtering import chain_for
from servicehub.listener.intake import intake
from servicehub.routing.conversations import route_messages
from servicehub.workorders.actions import do_open_work_order
from tests.factories import build_world, mention, principal_of

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the analytics calendar's today
PERIOD = Filters(TODAY - timedelta(days=6), TODAY)


def _request(runtime: Runtime, account_id: int, n: int) -> int:
    with runtime.sessions() as s:
        account = s.get(Account, account_id)
        assert account is not None
        item = mention(f"48{n:014d}", "宽带断了", author_uid=f"31{n:08d}", account_uid=account.platform_uid)
        ids = intake(s, account, [item], chain_for(s, runtime))
        s.commit()
    route_messages(runtime, ids)
    with runtime.sessions() as s:
        return s.scalars(select(ServiceRequest.id).where(ServiceRequest.account_id == account_id)).all()[-1]


def test_work_orders_by_state_and_overdue_and_leads_by_stage_and_owner(runtime: Runtime) -> None:
    w = build_world(runtime)
    mine = [_request(runtime, w.inhouse_account_id, n) for n in range(3)]
    theirs = _request(runtime, w.partner_account_id, 9)
    due = datetime.now(UTC) + timedelta(days=1)
    with runtime.sessions() as s:
        zhangwei, lina = principal_of(s, w.operator_id), principal_of(s, w.partner_id)
        orders = [
            do_open_work_order(
                s,
                runtime,
                zhangwei,
                r,
                kind="billing",
                description="核查",
                target=f"user:{w.operator2_id}",
                due_at=due,
            ).id
            for r in mine[:2]
        ]
        do_open_work_order(
            s,
            runtime,
            lina,
            theirs,
            kind="broadband",
            description="上门",
            target=f"org:{w.inhouse_org_id}",
            due_at=due,
        )
        s.execute(
            update(WorkOrder)
            .where(WorkOrder.id == orders[0])
            .values(due_at=datetime.now(UTC) - timedelta(hours=1))
        )
        won = do_create_lead(s, runtime, zhangwei, request_id=mine[0], product="5G套餐", value=199)
        do_move_stage(s, runtime, zhangwei, won.id, "intentional")
        do_move_stage(s, runtime, zhangwei, won.id, "won")
        do_create_lead(s, runtime, zhangwei, request_id=mine[1], product="宽带提速", value=50)
        do_create_lead(s, runtime, lina, request_id=theirs, product="融合套餐", value=300)
        s.commit()
    with runtime.sessions() as s:
        board = service(s, principal_of(s, w.manager_id), PERIOD)
        partner_board = service(s, principal_of(s, w.partner_id), PERIOD)
    charts = {c.key: c for c in board.charts}
    orders_chart = charts["service-workorders"]
    assert dict(zip(orders_chart.categories, orders_chart.series[0].data, strict=True))["wo_state.sent"] == 3
    assert sum(orders_chart.series[1].data) == 1  # one open past its due time
    leads = dict(zip(charts["service-leads"].categories, charts["service-leads"].series[0].data, strict=True))
    assert (leads["lead_stage.potential"], leads["lead_stage.won"]) == (2, 1)
    [owners] = [t for t in board.tables if t.key == "service-leads-owners"]
    by_owner = {row[0].value: [c.value for c in row[1:]] for row in owners.rows}
    assert by_owner == {"张伟": [1, 0, 1, 0, 199], "李娜": [1, 0, 0, 0, 0]}
    # a partner counts its own company's orders and leads only
    partner = {c.key: c for c in partner_board.charts}
    assert sum(partner["service-workorders"].series[0].data) == 1
    assert sum(partner["service-leads"].series[0].data) == 1


def test_a_period_without_orders_or_leads_shows_no_such_panel(runtime: Runtime) -> None:
    w = build_world(runtime)
    with runtime.sessions() as s:
        board = service(s, principal_of(s, w.manager_id), PERIOD)
    keys = {c.key for c in board.charts} | {t.key for t in board.tables}
    assert not keys & {"service-workorders", "service-leads", "service-leads-owners"}
