"""Analytics tasks: keep the rollups current, snapshot follower counts, rebuild on demand."""

from __future__ import annotations

from servicehub.analytics.rollup import rebuild, run
from servicehub.analytics.snapshots import take_snapshots
from servicehub.core.runtime import get_runtime
from servicehub.core.tasks import task


@task("analytics.rollup", every=120.0)
def rollup() -> str:
    """Recompute the buckets touched since the last run (``[analytics] rollup_every_seconds``)."""
    return str(run(get_runtime()))


@task("analytics.snapshot_followers", every=3600.0)
def snapshot_followers() -> int:
    """Read each account's follower count (``[analytics] snapshot_every_seconds``)."""
    return take_snapshots(get_runtime())


@task("analytics.rebuild")
def rebuild_all() -> str:
    """Empty and recompute every rollup (also ``servicehub analytics-rebuild``)."""
    return str(rebuild(get_runtime()))
