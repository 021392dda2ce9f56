"""The demo seeds an operator's day: teams to hand over to, snippets, announcements, work orders
and leads in various states around conversations taken in from the simulator -- once."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from servicehub.adapters.simulator.server import run_simulator_in_thread
from servicehub.core import migrate
from servicehub.core.db import utcnow
from servicehub.core.models import (
    Announcement,
    Notification,
    RequestNote,
    SalesLead,
    Snippet,
    Team,
    User,
    WorkOrder,
)
from servicehub.core.runtime import build_runtime, set_runtime
from servicehub.core.tasks import SyncRunner
from servicehub.demo import DemoSimulator, _logins, seed_demo
from servicehub.demo_workday import seed_workday
from tests.conftest import make_settings, reset_cache


def test_the_demo_seeds_the_day_once(tmp_path: Path) -> None:
    simulator = DemoSimulator(run_simulator_in_thread("127.0.0.1", 0, seed=7, rate=0.0))
    settings = make_settings(tmp_path, simulator={"rate": 0.0})
    settings = dataclasses.replace(settings, platforms=simulator.platform_settings(settings))
    runtime = build_runtime(settings, tasks=SyncRunner())
    migrate.upgrade(runtime.engine)
    set_runtime(runtime)
    reset_cache()
    try:
        logins = seed_demo(runtime, simulator)
        assert {"chenjing", "wangqiang", "sunli"} <= set(logins)
        seed_workday(runtime, simulator)  # what a restart runs again: nothing doubles
        with runtime.sessions() as s:
            teams = {t.name: t for t in s.scalars(select(Team))}
            assert {"计费核查组", "宽带装维组"} <= set(teams)
            chenjing = s.scalars(select(User).where(User.username == "chenjing")).one()
            assert [t.name for t in chenjing.teams] == ["计费核查组"]
            assert s.scalar(select(func.count()).select_from(Snippet)) == 7
            assert s.scalar(select(func.count()).select_from(Announcement)) == 4
            orders = list(s.scalars(select(WorkOrder).order_by(WorkOrder.id)))
            assert [str(o.state) for o in orders] == ["accepted", "returned", "sent"]
            assert orders[2].due_at < utcnow()  # one overdue for the supervisors' views
            stages = Counter(str(lead.stage) for lead in s.scalars(select(SalesLead)))
            assert stages == {"intentional": 1, "won": 1, "potential": 1}
            assert s.scalar(select(func.count()).select_from(RequestNote)) == 1
            assert s.scalar(select(func.count()).where(Notification.kind == "mention")) == 1
    finally:
        set_runtime(None)
        runtime.close()
        simulator.stop()


def test_demo_users_added_later_keep_the_others_passwords(tmp_path: Path) -> None:
    (tmp_path / "demo-logins.json").write_text('{"admin": "kept-secret"}')
    logins = _logins(tmp_path)
    assert logins["admin"] == "kept-secret" and logins["chenjing"] and logins["zhangwei"]
    assert _logins(tmp_path) == logins
