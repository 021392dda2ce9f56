"""The demo seeds publishing: contact lists and a publication in each state a user meets -- once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import func, select

from servicehub.adapters.simulator.server import run_simulator_in_thread
from servicehub.core import migrate
from servicehub.core.models import ContactList, DeliveryState, OutboundMessage, Publication, TrackedPost
from servicehub.core.runtime import build_runtime, set_runtime
from servicehub.core.tasks import SyncRunner
from servicehub.demo import DemoSimulator, seed_demo
from servicehub.demo_publishing import seed_publishing
from tests.conftest import make_settings, reset_cache


def test_the_demo_seeds_publications_in_every_state_once(tmp_path: Path) -> None:
    simulator = DemoSimulator(run_simulator_in_thread("127.0.0.1", 0, seed=7, rate=0.0))
    settings = make_settings(tmp_path, simulator={"rate": 0.0})
    platforms = simulator.platform_settings(settings)
    platforms["weibo"]["share_domains"] = "10010.com"
    settings = dataclasses.replace(settings, platforms=platforms)
    runtime = build_runtime(settings, tasks=SyncRunner())
    migrate.upgrade(runtime.engine)
    set_runtime(runtime)
    reset_cache()
    try:
        seed_demo(runtime, simulator)
        seed_publishing(runtime)  # a restart: nothing doubles
        with runtime.sessions() as s:
            states = sorted(str(p.state) for p in s.scalars(select(Publication)))
            assert states == ["pending", "released", "scheduled"]
            sent = list(s.scalars(select(OutboundMessage).where(OutboundMessage.publication_id.is_not(None))))
            assert [o.state for o in sent] == [DeliveryState.SENT, DeliveryState.SENT]
            assert s.scalar(select(func.count()).select_from(TrackedPost)) == 2
            assert sorted(s.scalars(select(ContactList.name))) == ["VIP客户", "宽带用户"]
    finally:
        set_runtime(None)
        runtime.close()
        simulator.stop()
