"""``servicehub run``: the whole hub in one process, for a first look and for development.

SQLite in the data directory, tasks on a thread pool, the platform simulator on its own
port feeding Chinese customer traffic to two demo accounts, the pollers on a scheduler
thread, and the workbench under uvicorn. Demo logins are generated once, kept in
``<data_dir>/demo-logins.json`` (mode 0600) and printed at every start.
"""

from __future__ import annotations

import dataclasses
import errno
import socket
import sys

from servicehub.core import migrate
from servicehub.core.db import check_connection
from servicehub.core.errors import HubError
from servicehub.core.runtime import Runtime, build_runtime, set_runtime
from servicehub.core.scheduler import Scheduler
from servicehub.core.settings import Settings
from servicehub.core.tasks import schedule


class PortInUse(HubError):
    """The port a server needs is taken; the message names the setting to change."""


def ensure_port_free(host: str, port: int, setting: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            env = "HUB_" + setting.strip("[]").replace("].", "__").upper()
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(
                    f"{host}:{port} is already in use; stop the other program or change {setting} (or {env})"
                ) from exc
            raise PortInUse(
                f"cannot listen on {host}:{port} ({exc.strerror}); change {setting} (or {env})"
            ) from exc


def prepare(settings: Settings) -> Runtime:
    """Data directory, runtime, database reachable and migrated."""
    settings.data_path.mkdir(parents=True, exist_ok=True)
    runtime = build_runtime(settings)
    check_connection(runtime.engine)
    migrate.upgrade(runtime.engine)
    set_runtime(runtime)
    return runtime


def run_embedded(settings: Settings) -> int:
    from servicehub.demo import DemoSimulator, WeChatFeeder, print_banner, seed_demo
    from servicehub.demo_contact import ContactDemo
    from servicehub.workbench.app import create_app
    from servicehub.workbench.server import serve

    ensure_port_free(settings.web.host, settings.web.port, "[web].port")
    simulator: DemoSimulator | None = None
    if settings.simulator.enabled:
        ensure_port_free(settings.simulator.host, settings.simulator.port, "[simulator].port")
        simulator = DemoSimulator.start(settings)
        settings = dataclasses.replace(settings, platforms=simulator.platform_settings(settings))
    contact = ContactDemo(settings)  # SMS gateway simulator and mail server, unless configured
    settings = contact.settings_for(settings)
    runtime = prepare(settings)
    scheduler = Scheduler(runtime.tasks, schedule(settings))
    feeder = None
    try:
        logins = seed_demo(runtime, simulator)
        scheduler.start()
        if simulator is not None and simulator.simulates(WeChatFeeder.PLATFORM):
            feeder = WeChatFeeder(simulator, settings.simulator.rate, settings.simulator.seed)
            feeder.start()
        print_banner(runtime, logins, simulator, out=sys.stdout)
        contact.print_banner(sys.stdout)
        web = settings.web
        serve(create_app(runtime), web.host, web.port, forwarded_allow_ips=web.forwarded_allow_ips)
    finally:
        if feeder is not None:
            feeder.stop()
        scheduler.stop()
        if simulator is not None:
            simulator.stop()
        contact.stop()
        runtime.close()
    return 0
