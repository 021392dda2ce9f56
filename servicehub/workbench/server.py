"""Serving the workbench with uvicorn, ending live-update streams cleanly on shutdown.

Server-sent event streams never finish on their own, so uvicorn would wait for them (or
cancel them noisily). On SIGINT/SIGTERM the app's ``stopping`` event is set first; every
stream sees it within a second and ends, and the graceful timeout covers the rest.
"""

from __future__ import annotations

import asyncio
from types import FrameType

import uvicorn
from starlette.applications import Starlette

SHUTDOWN_GRACE_SECONDS = 5


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, stopping: asyncio.Event) -> None:
        super().__init__(config)
        self._stopping = stopping

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._stopping.set()
        super().handle_exit(sig, frame)


def serve(app: Starlette, host: str, port: int, *, forwarded_allow_ips: str = "127.0.0.1") -> None:
    """Serve ``app``; the client address comes from ``X-Forwarded-For`` only when the connection
    is from one of ``forwarded_allow_ips`` (``[web]``: the reverse proxies)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        log_config=None,  # the hub's own logging (core.logs): JSON lines with request ids
    )
    _Server(config, app.state.stopping).run()
