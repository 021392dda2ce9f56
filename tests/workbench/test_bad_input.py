"""Hole 8: bad input gets a 4xx, never a 500 -- ids past 2**63 in every route (on PostgreSQL,
which refuses them), cursors out of range, deeply nested JSON in API bodies and signed pushes."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from servicehub.adapters.weibo.push import push_signature
from servicehub.core.runtime import Runtime
from servicehub.workbench.app import create_app
from tests.factories import World, build_world
from tests.workbench.conftest import csrf_of, hear, login

HUGE = str(2**64)
PAST_INTEGER = str(2**31)  # the tables' ids are INTEGER: PostgreSQL refuses this one too
PARAMS = re.compile(r"\{(\w+)(?::(\w+))?\}")
NESTED = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def pg_client(pg_runtime: Runtime) -> Iterator[tuple[TestClient, World, Runtime]]:
    world = build_world(pg_runtime)
    with TestClient(create_app(pg_runtime), follow_redirects=False) as c:
        yield c, world, pg_runtime


def _routes_with_ids(runtime: Runtime) -> list[tuple[str, str]]:
    found = []
    for route in create_app(runtime).routes:
        if isinstance(route, Route) and any(kind == "id" for _, kind in PARAMS.findall(route.path)):
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                found.append((method, route.path))
    return found


def test_every_route_answers_an_id_past_2_63_like_a_missing_one_on_postgresql(
    pg_client: tuple[TestClient, World, Runtime],
) -> None:
    client, _, runtime = pg_client
    login(client, "admin")
    token = csrf_of(client.get("/").text)
    routes = _routes_with_ids(runtime)
    assert len(routes) > 15
    wrong = []
    for method, path in routes:
        answers = {}
        for value in (HUGE, PAST_INTEGER, "999999"):
            url = PARAMS.sub(lambda m, v=value: v if m.group(2) == "id" else "weibo", path)
            if method == "GET":
                answers[value] = client.get(url)
            elif url.startswith("/api/"):
                body = {"text": "您好", "auto": True}
                answers[value] = client.post(url, json=body, headers={"x-csrf-token": token})
            else:
                form = {"csrf_token": token, "user_id": "auto"}
                answers[value] = client.post(url, data=form, headers={"x-csrf-token": token})
        missing = answers["999999"]
        for value in (HUGE, PAST_INTEGER):
            # 404 (no such row); a route that validates its form first may answer as it does
            # for a missing id (422), never with a 500
            if answers[value].status_code not in (404, missing.status_code):
                got = answers[value].status_code
                wrong.append(f"{method} {path} with {value}: {got} (a missing id: {missing.status_code})")
    assert wrong == []


@pytest.mark.parametrize(
    "query",
    [
        "/queue?after=1:" + HUGE,
        "/queue?after=" + HUGE + ":1",
        "/api/requests?after=-1:-1",
        "/review?before=" + HUGE,
        "/review?before=²",
        "/audit?before=" + HUGE,
        "/audit?actor=" + HUGE + "&before=¹",
        "/audit?actor=" + PAST_INTEGER + "&before=" + PAST_INTEGER,
    ],
)
def test_cursors_out_of_range_start_from_the_first_page(
    pg_client: tuple[TestClient, World, Runtime], query: str
) -> None:
    client, _, _ = pg_client
    login(client, "admin")
    assert client.get(query).status_code == 200


def test_deeply_nested_json_in_an_api_body_is_a_400(pg_client: tuple[TestClient, World, Runtime]) -> None:
    client, world, runtime = pg_client
    rid = hear(runtime, world.inhouse_account_id, "4900000000000301", "宽带断网")
    login(client, "admin")
    token = csrf_of(client.get("/").text)
    headers = {"x-csrf-token": token, "content-type": "application/json"}
    for path in (f"/api/requests/{rid}/reply", f"/api/requests/{rid}/assign"):
        assert client.post(path, content=NESTED, headers=headers).status_code == 400, path
    picked = client.post(f"/requests/{rid}/assign", data={"user_id": "²", "csrf_token": token})
    assert picked.status_code == 303  # back to the request, saying why


def test_deeply_nested_json_in_a_signed_push_is_a_400(pg_client: tuple[TestClient, World, Runtime]) -> None:
    client, world, runtime = pg_client
    secret = str(runtime.settings.platforms["weibo"].get("app_secret", ""))
    runtime.settings.platforms["weibo"]["app_secret"] = secret = secret or "push-secret"
    ts, nonce = str(int(time.time())), "7391"
    params = {"timestamp": ts, "nonce": nonce, "signature": push_signature(secret, ts, nonce)}
    nested = b"[" * 50_000 + b"]" * 50_000  # within the push cap
    answer = client.post(
        f"/push/weibo/{world.inhouse_account_id}",
        params=params,
        content=nested,
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 400
