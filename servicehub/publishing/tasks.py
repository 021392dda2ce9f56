"""Publishing tasks: send one outbox row; periodically retry the ones that failed softly and
settle the ones whose sender was interrupted; release scheduled publications; sample the
engagement of sent posts."""

from __future__ import annotations

from servicehub.core.runtime import get_runtime
from servicehub.core.tasks import task
from servicehub.publishing.outbox import due_for_retry, send_outbound, sweep_interrupted
from servicehub.publishing.release import release_due
from servicehub.publishing.tracking import track_due


@task("publishing.send")
def send(outbound_id: int) -> str | None:
    state = send_outbound(get_runtime(), outbound_id)
    return None if state is None else str(state)


@task("publishing.send_due", every=5.0)
def send_due() -> int:
    runtime = get_runtime()
    with runtime.sessions() as session:
        ids = due_for_retry(session)
    for outbound_id in ids:
        runtime.tasks.enqueue("publishing.send", outbound_id=outbound_id)
    return len(ids)


@task("publishing.sweep_interrupted", every=60.0)
def sweep() -> int:
    return len(sweep_interrupted(get_runtime()))


@task("publishing.release_due", every=10.0)
def release() -> int:
    return len(release_due(get_runtime()))


@task("publishing.track", every=20.0)
def track() -> int:
    return track_due(get_runtime()).calls
