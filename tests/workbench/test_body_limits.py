"""Hole 1: a body over its route's cap is refused before it is read, over a real socket.

A 64 MB chunked POST to a push URL (no login needed) used to be read whole into the hub's
memory before its size was looked at; now the server stops at the cap, answers 413 and
its memory does not grow with the body.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from servicehub.core.tasks import SyncRunner
from servicehub.workbench import limits
from tests.factories import World
from tests.live import LiveHub, live_hub
from tests.workbench.conftest import csrf_of, login

MB = 1024 * 1024


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[LiveHub]:
    with live_hub(tmp_path, SyncRunner()) as running:
        yield running


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class PeakRss:
    """The highest resident size of this process (which runs the server) while in the block."""

    def __init__(self) -> None:
        self.peak = self.base = 0
        self._stop = threading.Event()

    def __enter__(self) -> PeakRss:
        self.base = self.peak = _rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(0.005)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())


def _post_chunked(url: str, total: int, chunk: int = 64 * 1024) -> tuple[int, int]:
    """POST ``total`` bytes chunked; stop sending once the server answers. (status, bytes sent)."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    sent = 0
    answer = b""
    try:
        sock.sendall(
            f"POST {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        piece = f"{chunk:x}\r\n".encode() + b"[" * chunk + b"\r\n"
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += chunk
        else:
            sock.sendall(b"0\r\n\r\n")
        while b"\r\n\r\n" not in answer:
            try:
                got = sock.recv(4096)
            except ConnectionResetError:
                break
            if not got:
                break
            answer += got
    finally:
        sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, sent


def test_a_huge_chunked_push_is_cut_off_at_the_cap_without_growing_memory(hub: LiveHub) -> None:
    url = f"{hub.web_url}/push/weibo/{hub.world.inhouse_account_id}?timestamp=1&nonce=2&signature=x"
    _post_chunked(url, 2 * MB)  # warm up: the first request imports and allocates what it needs
    with PeakRss() as rss:
        status, sent = _post_chunked(url, 64 * MB)
    assert status == 413
    assert rss.peak - rss.base < 16 * MB, f"the hub grew by {(rss.peak - rss.base) / MB:.0f} MB"
    assert sent < 16 * MB, "the server kept reading past its cap"


def test_a_declared_length_over_the_cap_is_refused_before_reading(hub: LiveHub) -> None:
    parts = urlsplit(hub.web_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            f"POST /push/weibo/{hub.world.inhouse_account_id} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {150 * MB}\r\n\r\n".encode()
        )
        answer = sock.recv(4096)  # nothing of the body was sent: the answer cannot wait for it
    assert answer.startswith(b"HTTP/1.1 413")


@pytest.mark.parametrize(
    ("path", "cap"),
    [
        ("/login", limits.LOGIN_BYTES),
        ("/api/requests/1/reply", limits.FORM_BYTES),
        ("/presence", limits.FORM_BYTES),
    ],
)
def test_every_form_and_json_endpoint_is_capped(
    client: TestClient, world: World, path: str, cap: int
) -> None:
    login(client, "zhangwei")
    token = csrf_of(client.get("/").text)

    def chunks() -> Iterator[bytes]:
        yield f"csrf_token={token}&text=".encode()
        for _ in range(cap // 4096 + 2):
            yield b"a" * 4096

    response = client.post(
        path,
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded", "x-csrf-token": token},
    )
    assert response.status_code == 413
    small = client.post(path, data={"csrf_token": token, "text": "a"}, headers={"x-csrf-token": token})
    assert small.status_code != 413
