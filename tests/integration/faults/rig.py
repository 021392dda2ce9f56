"""A production hub with breakable parts, for the fault tests.

Everything a fault touches is private to the test, so breaking it disturbs no one else on
the machine:

- **Redis**: a ``redis-server`` of its own on a free port (broker, event bus, budgets),
  which a test can kill and start again on the same port;
- **PostgreSQL**: the hub reaches its own database through :class:`PgProxy`, a TCP relay
  that can stop passing bytes for a few seconds (a paused server: every query in flight and
  every new connection waits, then carries on) or cut every connection (a restarted one).
  Pausing the real backends with SIGSTOP would do the same for the hub, but a stopped
  backend may hold a lock of the shared server (a WAL insertion lock, a buffer's content
  lock) and stall other people's databases for the length of the pause; the relay stalls
  only this test's connections;
- **Celery**: ``servicehub worker`` processes in their own process group, killed with
  SIGKILL as a crashed machine would lose them, and started again;
- **the platform**: the simulator, in this process, with its ``/_sim/faults`` control API.

Beat is not run: the test enqueues ``listener.poll_due`` itself (as beat would, faster), and
after a fault it runs the periodic sweeps once with the clock moved past their thresholds
(:meth:`HubRig.sweep`) -- what beat does by itself within a few minutes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import redis
import uvicorn

from servicehub.accounts.registration import store_token
from servicehub.adapters.simulator.server import SimulatorThread, run_simulator_in_thread
from servicehub.core import migrate
from servicehub.core.db import utcnow
from servicehub.core.models import Account
from servicehub.core.runtime import Runtime, build_runtime, set_runtime
from servicehub.core.settings import load_settings
from servicehub.publishing.outbox import due_for_retry, sweep_interrupted
from servicehub.routing.assign import assign_backlog
from servicehub.routing.tasks import route_left_behind
from servicehub.workbench.app import create_app
from tests.factories import World, build_world
from tests.live import free_port


class PgProxy:
    """A TCP relay to PostgreSQL that can pause (hold every byte) and cut every connection."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._flowing: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="pg-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._flowing = asyncio.Event()
        self._flowing.set()
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", self.port))
        ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.run_until_complete(server.wait_closed())
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            with suppress(Exception):
                self._loop.run_until_complete(
                    asyncio.gather(*asyncio.all_tasks(self._loop), return_exceptions=True)
                )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        await self._flowing.wait()  # a paused server accepts nothing new either
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            assert self._flowing is not None
            with suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    await self._flowing.wait()
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def url(self, database_url: str) -> str:
        """``database_url`` (on 127.0.0.1:5432) reached through this relay."""
        host = f"{self.target[0]}:{self.target[1]}"
        assert host in database_url, database_url
        return database_url.replace(host, f"127.0.0.1:{self.port}")

    def pause(self) -> None:
        assert self._flowing is not None
        self._loop.call_soon_threadsafe(self._flowing.clear)

    def resume(self) -> None:
        assert self._flowing is not None
        self._loop.call_soon_threadsafe(self._flowing.set)

    def cut(self) -> None:
        """Close every open connection (a restarted server); new ones are accepted again."""

        def close_all() -> None:
            for writer in list(self._writers):
                writer.transport.abort()

        self._loop.call_soon_threadsafe(close_all)

    def close(self) -> None:
        self.resume()
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


class PrivateRedis:
    """A ``redis-server`` of the test's own that keeps nothing on disk (as the machine's)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
            finally:
                client.close()
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def kill(self) -> None:
        """SIGKILL: everything it held (queued tasks included) is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def close(self) -> None:
        self.kill()


@dataclass
class Injected:
    """What the test put on the platform, by hub message kind: platform ids."""

    ids: dict[str, list[str]]

    def total(self) -> int:
        return sum(len(v) for v in self.ids.values())


SIM_KIND = {"mention": "mention", "comment": "comment", "message": "private_message"}


class HubRig:
    """The hub in production mode over the parts above (see the module docstring)."""

    def __init__(self, tmp: Path, database_url: str, hub_settings: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        self.logs: list[Path] = []
        self.redis = PrivateRedis(tmp)
        self.proxy = PgProxy(("127.0.0.1", 5432))
        self.sim: SimulatorThread = run_simulator_in_thread("127.0.0.1", 0, seed=16, rate=0.0)
        self.control = httpx.Client(base_url=self.sim.base_url, timeout=30)
        self.web_port = free_port()
        self.env = {
            "HUB_SETTINGS": str(tmp / "absent.toml"),
            "HUB_HUB__MODE": "production",
            "HUB_HUB__DATA_DIR": str(tmp / "var"),
            "HUB_HUB__SECRET_KEY": "fault-test-secret-long-enough-for-production-0123",
            "HUB_DATABASE__URL": self.proxy.url(database_url),
            "HUB_TASKS__BACKEND": "celery",
            "HUB_TASKS__BROKER_URL": self.redis.url,
            "HUB_REDIS__URL": self.redis.url,
            "HUB_WEB__PORT": str(self.web_port),
            "HUB_WEB__PUBLIC_URL": f"http://127.0.0.1:{self.web_port}",
            "HUB_LISTENER__POLL_INTERVAL_SECONDS": "0.5",
            "HUB_LISTENER__MAX_INTERVAL_SECONDS": "2",
            "HUB_LISTENER__LEASE_SECONDS": "4",
            "HUB_LISTENER__HOURLY_BUDGET": "1000000",
            "HUB_PLATFORMS__WEIBO__API_BASE": self.sim.base_url,
            "HUB_PLATFORMS__WEIBO__APP_KEY": "fault-app",
            "HUB_PLATFORMS__WEIBO__APP_SECRET": "fault-app-secret",
            "HUB_PLATFORMS__WEIBO__TIMEOUT_SECONDS": "1.5",
            "HUB_PLATFORMS__WEIBO__MAX_RETRIES": "1",
            "HUB_PLATFORMS__WEIBO__PAGE_SIZE": "20",
            "HUB_PLATFORMS__WEIBO__MAX_PAGES": "2",
            "HUB_PLATFORMS__WECHAT__API_BASE": self.sim.base_url,
            **(hub_settings or {}),
        }
        self.runtime: Runtime = build_runtime(load_settings(env=self.env))
        migrate.upgrade(self.runtime.engine)
        set_runtime(self.runtime)
        self.world: World = build_world(self.runtime)
        self.accounts: dict[int, str] = {}
        with self.runtime.sessions.begin() as s:
            for account_id in (self.world.inhouse_account_id, self.world.partner_account_id):
                account = s.get(Account, account_id)
                assert account is not None
                self.accounts[account_id] = account.platform_uid
        for account_id, uid in self.accounts.items():
            self.sim_call(
                "POST",
                "/_sim/accounts",
                uid=uid,
                screen_name=f"客服{uid}",
                app_key="fault-app",
                app_secret="fault-app-secret",
            )
            self.reauthorize(account_id)
            self.sim_call(
                "POST", "/_sim/callbacks", account_uid=uid, url=f"{self.web_url}/push/weibo/{account_id}"
            )
        self.sim_call("POST", "/_sim/limits", user_per_hour=10**6, ip_per_hour=10**6, comments_per_hour=10**6)
        self.workers: list[subprocess.Popen[bytes]] = []
        self.restarted = 0
        self._web = uvicorn.Server(
            uvicorn.Config(
                create_app(self.runtime),
                host="127.0.0.1",
                port=self.web_port,
                log_level="warning",
                lifespan="on",
            )
        )
        self._web_thread = threading.Thread(target=self._web.run, daemon=True)
        self._web_thread.start()
        deadline = time.monotonic() + 10
        while not self._web.started and time.monotonic() < deadline:
            time.sleep(0.05)
        self._polling = threading.Event()
        self._poller: threading.Thread | None = None

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    # -- the platform ---------------------------------------------------------------------------

    def sim_call(self, method: str, path: str, **body: Any) -> Any:
        response = self.control.request(method, path, json=body or None)
        response.raise_for_status()
        return response.json()

    def faults(self, **settings: Any) -> None:
        self.sim_call("POST", "/_sim/faults", **settings)

    def reauthorize(self, account_id: int) -> None:
        """What an administrator's OAuth round trip does: a new token, stored sealed."""
        issued = self.sim_call("POST", "/_sim/tokens", account_uid=self.accounts[account_id])
        with self.runtime.sessions.begin() as s:
            account = s.get(Account, account_id)
            assert account is not None
            store_token(s, self.runtime, account, issued["access_token"], utcnow() + timedelta(days=7))

    def inject(self, marker: str, *, mentions: int = 0, comments: int = 0, pushes: int = 0) -> Injected:
        """Customer items on both accounts; pushed private messages reach the hub's web process."""
        ids: dict[str, list[str]] = {k: [] for k in SIM_KIND.values()}
        for uid in self.accounts.values():
            for kind, n in (("mention", mentions), ("comment", comments), ("message", pushes)):
                if n:
                    made = self.sim_call(
                        "POST",
                        "/_sim/burst",
                        account_uid=uid,
                        n=n,
                        kind=kind,
                        push=kind == "message",
                        text=f"{marker}第{{i}}条：家里宽带断网两天了，什么时候能修好？",
                    )
                    ids[SIM_KIND[kind]] += made["ids"]
        return Injected(ids)

    def replies_on_platform(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.sim_call("GET", "/_sim/outbox")["items"]
        return items

    # -- the hub's processes --------------------------------------------------------------------

    def start_worker(self, concurrency: int = 2) -> subprocess.Popen[bytes]:
        log = self.tmp / f"worker-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:  # the child has its own copy of the descriptor
            proc = subprocess.Popen(
                [sys.executable, "-m", "servicehub.cli", "worker", "--concurrency", str(concurrency)],
                env={**os.environ, **self.env},
                cwd=self.tmp,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.workers.append(proc)
        deadline = time.monotonic() + 60
        while b" ready." not in log.read_bytes():
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the worker did not get ready within 60 s"
            time.sleep(0.1)
        return proc

    def kill_workers(self) -> None:
        """kill -9 every worker process (the main one and its pool), as a crash would."""
        for proc in self.workers:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        self.workers = []

    def stop_workers(self) -> None:
        for proc in self.workers:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        self.workers = []

    def supervise(self) -> None:
        """Start a worker that exited again, as systemd does (``Restart=on-failure`` in
        deploy/systemd): a worker may end itself when its broker goes away at a bad moment."""
        for proc in list(self.workers):
            if proc.poll() is not None:
                self.restarted += 1
                self.workers.remove(proc)
                self.start_worker()

    def worker_output(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs)

    @contextmanager
    def polling(self, every: float = 0.5) -> Iterator[None]:
        """Enqueue ``listener.poll_due`` every ``every`` seconds, as beat does (enqueues that
        fail while the broker is down are skipped, as beat's would be)."""
        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                with suppress(Exception):
                    self.runtime.tasks.enqueue("listener.poll_due")
                stop.wait(every)

        thread = threading.Thread(target=run, name="poll-due", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(5)

    def sweep(self) -> None:
        """The periodic sweeps, once, as beat runs them when their time has come."""
        later = utcnow() + timedelta(minutes=6)
        route_left_behind(self.runtime, now=later)
        assign_backlog(self.runtime)
        sweep_interrupted(self.runtime, now=later)
        with self.runtime.sessions() as s:
            due = due_for_retry(s, now=later)
        for outbound_id in due:
            self.runtime.tasks.enqueue("publishing.send", outbound_id=outbound_id)

    def wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, (
                f"{what} within {timeout:.0f} s\n{self.worker_output()[-4000:]}"
            )
            time.sleep(0.3)

    def close(self) -> None:
        self.stop_workers()
        self._web.should_exit = True
        self._web_thread.join(10)
        set_runtime(None)
        self.runtime.close()
        self.control.close()
        self.sim.stop()
        self.proxy.close()
        self.redis.close()
