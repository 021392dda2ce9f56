"""Hourly quotas per token (10023 / 10024), the storm fault and account/rate_limit_status."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import httpx

CST = timezone(timedelta(hours=8))


async def test_user_quota_gives_10023_and_is_reported(client: httpx.AsyncClient, token: str) -> None:
    assert (await client.post("/_sim/limits", json={"user_per_hour": 5})).json()["user_per_hour"] == 5
    params = {"access_token": token}
    for _ in range(5):
        assert (await client.get("/2/account/get_uid.json", params=params)).status_code == 200
    refused = await client.get("/2/statuses/mentions.json", params=params)
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "User requests out of rate limit!",
        "error_code": 10023,
        "request": "/2/statuses/mentions.json",
    }
    status = (await client.get("/2/account/rate_limit_status.json", params=params)).json()
    assert status["user_limit"] == 5 and status["remaining_user_hits"] == 0  # refusals are not counted
    assert status["limit_time_unit"] == "HOURS"


async def test_rate_limit_status_shape_and_reset_time(client: httpx.AsyncClient, token: str) -> None:
    params = {"access_token": token}
    await client.get("/2/account/get_uid.json", params=params)
    body = (await client.get("/2/account/rate_limit_status.json", params=params)).json()
    second = (await client.get("/2/account/rate_limit_status.json", params=params)).json()
    assert body["remaining_user_hits"] == second["remaining_user_hits"] == 149  # status calls are free
    assert {"ip_limit", "remaining_ip_hits", "reset_time", "reset_time_in_seconds", "api_rate_limits"} <= set(
        body
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:00:00", body["reset_time"])
    now = datetime.fromtimestamp((await client.get("/_sim/clock")).json()["now"], CST)
    reset = datetime.strptime(body["reset_time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=CST)
    assert timedelta(0) < reset - now <= timedelta(hours=1)
    assert abs((reset - now).total_seconds() - body["reset_time_in_seconds"]) <= 2
    comment_limit = [a for a in body["api_rate_limits"] if a["api"] == "/comments/create"]
    assert comment_limit == [
        {"api": "/comments/create", "limit": 60, "limit_time_unit": "HOURS", "remaining_hits": 60}
    ]


async def test_comment_quota_gives_10024_and_resets_next_hour(client: httpx.AsyncClient, token: str) -> None:
    await client.post("/_sim/limits", json={"comments_per_hour": 2})
    status_id = (await client.post("/_sim/mentions", json={"text": "信号差"})).json()["id"]
    for n in range(2):
        data = {"access_token": token, "id": status_id, "comment": f"第{n}次回复"}
        assert (await client.post("/2/comments/create.json", data=data)).status_code == 200
    data = {"access_token": token, "id": status_id, "comment": "第三次"}
    refused = await client.post("/2/comments/create.json", data=data)
    assert refused.status_code == 403
    assert refused.json()["error_code"] == 10024
    assert refused.json()["error"] == "User requests for (/comments/create) out of rate limit!"
    reply = await client.post("/2/comments/reply.json", data=data | {"cid": "1"})  # same quota group
    assert reply.json()["error_code"] == 10024
    reads = await client.get("/2/statuses/mentions.json", params={"access_token": token})
    assert reads.status_code == 200  # other calls still go through
    await client.post("/_sim/clock", json={"advance_seconds": 3600})
    assert (await client.post("/2/comments/create.json", data=data)).status_code == 200


async def test_post_quota_covers_share(client: httpx.AsyncClient, token: str) -> None:
    await client.post("/_sim/limits", json={"posts_per_hour": 1})
    first = {"access_token": token, "status": "一 https://www.10010.com/1"}
    assert (await client.post("/2/statuses/share.json", data=first)).status_code == 200
    second = await client.post(
        "/2/statuses/share.json", data=first | {"status": "二 https://www.10010.com/2"}
    )
    assert second.status_code == 403 and second.json()["error_code"] == 10024


async def test_storm_refuses_everything_until_cleared(client: httpx.AsyncClient, token: str) -> None:
    await client.post("/_sim/faults", json={"rate_limit_storm": True})
    params = {"access_token": token}
    refused = await client.get("/2/comments/to_me.json", params=params)
    assert refused.status_code == 403 and refused.json()["error_code"] == 10023
    status = (await client.get("/2/account/rate_limit_status.json", params=params)).json()
    assert status["remaining_user_hits"] == 0
    await client.post("/_sim/faults", json={"rate_limit_storm": False})
    assert (await client.get("/2/comments/to_me.json", params=params)).status_code == 200


async def test_quotas_are_per_token(client: httpx.AsyncClient, token: str) -> None:
    await client.post("/_sim/limits", json={"user_per_hour": 1})
    other = (await client.post("/_sim/tokens", json={})).json()["access_token"]
    assert other != token
    assert (await client.get("/2/account/get_uid.json", params={"access_token": token})).status_code == 200
    assert (await client.get("/2/account/get_uid.json", params={"access_token": token})).status_code == 403
    assert (await client.get("/2/account/get_uid.json", params={"access_token": other})).status_code == 200


async def test_limits_reject_unknown_names(client: httpx.AsyncClient) -> None:
    response = await client.post("/_sim/limits", json={"per_minute": 3})
    assert response.status_code == 400 and "unknown limit" in response.json()["error"]
