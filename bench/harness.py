"""What the benches share: the machine line they print, a throw-away PostgreSQL database,
a Redis database for a Celery broker, and the hub's worker processes."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg
import redis

ADMIN_URL = os.environ.get("HUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("HUB_BENCH_REDIS", "redis://127.0.0.1:6379").rstrip("/")
CLAIM = "servicehub:bench:broker-claim"


def cpu_model() -> str:
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """``machine: <cpu>, <n> cores, Python x.y.z (arch), PostgreSQL <version>``."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        row = admin.execute("SHOW server_version").fetchone()
    return (
        f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()} "
        f"({platform.machine()}), PostgreSQL {row[0] if row else '?'}"
    )


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """The URL of a new empty database on the machine's PostgreSQL, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{ADMIN_URL.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def claimed_broker() -> Iterator[str]:
    """A Redis database (15, 14, ... 8) no other bench run uses, flushed before and after."""
    token = f"{os.getpid()}:{uuid.uuid4().hex}"
    for number in range(15, 7, -1):
        url = f"{REDIS_BASE}/{number}"
        client = redis.Redis.from_url(url)
        if client.set(CLAIM, token, nx=True, ex=3600):
            break
    else:
        raise SystemExit("no free Redis database (15..8) for the broker: another bench run holds each")
    client.flushdb()
    client.set(CLAIM, token, ex=3600)
    try:
        yield url
    finally:
        client.flushdb()


def start_workers(env: dict[str, str], workers: int, log_path: Path) -> subprocess.Popen[bytes]:
    """``servicehub worker`` (Celery, prefork pool of ``workers``) in its own process group."""
    log = log_path.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "servicehub.cli", "worker", "--concurrency", str(workers)],
        env={**os.environ, **env},
        cwd=env["HUB_HUB__DATA_DIR"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as a whole, children included
    )


def stop_workers(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with suppress(ProcessLookupError):
        proc.terminate()  # Celery's warm shutdown: the pool finishes its tasks and exits
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
