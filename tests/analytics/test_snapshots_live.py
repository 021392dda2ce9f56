"""The follower snapshot task against the simulator over HTTP, within the account's API budget."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from servicehub.accounts.budget import RESERVE, budget_for
from servicehub.analytics.snapshots import take_snapshots
from servicehub.core.models import Follower, FollowerSnapshot
from servicehub.core.tasks import SyncRunner
from tests.live import live_hub


def test_snapshots_read_follower_counts_only_above_the_analytics_reserve(tmp_path: Path) -> None:
    with live_hub(tmp_path, SyncRunner(), serve_web=False) as hub:
        runtime, world = hub.runtime, hub.world
        per_hour = runtime.settings.listener.hourly_budget
        budget = budget_for(runtime)
        # The partner account's hour is nearly spent: what is left belongs to customer-facing polling.
        budget.spend(world.partner_account_id, int(per_hour * (1 - RESERVE[2])) + 1)
        assert take_snapshots(runtime) == 1
        with runtime.sessions() as s:
            taken = s.execute(select(FollowerSnapshot.account_id, FollowerSnapshot.followers)).all()
            listed = s.scalar(select(func.count()).select_from(Follower))
        assert [a for a, _ in taken] == [world.inhouse_account_id]
        assert taken[0][1] > 0 and listed == taken[0][1]
