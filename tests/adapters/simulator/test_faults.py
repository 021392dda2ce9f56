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


async def test_a_rate_limit_storm_on_statuses_count_of_one_account(
    client: httpx.AsyncClient, token: str, account: dict[str, object]
) -> None:
    """Only ``statuses/count`` of that account is refused; its intake and other accounts go on."""
    other = (await client.post("/_sim/accounts", json={"seed_posts": 1, "followers": 0})).json()
    mine = await client.post(
        "/2/statuses/share.json", data={"access_token": token, "status": "活动 https://example.com/x"}
    )
    ids = mine.json()["idstr"]
    rule = {"path": "/2/statuses/count.json", "code": 10024, "uid": account["uid"]}
    settings = (await client.post("/_sim/faults", json={"errors": [rule]})).json()
    assert settings["errors"] == [{**rule, "uid": str(account["uid"])}]

    refused = await client.get("/2/statuses/count.json", params={"access_token": token, "ids": ids})
    assert refused.status_code == 403
    assert refused.json()["error_code"] == 10024
    assert "/statuses/count" in refused.json()["error"]
    for path in ("/2/comments/to_me.json", "/2/statuses/mentions.json"):
        assert (await client.get(path, params={"access_token": token})).status_code == 200, path
    theirs = await client.get(
        "/2/statuses/count.json", params={"access_token": other["access_token"], "ids": ids}
    )
    assert theirs.status_code == 200 and theirs.json()[0]["idstr"] == ids

    # 10023 (the user limit) the same way, twice only; then it answers again.
    rule = {"path": "/2/statuses/count.json", "code": 10023, "uid": account["uid"], "times": 2}
    await client.post("/_sim/faults", json={"errors": [rule]})
    codes = [
        (await client.get("/2/statuses/count.json", params={"access_token": token, "ids": ids})).status_code
        for _ in range(3)
    ]
    assert codes == [403, 403, 200]
    bad = {"path": "/2/statuses/count.json", "code": 10024, "uid": "someone"}
    assert (await client.post("/_sim/faults", json={"errors": [bad]})).status_code == 400
