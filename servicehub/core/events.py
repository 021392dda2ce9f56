"""The event bus seam: in-process fan-out (embedded) or Redis pub/sub (several processes).

Events are small JSON dicts telling the workbench something changed ("request 42 was
assigned to user 7"); pages re-read what they show, so a lost event costs a refresh, not data.
Publish only after commit (see ``core.db.on_commit``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

log = logging.getLogger(__name__)

CHANNEL = "servicehub:events"


class Subscription(Protocol):
    async def get(self, timeout: float) -> dict[str, Any] | None:
        """The next event, or None when ``timeout`` seconds pass without one."""
        ...


class EventBus(Protocol):
    def publish(self, event: dict[str, Any]) -> None: ...

    def subscribe(self) -> Any:  # async context manager yielding a Subscription
        ...


class InProcessBus:
    """Thread-safe publish from worker threads to asyncio subscribers in the web process."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = []
        self._lock = threading.Lock()

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(_put_nowait, queue, event)
            except RuntimeError:  # loop closed: the subscriber went away
                continue

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers.append(entry)
        try:
            yield _QueueSubscription(queue)
        finally:
            with self._lock:
                self._subscribers.remove(entry)


def _put_nowait(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    if queue.full():  # a slow page: drop the oldest, it will re-read anyway
        queue.get_nowait()
    queue.put_nowait(event)


class _QueueSubscription:
    def __init__(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._queue = queue

    async def get(self, timeout: float) -> dict[str, Any] | None:
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None


class RedisBus:
    """Redis pub/sub, so events from any Celery worker reach every workbench process."""

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        import redis

        self.url = url
        self.channel = channel  # pub/sub ignores Redis DB numbers: hubs sharing a server need their own
        self._client = redis.Redis.from_url(url)

    def publish(self, event: dict[str, Any]) -> None:
        self._client.publish(self.channel, json.dumps(event, ensure_ascii=False))

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.url)
        pubsub = client.pubsub()
        await pubsub.subscribe(self.channel)
        try:
            yield _RedisSubscription(pubsub)
        finally:
            await pubsub.unsubscribe(self.channel)
            await pubsub.aclose()
            await client.aclose()


class _RedisSubscription:
    def __init__(self, pubsub: Any) -> None:
        self._pubsub = pubsub

    async def get(self, timeout: float) -> dict[str, Any] | None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return None
            msg = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            if msg is None:
                continue
            try:
                event: dict[str, Any] = json.loads(msg["data"])
            except (ValueError, TypeError):
                log.warning("ignoring a malformed event")
                continue
            return event
