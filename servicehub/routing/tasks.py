"""Routing tasks: batches of new message ids become (or join) service requests."""

from __future__ import annotations

from servicehub.core.runtime import get_runtime
from servicehub.core.tasks import task
from servicehub.routing.conversations import route_messages


@task("routing.route_messages")
def route(message_ids: list[int]) -> int:
    return len(route_messages(get_runtime(), message_ids))
