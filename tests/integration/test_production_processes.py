"""The production entry points start against real PostgreSQL and Redis: web, migrate, beat."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.live import free_port
from tests.services import claimed_redis_db

pytestmark = pytest.mark.integration


def _env(tmp_path: Path, pg_url: str, broker: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "HUB_SETTINGS": str(tmp_path / "none.toml"),
        "HUB_HUB__MODE": "production",
        "HUB_HUB__DATA_DIR": str(tmp_path / "var"),
        "HUB_HUB__SECRET_KEY": "production-test-secret-not-the-demo-one-0123456789",
        "HUB_DATABASE__URL": pg_url,
        "HUB_TASKS__BACKEND": "celery",
        "HUB_TASKS__BROKER_URL": broker,
        "HUB_REDIS__URL": broker,
        "HUB_WEB__PORT": str(port),
        "HUB_PLATFORMS__WEIBO__API_BASE": "http://127.0.0.1:9",
    }


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


@pytest.fixture
def broker() -> Iterator[str]:
    with claimed_redis_db() as url:
        yield url


def test_migrate_then_web_serves_and_beat_schedules_polling(tmp_path: Path, pg_url: str, broker: str) -> None:
    client = redis.Redis.from_url(broker)
    port = free_port()
    env = _env(tmp_path, pg_url, broker, port)
    migrated = subprocess.run(
        [sys.executable, "-m", "servicehub.cli", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert migrated.returncode == 0, migrated.stderr
    web = subprocess.Popen(
        [sys.executable, "-m", "servicehub.cli", "web"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    beat = subprocess.Popen(
        [sys.executable, "-m", "servicehub.cli", "beat"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert health is not None and health.json() == {"ok": True}
        login = httpx.get(f"http://127.0.0.1:{port}/login")
        assert "登录" in login.text and "hub_session" in login.headers.get("set-cookie", "")
        while time.monotonic() < deadline and not client.llen("celery"):
            time.sleep(0.3)
        assert client.llen("celery") > 0, "beat enqueued no periodic task"
    finally:
        web_out = _stop(web)
        beat_out = _stop(beat)
    assert "Traceback" not in web_out, web_out[-2000:]
    assert "Traceback" not in beat_out, beat_out[-2000:]
