"""The event bus across processes: Redis pub/sub on the machine's Redis."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest

from servicehub.core.events import RedisBus
from tests.services import redis_url

pytestmark = pytest.mark.integration


async def test_events_published_by_one_process_reach_subscribers() -> None:
    bus = RedisBus(redis_url(), channel=f"test:{uuid.uuid4().hex}")
    async with bus.subscribe() as feed:
        await asyncio.sleep(0.2)  # the SUBSCRIBE is processed by Redis
        threading.Thread(
            target=bus.publish, args=({"type": "request", "request_id": 42, "note": "中文"},)
        ).start()
        event = await feed.get(timeout=5)
    assert event == {"type": "request", "request_id": 42, "note": "中文"}


async def test_a_quiet_redis_subscription_times_out_and_keeps_working() -> None:
    bus = RedisBus(redis_url(), channel=f"test:{uuid.uuid4().hex}")
    async with bus.subscribe() as feed:
        assert await feed.get(timeout=0.3) is None
        await asyncio.sleep(0.1)
        bus.publish({"type": "ping"})
        assert await feed.get(timeout=5) == {"type": "ping"}
