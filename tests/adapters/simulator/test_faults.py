"""Injected faults: 5xx, broken bodies, latency; the control API stays untouched."""

from __future__ import annotations

import json
import time

import httpx
import pytest


async def test_fail_next_rotates_through_5xx_shapes(client: httpx.AsyncClient, token: str) -> None:
    await client.post("/_sim/faults", json={"fail_next": 3})
    params = {"access_token": token}
    responses = [await client.get("/2/statuses/mentions.json", params=params) for _ in range(4)]
    assert [r.status_code for r in responses] == [500, 503, 502, 200]
    assert responses[0].json()["error_code"] == 10001 and responses[1].json()["error_code"] == 10002
    assert "nginx" in responses[2].text
    assert (await client.get("/_sim/health")).status_code == 200


async def test_malformed_bodies(client: httpx.AsyncClient, token: str) -> None:
    await client.post("/_sim/faults", json={"malformed_next": 3})
    for _ in range(3):
        response = await client.get("/2/statuses/mentions.json", params={"access_token": token})
        assert response.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.text)
    assert (await client.get("/2/statuses/mentions.json", params={"access_token": token})).json()[
        "statuses"
    ] == []


async def test_fail_rate_paths_and_clear(client: httpx.AsyncClient, token: str) -> None:
    settings = (await client.post("/_sim/faults", json={"fail_rate": 1.0, "paths": ["/2/comments/"]})).json()
    assert settings["fail_rate"] == 1.0 and settings["paths"] == ["/2/comments/"]
    params = {"access_token": token}
    assert (await client.get("/2/comments/to_me.json", params=params)).status_code >= 500
    assert (await client.get("/2/statuses/mentions.json", params=params)).status_code == 200
    await client.post("/_sim/faults", json={"clear": True})
    assert (await client.get("/2/comments/to_me.json", params=params)).status_code == 200


async def test_latency(client: httpx.AsyncClient, token: str) -> None:
    await client.post("/_sim/faults", json={"latency_ms": 150})
    started = time.monotonic()
    await client.get("/2/account/get_uid.json", params={"access_token": token})
    assert time.monotonic() - started >= 0.14
    started = time.monotonic()
    await client.get("/_sim/health")
    assert time.monotonic() - started < 0.14


async def test_bad_fault_settings_are_refused(client: httpx.AsyncClient) -> None:
    assert (await client.post("/_sim/faults", json={"fail_rate": 2})).status_code == 400
    assert (await client.post("/_sim/faults", json={"explode": True})).status_code == 400
    assert (await client.post("/_sim/faults", content=b"[1,2]")).status_code == 400
