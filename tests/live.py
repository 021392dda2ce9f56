"""A live hub for end-to-end tests: the simulator and the workbench on real loopback ports."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from servicehub.accounts.registration import store_token
from servicehub.adapters.simulator.server import SimulatorThread, run_simulator_in_thread
from servicehub.core import migrate
from servicehub.core.db import utcnow
from servicehub.core.models import Account
from servicehub.core.runtime import Runtime, build_runtime, set_runtime
from servicehub.core.tasks import TaskRunner
from servicehub.workbench.app import create_app
from tests.conftest import make_settings, reset_cache
from tests.factories import World, build_world


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveHub:
    runtime: Runtime
    world: World
    sim: SimulatorThread
    control: httpx.Client
    web_url: str

    def sim_call(self, method: str, path: str, **body: Any) -> Any:
        response = self.control.request(method, path, json=body or None)
        response.raise_for_status()
        return response.json()


@contextmanager
def live_hub(
    tmp_path: Path,
    tasks: TaskRunner,
    *,
    serve_web: bool = True,
    database_url: str = "",
    weibo: dict[str, Any] | None = None,
    sections: dict[str, dict[str, Any]] | None = None,
) -> Iterator[LiveHub]:
    """``sections``: further settings sections (e.g. ``sms``, ``email``, ``crm``)."""
    sim = run_simulator_in_thread("127.0.0.1", 0, seed=11, rate=0.0)
    control = httpx.Client(base_url=sim.base_url, timeout=10)
    port = free_port()
    platforms = {
        "weibo": {
            "api_base": sim.base_url,
            "fans_api_base": sim.base_url,
            "app_key": "hub-app",
            "app_secret": "hub-secret",
            **(weibo or {}),
        },
        "wechat": {"api_base": sim.base_url},
    }
    settings = make_settings(
        tmp_path,
        database_url,
        platforms=platforms,
        web={"port": port, "public_url": f"http://127.0.0.1:{port}"},
        **(sections or {}),
    )
    runtime = build_runtime(settings, tasks=tasks)
    migrate.upgrade(runtime.engine)
    set_runtime(runtime)
    reset_cache()
    world = build_world(runtime)
    hub = LiveHub(runtime, world, sim, control, f"http://127.0.0.1:{port}")
    for account_id in (world.inhouse_account_id, world.partner_account_id):
        with runtime.sessions.begin() as s:
            account = s.get(Account, account_id)
            assert account is not None
            issued = hub.sim_call(
                "POST",
                "/_sim/accounts",
                uid=account.platform_uid,
                screen_name=account.display_name,
                app_key="hub-app",
                app_secret="hub-secret",
                redirect_uri=f"{hub.web_url}/oauth/weibo/callback",
            )
            store_token(
                s,
                runtime,
                account,
                issued["access_token"],
                utcnow() + timedelta(seconds=issued["expires_in"]),
            )
    server = None
    thread = None
    if serve_web:
        config = uvicorn.Config(
            create_app(runtime), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
    try:
        yield hub
    finally:
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout=10)
        control.close()
        sim.stop()
        set_runtime(None)
        runtime.close()
