"""The demo's seeded history: written once, and enough for every chart to draw something."""

from __future__ import annotations

from sqlalchemy import func, select

from servicehub.analytics.alerts import active_alerts
from servicehub.analytics.dashboards import DASHBOARDS, dashboard
from servicehub.analytics.filters import parse
from servicehub.core.db import utcnow
from servicehub.core.models import Message
from servicehub.core.runtime import Runtime
from servicehub.demo_history import seed_history
from tests.factories import build_world, principal_of


def test_history_is_written_once_and_fills_every_chart(sqlite_runtime: Runtime) -> None:
    world = build_world(sqlite_runtime)
    written = seed_history(sqlite_runtime, months=2)
    assert written > 3000
    assert seed_history(sqlite_runtime, months=2) == 0
    with sqlite_runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == written
        who = principal_of(s, world.manager_id)
        filters = parse({"period": "30d"}, {}, utcnow().date())
        for name in DASHBOARDS:
            board = dashboard(s, who, name, filters)
            empty = [c.key for c in board.charts if c.empty]
            assert empty == [], name
        alerts = active_alerts(s, who, settings=sqlite_runtime.settings.analytics)
    assert alerts and alerts[0].kind == "negative" and alerts[0].samples
