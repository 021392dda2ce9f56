"""Fans-service push to a real receiver on 127.0.0.1, its signature, retries, and messages/reply."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web

from servicehub.adapters.simulator import push_signature


@dataclass
class Receiver:
    """A stand-in for the hub's push endpoint that records requests and follows a script."""

    statuses: list[int] = field(default_factory=list)  # answers for successive POSTs, then 200
    delays: list[float] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        if request.method == "GET":
            return web.Response(
                text=request.query.get("echostr", "") if request.query.get("signature") else "no"
            )
        self.requests.append((dict(request.query), await request.read()))
        if self.delays:
            await asyncio.sleep(self.delays.pop(0))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200, text="")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver()
    app = web.Application()
    app.router.add_route("*", "/weibo/push", recv.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    recv.url = f"http://127.0.0.1:{runner.addresses[0][1]}/weibo/push"
    try:
        yield recv
    finally:
        await runner.cleanup()


def expected_signature(secret: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([secret, timestamp, nonce])).encode()).hexdigest()


def test_signature_is_sha1_of_the_sorted_parts() -> None:
    assert push_signature("secret", "1700000000", "123") == expected_signature("secret", "1700000000", "123")
    assert push_signature("b", "a", "c") == hashlib.sha1(b"abc").hexdigest()


async def test_message_is_pushed_signed(
    client: httpx.AsyncClient, account: dict[str, Any], receiver: Receiver
) -> None:
    registered = await client.post("/_sim/callbacks", json={"url": receiver.url})
    assert registered.json()["url"] == receiver.url
    sent = (await client.post("/_sim/messages", json={"screen_name": "小明", "text": "我的宽带断了"})).json()
    assert sent["push"]["delivered"] is True and sent["push"]["attempts"] == 1
    query, raw = receiver.requests[0]
    assert query["signature"] == expected_signature(account["app_secret"], query["timestamp"], query["nonce"])
    body = json.loads(raw)
    assert body == {
        "type": "text",
        "receiver_id": int(account["uid"]),
        "sender_id": int(sent["message"]["sender_id"]),
        "created_at": sent["message"]["created_at"],
        "text": "我的宽带断了",
        "data": {},
    }


async def test_push_secret_can_be_overridden(
    client: httpx.AsyncClient, account: dict[str, Any], receiver: Receiver
) -> None:
    await client.post("/_sim/callbacks", json={"url": receiver.url, "app_secret": "fans-secret"})
    await client.post("/_sim/messages", json={"text": "在吗"})
    query, _ = receiver.requests[0]
    assert query["signature"] == expected_signature("fans-secret", query["timestamp"], query["nonce"])


async def test_push_retries_on_5xx_and_stops_on_success(
    client: httpx.AsyncClient, account: dict[str, Any], receiver: Receiver
) -> None:
    receiver.statuses = [500, 503]
    await client.post("/_sim/callbacks", json={"url": receiver.url})
    push = (await client.post("/_sim/messages", json={"text": "人工客服"})).json()["push"]
    assert push["attempts"] == 3 and push["delivered"] is True and push["status"] == 200
    assert len(receiver.requests) == 3 and len({q["nonce"] for q, _ in receiver.requests}) == 3


async def test_push_gives_up_after_three_timeouts(
    client: httpx.AsyncClient, account: dict[str, Any], receiver: Receiver
) -> None:
    receiver.delays = [1.0, 1.0, 1.0]  # the fixture's simulator waits 0.5 s
    await client.post("/_sim/callbacks", json={"url": receiver.url})
    push = (await client.post("/_sim/messages", json={"text": "在吗"})).json()["push"]
    assert push["attempts"] == 3 and push["delivered"] is False and "Timeout" in push["error"]
    log = (await client.get("/_sim/pushes")).json()
    assert log["total"] == 1 and log["items"][0]["attempts"] == 3


async def test_rejection_is_not_retried(
    client: httpx.AsyncClient, account: dict[str, Any], receiver: Receiver
) -> None:
    receiver.statuses = [403]
    await client.post("/_sim/callbacks", json={"url": receiver.url})
    push = (await client.post("/_sim/messages", json={"text": "在吗"})).json()["push"]
    assert push["attempts"] == 1 and push["delivered"] is False and push["status"] == 403


async def test_echostr_verification(
    client: httpx.AsyncClient, account: dict[str, Any], receiver: Receiver
) -> None:
    result = (await client.post("/_sim/callbacks", json={"url": receiver.url, "verify": True})).json()[
        "verified"
    ]
    assert result["ok"] is True and result["body"] == result["echostr"]
    again = (await client.post("/_sim/push/verify", json={})).json()
    assert again["ok"] is True and again["echostr"] != result["echostr"]


async def test_follow_event_is_pushed(
    client: httpx.AsyncClient, account: dict[str, Any], receiver: Receiver
) -> None:
    await client.post("/_sim/callbacks", json={"url": receiver.url})
    event = (await client.post("/_sim/events", json={"screen_name": "新粉丝", "subtype": "follow"})).json()
    assert event["changed"] is True and event["push"]["delivered"] is True
    body = json.loads(receiver.requests[0][1])
    assert (
        body["type"] == "event" and body["data"] == {"subtype": "follow"} and body["text"] == "关注事件消息"
    )


async def fans_reply(client: httpx.AsyncClient, token: str, receiver_id: str, text: str) -> httpx.Response:
    data = json.dumps({"text": text}, ensure_ascii=False)
    form = {"access_token": token, "type": "text", "data": data, "receiver_id": receiver_id}
    return await client.post("/2/messages/reply.json", data=form)


async def test_messages_reply_needs_a_message_within_48_hours(client: httpx.AsyncClient, token: str) -> None:
    fan = (
        await client.post("/_sim/messages", json={"screen_name": "老用户", "text": "查话费", "push": False})
    ).json()
    sender = fan["message"]["sender"]["idstr"]
    ok = await fans_reply(client, token, sender, "您好，本月话费58元")
    assert ok.status_code == 200
    body = ok.json()
    assert (
        body["type"] == "text" and body["receiver_id"] == int(sender) and body["text"] == "您好，本月话费58元"
    )
    outbox = (
        await client.get("/_sim/outbox", params={"endpoint": "messages/reply", "receiver_id": sender})
    ).json()
    assert outbox["total"] == 1 and outbox["items"][0]["text"] == "您好，本月话费58元"
    await client.post("/_sim/clock", json={"advance_seconds": 48 * 3600 + 1})
    late = await fans_reply(client, token, sender, "还在吗")
    assert late.status_code == 403 and late.json()["error_code"] == 20302
    assert late.json()["request"] == "/2/messages/reply.json"
    stranger = (await client.post("/_sim/mentions", json={"screen_name": "陌生人", "text": "x"})).json()
    never = await fans_reply(client, token, stranger["status"]["user"]["idstr"], "你好")
    assert never.status_code == 403


async def test_messages_reply_validates_type_data_and_length(client: httpx.AsyncClient, token: str) -> None:
    fan = (await client.post("/_sim/messages", json={"text": "在吗", "push": False})).json()
    sender = fan["message"]["sender"]["idstr"]
    too_long = await fans_reply(client, token, sender, "长" * 301)
    assert too_long.status_code == 400 and too_long.json()["error_code"] == 20013
    bad = await client.post(
        "/2/messages/reply.json",
        data={"access_token": token, "type": "text", "data": "not json", "receiver_id": sender},
    )
    assert bad.status_code == 400 and bad.json()["error_code"] == 10017
    double_encoded = "%7B%22text%22%3A%22ok%22%7D"
    twice = await client.post(
        "/2/messages/reply.json",
        data={"access_token": token, "type": "text", "data": double_encoded, "receiver_id": sender},
    )
    assert twice.status_code == 200 and twice.json()["text"] == "ok"


async def test_generated_private_messages_are_pushed(
    client: httpx.AsyncClient, account: dict[str, Any], receiver: Receiver
) -> None:
    await client.post("/_sim/callbacks", json={"url": receiver.url})
    stepped = (await client.post("/_sim/traffic", json={"step": 60})).json()
    messages = [item for item in stepped["items"] if item["kind"] == "message"]
    assert messages

    def texts() -> list[dict[str, Any]]:
        bodies = [json.loads(raw) for _, raw in receiver.requests]
        return [body for body in bodies if body["type"] == "text"]

    for _ in range(100):
        if len(texts()) >= len(messages):
            break
        await asyncio.sleep(0.02)
    assert sorted(str(p["sender_id"]) for p in texts()) == sorted(m["user_uid"] for m in messages)
