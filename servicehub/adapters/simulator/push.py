"""Fans-service push: signed POSTs of inbound messages to an account's callback URL.

Weibo signs every push (and the GET that verifies a new URL) with
``sha1(''.join(sorted([app_secret, timestamp, nonce])))`` in the query string, waits 5 s
for an answer and tries three times in all. We retry on timeouts, connection errors and
5xx; a 4xx (say, a rejected signature) is an answer and is not retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections.abc import Coroutine
from typing import Any

import aiohttp

from servicehub.adapters.simulator.clock import SimClock
from servicehub.adapters.simulator.config import SimConfig
from servicehub.adapters.simulator.models import PushRecord
from servicehub.adapters.simulator.state import SimState


def push_signature(secret: str, timestamp: str, nonce: str) -> str:
    """Lower-case hex sha1 of the dictionary-sorted concatenation of the three strings."""
    return hashlib.sha1("".join(sorted([secret, timestamp, nonce])).encode("utf-8")).hexdigest()


class Pusher:
    """Owns the aiohttp client session and the push tasks still in flight."""

    def __init__(self, config: SimConfig, clock: SimClock) -> None:
        self.config = config
        self.clock = clock
        self._rng = random.Random(f"push:{config.seed}")
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    def signed_query(self, secret: str) -> dict[str, str]:
        """Signature parameters. The timestamp is wall-clock time, not simulated time, so a
        receiver's freshness check still passes after ``/_sim/clock`` moved time forward."""
        timestamp = str(int(time.time()))
        nonce = str(self._rng.randrange(10**8, 10**9))
        return {"signature": push_signature(secret, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}

    async def deliver(
        self, state: SimState, account_uid: int, url: str, secret: str, payload: dict[str, Any]
    ) -> PushRecord:
        """POST ``payload`` with up to ``push_tries`` attempts; the record tells what happened."""
        record = state.new_push_record(account_uid, url, payload)
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        timeout = aiohttp.ClientTimeout(total=self.config.push_timeout)
        for attempt in range(1, max(1, self.config.push_tries) + 1):
            record.attempts = attempt
            try:
                async with self._client().post(
                    url,
                    params=self.signed_query(secret),
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=timeout,
                ) as response:
                    record.status = response.status
                    record.response_body = (await response.text(errors="replace"))[:2000]
                    record.error = None
                    if response.status < 500:
                        record.delivered = 200 <= response.status < 300
                        if not record.delivered:
                            record.error = f"HTTP {response.status}"
                        return record
                    record.error = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                record.status = None
                record.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if attempt < self.config.push_tries and self.config.push_retry_delay > 0:
                await asyncio.sleep(self.config.push_retry_delay)
        return record

    def deliver_later(
        self, state: SimState, account_uid: int, url: str, secret: str, payload: dict[str, Any]
    ) -> None:
        """Fire and forget (traffic generator): the task is tracked so shutdown can wait for it."""
        self._track(self.deliver(state, account_uid, url, secret, payload))

    def _track(self, coro: Coroutine[Any, Any, Any]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # generated outside the server loop (unit use): nothing to push with
            coro.close()
            return
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def verify(self, url: str, secret: str) -> dict[str, Any]:
        """Weibo's URL check: GET with ``echostr``; the receiver must echo it back verbatim."""
        echostr = str(self._rng.randrange(10**17, 10**18))
        params = {**self.signed_query(secret), "echostr": echostr}
        timeout = aiohttp.ClientTimeout(total=self.config.push_timeout)
        try:
            async with self._client().get(url, params=params, timeout=timeout) as response:
                text = await response.text(errors="replace")
                return {
                    "ok": response.status == 200 and text == echostr,
                    "status": response.status,
                    "body": text[:500],
                    "echostr": echostr,
                }
        except (aiohttp.ClientError, TimeoutError) as exc:
            return {"ok": False, "status": None, "body": "", "echostr": echostr, "error": type(exc).__name__}

    async def drain(self) -> None:
        """Wait briefly for pushes in flight, then cancel what is left."""
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=1.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
