"""Operations: /metrics (content and who may read it), health and readiness, request ids in logs."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from starlette.testclient import TestClient

from servicehub.core import metrics
from servicehub.core.logs import ContextFilter, JsonFormatter
from servicehub.core.runtime import Runtime
from servicehub.workbench import ops
from servicehub.workbench.app import create_app
from tests.factories import build_world
from tests.workbench.conftest import hear

TOKEN = "scrape-token-0123456789"


def test_metrics_show_intake_queue_latency_and_budget_to_the_token_holder(
    sqlite_runtime_with: Callable[..., Runtime],
) -> None:
    metrics.use(metrics.MemoryStore())
    runtime = sqlite_runtime_with(ops={"metrics_token": TOKEN})
    world = build_world(runtime)
    hear(runtime, world.inhouse_account_id, "4900000000000501", "宽带断网三天了")
    with TestClient(create_app(runtime)) as client:
        assert client.get("/metrics").status_code == 404  # no token, not loopback
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
        answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert (
        f'servicehub_intake_messages_total{{account_id="{world.inhouse_account_id}",source="mention"}} 1.0'
        in text
    )
    assert 'servicehub_queue_depth{priority="' in text
    assert "servicehub_assignment_latency_seconds_count 1.0" in text
    assert f'servicehub_api_budget_remaining{{account_id="{world.inhouse_account_id}"}}' in text


@pytest.mark.parametrize(
    ("mode", "token", "addresses", "client", "open_"),
    [
        ("embedded", "", "", "127.0.0.1", True),
        ("embedded", "", "", "10.0.0.9", False),
        ("production", "", "", "127.0.0.1", False),  # never open by default in production
        ("production", "", "10.0.0.0/8", "10.0.0.9", True),
        ("production", TOKEN, "", "127.0.0.1", False),
    ],
)
def test_who_may_read_metrics(
    sqlite_runtime: Runtime, mode: str, token: str, addresses: str, client: str, open_: bool
) -> None:
    settings = sqlite_runtime.settings
    settings = dataclasses.replace(
        settings,
        hub=dataclasses.replace(settings.hub, mode=mode),
        ops=dataclasses.replace(settings.ops, metrics_token=token, metrics_addresses=addresses),
    )
    request = SimpleNamespace(headers={}, client=SimpleNamespace(host=client))
    assert ops.allowed(SimpleNamespace(settings=settings), request) is open_  # type: ignore[arg-type]


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"ok": True}
    assert client.get("/readyz").status_code == 200
    client.app.state.stopping.set()  # type: ignore[attr-defined]
    stopping = client.get("/readyz")
    assert stopping.status_code == 503 and stopping.json()["stopping"] is True


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_every_request_has_an_id_that_its_log_lines_carry(client: TestClient) -> None:
    handler = Lines()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("servicehub.web")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        fresh = client.get("/login")
        given = client.get("/login", headers={"X-Request-ID": "lb-7f3a9c21"})
        odd = client.get("/login", headers={"X-Request-ID": "bad id"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    assert len(fresh.headers["x-request-id"]) == 32
    assert given.headers["x-request-id"] == "lb-7f3a9c21"
    assert odd.headers["x-request-id"] != "bad id"
    logged = [json.loads(line) for line in handler.lines]
    assert {"message": "GET /login 200", "request_id": "lb-7f3a9c21"}.items() <= {
        "message": logged[1]["message"].rsplit(" ", 2)[0],
        "request_id": logged[1]["request_id"],
    }.items()
    assert logged[0]["request_id"] == fresh.headers["x-request-id"]
