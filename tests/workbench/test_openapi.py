"""The JSON API's OpenAPI document is honest (every /api/ route, nothing else), and a
schemathesis fuzz pass over it against the live hub finds no 500."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from starlette.routing import Route
from starlette.testclient import TestClient

from servicehub.core.runtime import Runtime
from servicehub.core.tasks import SyncRunner
from servicehub.workbench.app import create_app
from servicehub.workbench.openapi import DOCUMENT
from tests.factories import PASSWORD
from tests.live import LiveHub, live_hub
from tests.workbench.conftest import csrf_of, hear


def test_every_api_route_is_in_the_document_and_nothing_else(sqlite_runtime: Runtime) -> None:
    served = set()
    for route in create_app(sqlite_runtime).routes:
        if isinstance(route, Route) and route.path.startswith("/api/"):
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
            served |= {(m.lower(), path) for m in (route.methods or {"GET"}) - {"HEAD"}}
    described = {(method, path) for path, item in DOCUMENT["paths"].items() for method in item}
    assert served == described


def test_the_hub_serves_the_document(client: TestClient) -> None:
    assert client.get("/api/openapi.json").json() == DOCUMENT


@pytest.fixture(scope="module")
def fuzzed_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveHub, dict[str, str], int]]:
    with live_hub(tmp_path_factory.mktemp("fuzz"), SyncRunner()) as hub:
        request_id = hear(hub.runtime, hub.world.inhouse_account_id, "4900000000000401", "宽带断网三天了")
        with httpx.Client(base_url=hub.web_url) as browser:
            token = csrf_of(browser.get("/login").text)
            browser.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
            token = csrf_of(browser.get("/").text)
            auth = {"X-CSRF-Token": token, "Cookie": f"hub_session={browser.cookies['hub_session']}"}
        yield hub, auth, request_id


schema = schemathesis.openapi.from_dict(DOCUMENT)
_alternate = itertools.cycle([True, False])


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzing_the_api_finds_no_server_error(
    case: schemathesis.Case, fuzzed_hub: tuple[LiveHub, dict[str, str], int]
) -> None:
    hub, auth, request_id = fuzzed_hub
    if case.path_parameters and next(_alternate):  # half the calls reach a real request
        case.path_parameters["request_id"] = request_id
    response = case.call(base_url=hub.web_url, headers=auth, timeout=10)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"
