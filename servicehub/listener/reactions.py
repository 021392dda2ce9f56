"""What a published post draws besides comments: its reposts, taken in like mentions.

Publishing's tracking notices a post's repost count rise and queues ``listener.take_reposts``.
The reposts made since the last read go through the same exactly-once intake, filters and
routing as anything the pollers fetch: a repost that asks for service becomes a request, an
empty "转发微博" is dropped as empty content and only counted. A repost that also mentions
the account arrives by the mentions poller too and is stored once. The read is the lowest
budget tier, like the tracking that asked for it.
"""

from __future__ import annotations

import logging

from servicehub.accounts.adapters import connected
from servicehub.accounts.budget import budget_for, may_poll
from servicehub.adapters import registry
from servicehub.adapters.base import RepostReader, repost_reader
from servicehub.adapters.errors import PlatformError
from servicehub.core.models import Account, TrackedPost
from servicehub.core.runtime import get_runtime
from servicehub.core.tasks import task
from servicehub.listener.filtering import chain_for
from servicehub.listener.store import store_and_route

log = logging.getLogger(__name__)

TIER = 2


@task("listener.take_reposts")
def take_reposts(outbound_id: int) -> int:
    """Take in the new reposts of one tracked post; how many were stored."""
    runtime = get_runtime()
    budget, per_hour = budget_for(runtime), runtime.settings.listener.hourly_budget
    with runtime.sessions() as session:
        post = session.get(TrackedPost, outbound_id)
        account = session.get(Account, post.account_id) if post else None
        if post is None or account is None or not registry.capable(account.platform, RepostReader):
            return 0
        if not may_poll(budget, account.id, tier=TIER, per_hour=per_hour):
            return 0
        try:
            with connected(runtime, account) as adapter:
                budget.spend(account.id)
                result = repost_reader(adapter).repost_timeline(post.platform_id, post.reposts_since)
        except PlatformError as exc:
            log.info("reposts of post %s not read this time: %s", post.platform_id, exc)
            return 0
        stored = store_and_route(session, runtime, account, result.items, chain_for(session, runtime))
        if result.newest_id is not None and result.items:
            post.reposts_since = result.newest_id
        session.commit()
        return len(stored.ids)
