"""Listener tasks: find due cursors, poll one cursor, take in pushed items."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from servicehub.core.db import utcnow
from servicehub.core.models import PollCursor
from servicehub.core.runtime import get_runtime
from servicehub.core.tasks import task
from servicehub.listener import reactions  # noqa: F401 -- registers listener.take_reposts
from servicehub.listener.poller import due_cursors, poll_cursor


@task("listener.poll_due", every=3.0)
def poll_due() -> int:
    """Enqueue a poll for every due (account, source); run by beat / the embedded scheduler.

    A cursor enqueued here is not due again until its poll reschedules it -- or, if the task
    was lost (a killed worker, a broker restarted empty), until the lease time has passed.
    Without that, every run while the workers were behind enqueued each waiting cursor once
    more: under load the queue filled with repeated polls and the tasks behind them (routing
    a pushed message, sending a reply) waited behind minutes of them.
    """
    runtime = get_runtime()
    now = utcnow()
    with runtime.sessions.begin() as session:
        ids = due_cursors(session, now)
        if ids:
            again = now + timedelta(seconds=runtime.settings.listener.lease_seconds)
            session.execute(update(PollCursor).where(PollCursor.id.in_(ids)).values(next_poll_at=again))
    for cursor_id in ids:
        runtime.tasks.enqueue("listener.poll", cursor_id=cursor_id)
    return len(ids)


@task("listener.poll")
def poll(cursor_id: int) -> int:
    return poll_cursor(get_runtime(), cursor_id).stored
