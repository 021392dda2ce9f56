"""Assembling and running the simulator: the aiohttp app, an async server, a thread runner.

``create_app`` wires every route module onto one application (Weibo OAuth + ``/2/`` API,
the ``/_sim/`` control API, and the WeChat protocol from :mod:`.wechat`).
:class:`SimulatorServer` runs it inside an existing event loop (async tests, the embedded
hub); :func:`run_simulator_in_thread` gives sync code (CLI, sync tests) its own loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from servicehub.adapters.simulator import api_messages, api_read, api_write
from servicehub.adapters.simulator.config import SimConfig
from servicehub.adapters.simulator.context import SIM_KEY, Simulator
from servicehub.adapters.simulator.control import register_control
from servicehub.adapters.simulator.control_inject import register_injection
from servicehub.adapters.simulator.control_io import control_errors
from servicehub.adapters.simulator.control_reactions import register_reactions
from servicehub.adapters.simulator.dispatch import Dispatcher
from servicehub.adapters.simulator.faults import FAULTS_KEY, fault_middleware
from servicehub.adapters.simulator.oauth import register_oauth
from servicehub.adapters.simulator.wechat import register_wechat

T = TypeVar("T")


def create_app(sim: Simulator | None = None) -> web.Application:
    sim = sim or Simulator()
    app = web.Application(middlewares=[fault_middleware, control_errors])
    app[SIM_KEY] = sim
    app[FAULTS_KEY] = sim.faults
    register_oauth(app)
    Dispatcher([api_read.routes, api_write.routes, api_messages.routes]).register(app)
    register_control(app)
    register_injection(app)
    register_reactions(app)
    register_wechat(app)
    app.on_startup.append(_start_background)
    app.on_cleanup.append(_stop_background)
    return app


async def _start_background(app: web.Application) -> None:
    app[SIM_KEY].traffic.start()
    app[SIM_KEY].reactions.start()


async def _stop_background(app: web.Application) -> None:
    sim = app[SIM_KEY]
    await sim.traffic.stop()
    await sim.reactions.stop()
    await sim.pusher.close()


def _config(config: SimConfig | None, seed: int | None, rate: float | None) -> SimConfig:
    config = config or SimConfig()
    if seed is not None:
        config.seed = seed
    if rate is not None:
        config.traffic_rate = rate
    return config


class SimulatorServer:
    """The simulator on a TCP port of the current event loop."""

    def __init__(
        self, config: SimConfig | None = None, *, seed: int | None = None, rate: float | None = None
    ) -> None:
        self.sim = Simulator(_config(config, seed, rate))
        self.app = create_app(self.sim)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0 picks a free port) and return the base URL."""
        if self._runner is not None:
            raise RuntimeError("simulator already started")
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = runner.addresses[0][1]
        shown_host = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown_host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> SimulatorServer:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


class SimulatorThread:
    """A simulator running in its own thread and event loop; ``stop()`` ends both."""

    def __init__(
        self, server: SimulatorServer, loop: asyncio.AbstractEventLoop, thread: threading.Thread
    ) -> None:
        self.server = server
        self.base_url = server.base_url
        self._loop = loop
        self._thread = thread

    @property
    def sim(self) -> Simulator:
        """The live simulator; touch its state only under ``sim.state.lock``."""
        return self.server.sim

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the simulator's loop from this thread and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __enter__(self) -> SimulatorThread:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def run_simulator_in_thread(
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 1,
    rate: float = 0.0,
    *,
    config: SimConfig | None = None,
) -> SimulatorThread:
    """Start a simulator in a daemon thread; returns once it accepts connections."""
    ready = threading.Event()
    box: dict[str, Any] = {}

    def main() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            server = SimulatorServer(config, seed=seed, rate=rate)
            loop.run_until_complete(server.start(host, port))
        except BaseException as exc:
            box["error"] = exc
            ready.set()
            loop.close()
            return
        box["server"], box["loop"] = server, loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(server.stop())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=main, name="weibo-simulator", daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("simulator did not start within 30 s")
    if "error" in box:
        raise RuntimeError(f"simulator failed to start: {box['error']}") from box["error"]
    return SimulatorThread(box["server"], box["loop"], thread)
