"""Listener tasks: find due cursors, poll one cursor, take in pushed items."""

from __future__ import annotations

from servicehub.core.db import utcnow
from servicehub.core.runtime import get_runtime
from servicehub.core.tasks import task
from servicehub.listener.poller import due_cursors, poll_cursor


@task("listener.poll_due", every=3.0)
def poll_due() -> int:
    """Enqueue a poll for every due (account, source); run by beat / the embedded scheduler."""
    runtime = get_runtime()
    with runtime.sessions() as session:
        ids = due_cursors(session, utcnow())
    for cursor_id in ids:
        runtime.tasks.enqueue("listener.poll", cursor_id=cursor_id)
    return len(ids)


@task("listener.poll")
def poll(cursor_id: int) -> int:
    return poll_cursor(get_runtime(), cursor_id).stored
