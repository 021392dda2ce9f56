"""Expected failures end in one line that says what to fix (exit status 2), never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "servicehub.cli", *args],
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "settings.toml"
    bad.write_text("[web]\nport = 80\nhots = '0.0.0.0'\n")
    line = one_line_error(run_cli("--settings", str(bad), "migrate"))
    assert line == "servicehub: error: unknown setting web.hots; did you mean 'host'?"


def test_unreachable_database_says_which_and_what_to_do(tmp_path: Path) -> None:
    env = {
        "HUB_SETTINGS": str(tmp_path / "none.toml"),
        "HUB_DATABASE__URL": "postgresql://hub@127.0.0.1:1/hub",
    }
    line = one_line_error(run_cli("migrate", env=env))
    assert "cannot connect to the database postgresql+psycopg://hub@127.0.0.1:1/hub" in line
    assert "start it or fix [database].url" in line


def test_port_in_use_says_which_setting_to_change(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {
            "HUB_SETTINGS": str(tmp_path / "none.toml"),
            "HUB_HUB__DATA_DIR": str(tmp_path / "var"),
            "HUB_WEB__PORT": str(port),
            "HUB_SIMULATOR__ENABLED": "false",
        }
        line = one_line_error(run_cli("run", env=env))
    assert f"127.0.0.1:{port} is already in use" in line
    assert "HUB_WEB__PORT" in line


def test_run_stops_promptly_on_ctrl_c_even_with_a_live_stream_open(tmp_path: Path) -> None:
    import re
    import signal
    import time

    import httpx

    from tests.live import free_port

    port = free_port()
    env = {
        **os.environ,
        "HUB_SETTINGS": str(tmp_path / "none.toml"),
        "HUB_HUB__DATA_DIR": str(tmp_path / "var"),
        "HUB_WEB__PORT": str(port),
        "HUB_SIMULATOR__PORT": str(free_port()),
        "HUB_SIMULATOR__RATE": "0",
    }
    hub = subprocess.Popen(
        [sys.executable, "-m", "servicehub.cli", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        logins = (tmp_path / "var" / "demo-logins.json").read_text()
        password = re.search(r'"zhangwei": "([^"]+)"', logins)
        assert password
        with httpx.Client(base_url=base) as web:
            token = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/login").text)
            assert token
            web.post(
                "/login",
                data={"username": "zhangwei", "password": password.group(1), "csrf_token": token.group(1)},
            )
            with web.stream("GET", "/events", timeout=30) as stream:
                assert stream.status_code == 200
                hub.send_signal(signal.SIGINT)
                started = time.monotonic()
                hub.wait(timeout=15)
        assert time.monotonic() - started < 10
    finally:
        if hub.poll() is None:
            hub.kill()
        output = hub.communicate()[0]
    assert "Traceback" not in output, output[-3000:]
    assert "社交客服中心已启动" in output and f"http://127.0.0.1:{port}/" in output


def test_analytics_rebuild_on_an_empty_hub(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(f'[hub]\ndata_dir = "{tmp_path / "var"}"\n')
    result = run_cli("--settings", str(settings), "analytics-rebuild")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("analytics rebuilt: 0 message days, 0 service days")
