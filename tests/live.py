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
from tests.conftest import clean_pg, make_settings, reset_cache
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


def add_live_wechat_account(
    hub: LiveHub, appid: str, *, aes_key: str = "", secret: str = "", operator_ids: tuple[int, ...] = ()
) -> int:
    """A WeChat official account in the simulator and in the hub (as its form would add it),
    its callback registered; returns the hub's account id. ``secret`` is what the hub is told
    (default: the right one)."""
    from servicehub.core.models import Organization
    from tests.factories import add_wechat_account

    body = {"appid": appid, "secret": f"{appid}-secret", "token": "push-token", "original_id": f"gh_{appid}"}
    if aes_key:
        body["encoding_aes_key"] = aes_key
    hub.sim_call("POST", "/_sim/wechat/accounts", **body)
    with hub.runtime.sessions.begin() as s:
        org = s.get(Organization, hub.world.inhouse_org_id)
        assert org is not None
        account = add_wechat_account(
            s,
            hub.runtime,
            original_id=f"gh_{appid}",
            appid=appid,
            secret=secret or f"{appid}-secret",
            push_token="push-token",
            aes_key=aes_key,
            org=org,
            operator_ids=operator_ids or (hub.world.operator_id,),
        )
        account_id = account.id
    hub.sim_call(
        "POST",
        f"/_sim/wechat/accounts/{appid}/callback",
        url=f"{hub.web_url}/push/wechat/{account_id}",
        verify=True,
    )
    return account_id


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
    if database_url:  # the session's PostgreSQL database: start from empty tables
        clean_pg(runtime)
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
