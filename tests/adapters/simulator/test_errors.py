"""Every error the simulator emits: code, message, HTTP status and the ``request`` field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


def assert_error(response: httpx.Response, status: int, code: int, request: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert set(body) == {"error", "error_code", "request"}
    assert body["error_code"] == code and isinstance(body["error_code"], int)
    assert body["request"] == request
    return body


async def test_missing_token_is_10006(client: httpx.AsyncClient, account: dict[str, Any]) -> None:
    body = assert_error(
        await client.get("/2/statuses/mentions.json"), 400, 10006, "/2/statuses/mentions.json"
    )
    assert body["error"] == "Source paramter (appkey) is missing"


async def test_unknown_token_is_21332(client: httpx.AsyncClient) -> None:
    response = await client.get("/2/comments/to_me.json", params={"access_token": "2.00" + "x" * 28})
    assert assert_error(response, 401, 21332, "/2/comments/to_me.json")["error"] == "invalid_access_token"


async def test_header_token_is_accepted(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get("/2/account/get_uid.json", headers={"Authorization": f"OAuth2 {token}"})
    assert response.status_code == 200
    assert response.json() == {"uid": str((await client.get("/_sim/accounts")).json()["accounts"][0]["uid"])}


async def test_expired_token_is_21327(client: httpx.AsyncClient, token: str) -> None:
    assert (await client.post("/_sim/faults", json={"expire_token": token})).status_code == 200
    response = await client.get("/2/statuses/mentions.json", params={"access_token": token})
    assert assert_error(response, 401, 21327, "/2/statuses/mentions.json")["error"] == "expired_token"


async def test_token_expires_when_its_lifetime_passes(client: httpx.AsyncClient) -> None:
    created = (await client.post("/_sim/accounts", json={"token_ttl": 3600, "seed_posts": 0})).json()
    assert created["expires_in"] == 3600
    params = {"access_token": created["access_token"]}
    assert (await client.get("/2/account/get_uid.json", params=params)).status_code == 200
    await client.post("/_sim/clock", json={"advance_seconds": 3601})
    assert_error(
        await client.get("/2/account/get_uid.json", params=params), 401, 21327, "/2/account/get_uid.json"
    )


async def test_revoked_token_is_21332(client: httpx.AsyncClient, token: str) -> None:
    await client.post("/_sim/faults", json={"revoke_token": token})
    response = await client.get("/2/account/get_uid.json", params={"access_token": token})
    assert_error(response, 401, 21332, "/2/account/get_uid.json")


async def test_unknown_api_and_wrong_method(client: httpx.AsyncClient, token: str) -> None:
    assert_error(
        await client.get("/2/statuses/nope.json", params={"access_token": token}),
        404,
        10020,
        "/2/statuses/nope.json",
    )
    assert_error(
        await client.get("/2/comments/create.json", params={"access_token": token}),
        405,
        10021,
        "/2/comments/create.json",
    )


async def test_statuses_update_is_closed(client: httpx.AsyncClient, token: str) -> None:
    response = await client.post("/2/statuses/update.json", data={"access_token": token, "status": "你好"})
    assert (
        assert_error(response, 403, 10014, "/2/statuses/update.json")["error"]
        == "Insufficient app permissions!"
    )


async def test_missing_and_invalid_parameters(client: httpx.AsyncClient, token: str) -> None:
    missing = await client.post("/2/comments/create.json", data={"access_token": token, "comment": "在吗"})
    assert "(id)" in assert_error(missing, 400, 10016, "/2/comments/create.json")["error"]
    bad = await client.get("/2/statuses/show.json", params={"access_token": token, "id": "abc"})
    assert assert_error(bad, 400, 10017, "/2/statuses/show.json")["error"].startswith(
        "Parameter (id)'s value"
    )
    empty = await client.post(
        "/2/comments/create.json", data={"access_token": token, "id": "1", "comment": " "}
    )
    assert_error(empty, 400, 20008, "/2/comments/create.json")


async def test_unknown_targets(client: httpx.AsyncClient, token: str) -> None:
    params = {"access_token": token}
    assert_error(
        await client.get("/2/statuses/show.json", params=params | {"id": "4900000000000001"}),
        400,
        20101,
        "/2/statuses/show.json",
    )
    create = await client.post(
        "/2/comments/create.json", data=params | {"id": "4900000000000001", "comment": "x"}
    )
    assert (
        assert_error(create, 400, 20101, "/2/comments/create.json")["error"] == "Target weibo does not exist"
    )
    mention = (await client.post("/_sim/mentions", json={"text": "在吗"})).json()
    reply = await client.post(
        "/2/comments/reply.json",
        data=params | {"id": mention["id"], "cid": "4900000000000001", "comment": "x"},
    )
    assert_error(reply, 400, 20201, "/2/comments/reply.json")
    user = await client.get("/2/users/show.json", params=params | {"uid": "1000000001"})
    assert assert_error(user, 400, 20003, "/2/users/show.json")["error"] == "User does not exists"
    by_name = await client.get("/2/users/show.json", params=params | {"screen_name": "没有这个人"})
    assert_error(by_name, 400, 20003, "/2/users/show.json")


async def test_repeated_comment_is_20019_and_repeated_post_is_20111(
    client: httpx.AsyncClient, token: str
) -> None:
    mention = (await client.post("/_sim/mentions", json={"text": "信号差"})).json()
    data = {"access_token": token, "id": mention["id"], "comment": "您好，请私信我们"}
    assert (await client.post("/2/comments/create.json", data=data)).status_code == 200
    again = await client.post("/2/comments/create.json", data=data)
    assert assert_error(again, 400, 20019, "/2/comments/create.json")["error"] == "Repeat conetnt"
    assert (
        await client.post("/2/comments/create.json", data=data | {"comment": "另一句"})
    ).status_code == 200
    post = {"access_token": token, "status": "福利 https://www.10010.com/a"}
    assert (await client.post("/2/statuses/share.json", data=post)).status_code == 200
    assert_error(await client.post("/2/statuses/share.json", data=post), 400, 20111, "/2/statuses/share.json")


async def test_share_needs_a_link_on_a_safe_domain_and_no_topic(
    client: httpx.AsyncClient, token: str
) -> None:
    data = {"access_token": token}
    no_link = await client.post("/2/statuses/share.json", data=data | {"status": "没有链接的微博"})
    assert assert_error(no_link, 400, 10017, "/2/statuses/share.json")["error"] == "text not find domain!"
    other = await client.post(
        "/2/statuses/share.json", data=data | {"status": "看 https://evil.example.org/x"}
    )
    assert_error(other, 400, 10017, "/2/statuses/share.json")
    lookalike = await client.post(
        "/2/statuses/share.json", data=data | {"status": "看 https://not10010.com/x"}
    )
    assert_error(lookalike, 400, 10017, "/2/statuses/share.json")
    topic = await client.post(
        "/2/statuses/share.json", data=data | {"status": "#活动# https://www.10010.com/x"}
    )
    assert assert_error(topic, 400, 10017, "/2/statuses/share.json")["error"] == "text can not contain topic!"
    ok = await client.post("/2/statuses/share.json", data=data | {"status": "活动 https://m.10010.com/x"})
    assert ok.status_code == 200 and ok.json()["text"].startswith("活动 http://t.cn/")


async def test_direct_message_rules(client: httpx.AsyncClient, token: str) -> None:
    stranger = (await client.post("/_sim/mentions", json={"screen_name": "路过的人", "text": "hi"})).json()
    uid = stranger["status"]["user"]["idstr"]
    data = {"access_token": token, "uid": uid}
    not_fan = await client.post("/2/direct_messages/new.json", data=data | {"text": "您好"})
    assert_error(not_fan, 403, 20301, "/2/direct_messages/new.json")
    await client.post("/_sim/events", json={"user_uid": uid, "subtype": "follow"})
    too_long = await client.post("/2/direct_messages/new.json", data=data | {"text": "长" * 301})
    assert_error(too_long, 400, 20013, "/2/direct_messages/new.json")
    ok = await client.post("/2/direct_messages/new.json", data=data | {"text": "长" * 300})
    assert ok.status_code == 200 and ok.json()["recipient_id"] == int(uid)


@pytest.mark.parametrize("path", ["/2/statuses/mentions.json", "/2/direct_messages.json"])
async def test_errors_are_json_even_on_unknown_token_for_every_route(
    client: httpx.AsyncClient, path: str
) -> None:
    assert_error(await client.get(path, params={"access_token": "nope"}), 401, 21332, path)
