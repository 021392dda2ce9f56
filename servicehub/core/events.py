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


class EventBus(Protocol):
    def publish(self, event: dict[str, Any]) -> None: ...

    def subscribe(self) -> Any:  # async context manager yielding an async iterator of events
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
    async def subscribe(self) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers.append(entry)
        try:
            yield _drain(queue)
        finally:
            with self._lock:
                self._subscribers.remove(entry)


def _put_nowait(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    if queue.full():  # a slow page: drop the oldest, it will re-read anyway
        queue.get_nowait()
    queue.put_nowait(event)


async def _drain(queue: asyncio.Queue[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    while True:
        yield await queue.get()


class RedisBus:
    """Redis pub/sub, so events from any Celery worker reach every workbench process."""

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self._client = redis.Redis.from_url(url)

    def publish(self, event: dict[str, Any]) -> None:
        self._client.publish(CHANNEL, json.dumps(event, ensure_ascii=False))

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.url)
        pubsub = client.pubsub()
        await pubsub.subscribe(CHANNEL)
        try:
            yield _redis_events(pubsub)
        finally:
            await pubsub.unsubscribe(CHANNEL)
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await client.aclose()


async def _redis_events(pubsub: Any) -> AsyncIterator[dict[str, Any]]:
    while True:
        msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
        if msg is None:
            continue
        try:
            yield json.loads(msg["data"])
        except (ValueError, TypeError):
            log.warning("ignoring malformed event on %s", CHANNEL)
