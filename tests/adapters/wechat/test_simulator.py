"""End to end over real HTTP on 127.0.0.1: simulator pushes signed XML to a tiny receiver
built on the adapter, the adapter replies through the simulator's customer-service API."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web

from servicehub.accounts.tokens import RedisTokens
from servicehub.adapters.base import Credentials, InboundItem, ItemKind
from servicehub.adapters.errors import NotFound, Rejected
from servicehub.adapters.simulator.wechat import WECHAT_STATE, register_wechat
from servicehub.adapters.wechat import PUSH_ACK_BODY, WeChatAdapter
from tests.services import redis_url

OPENID = "oSim_customer_0001"


@dataclass
class Receiver:
    """The hub's side of the callback, as small as possible."""

    adapter: WeChatAdapter
    items: list[InboundItem] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)  # HTTP statuses to answer first

    async def verify(self, request: web.Request) -> web.Response:
        echostr = self.adapter.echo(request.query)
        return web.Response(text=echostr) if echostr is not None else web.Response(status=403)

    async def receive(self, request: web.Request) -> web.Response:
        if self.failures:
            return web.Response(status=self.failures.pop(0))
        body = await request.read()
        if self.delays:  # a hub that is slow to answer, after reading the push
            await asyncio.sleep(self.delays.pop(0))
        if not self.adapter.verify_push(request.query, body):
            self.statuses.append(403)
            return web.Response(status=403)
        self.items.extend(self.adapter.parse_push(body, request.content_type))
        self.statuses.append(200)
        return web.Response(text=PUSH_ACK_BODY)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/wechat/callback", self.verify)
        app.router.add_post("/wechat/callback", self.receive)
        return app


@dataclass
class World:
    sim: str
    control: httpx.Client
    sim_app: web.Application
    live: Any
    wx: Any

    def account(self, *, safe: bool = False, token: str | None = None) -> tuple[WeChatAdapter, Receiver]:
        """A simulated official account, an adapter for it and its registered receiver."""
        extra = {"encoding_aes_key": self.wx.aes_key} if safe else {}
        created = self.control.post(
            "/_sim/wechat/accounts",
            json={"appid": self.wx.appid, "secret": self.wx.secret, "token": self.wx.push_token, **extra},
        )
        assert created.status_code == 201, created.text
        config = self.wx.config(self.sim, token=token or self.wx.push_token, **extra)
        adapter = WeChatAdapter(config, Credentials("", created.json()["original_id"]))
        receiver = Receiver(adapter)
        callback = self.live.serve(receiver.app()) + "/wechat/callback"
        registered = self.control.post(
            f"/_sim/wechat/accounts/{self.wx.appid}/callback", json={"url": callback}
        )
        assert registered.status_code == (200 if token is None else 400), registered.text
        if token is not None:  # the simulator refused the URL: register without its check
            self.control.post(
                f"/_sim/wechat/accounts/{self.wx.appid}/callback", json={"url": callback, "verify": False}
            ).raise_for_status()
        return adapter, receiver

    def push(self, **message: Any) -> dict[str, Any]:
        answer = self.control.post(
            f"/_sim/wechat/accounts/{self.wx.appid}/push", json={"openid": OPENID, **message}
        )
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def sent(self, openid: str = OPENID) -> list[dict[str, Any]]:
        answer = self.control.get(f"/_sim/wechat/accounts/{self.wx.appid}/sent", params={"openid": openid})
        messages: list[dict[str, Any]] = answer.json()["messages"]
        return messages


@pytest.fixture
def world(live: Any, wx: Any) -> Iterator[World]:
    sim_app = web.Application()
    register_wechat(sim_app)
    sim_app[WECHAT_STATE].push_timeout = 0.5
    sim = live.serve(sim_app)
    with httpx.Client(base_url=sim, timeout=10) as control:
        yield World(sim, control, sim_app, live, wx)


def test_signed_push_reaches_receiver_and_reply_is_sent(world: World) -> None:
    adapter, receiver = world.account()
    delivery = world.push(type="text", content="你好，我家宽带从早上开始就断了")
    assert delivery["delivered"] and delivery["attempts"] == 1
    [item] = receiver.items
    assert item.kind is ItemKind.PRIVATE_MESSAGE
    assert item.platform_id == delivery["msg_id"]
    assert item.text == "你好，我家宽带从早上开始就断了"
    adapter.reply(item.reply_target, "您好，已为您登记报修，师傅两小时内联系您")
    [sent] = world.sent()
    assert sent["msgtype"] == "text"
    assert sent["content"] == "您好，已为您登记报修，师傅两小时内联系您"
    adapter.close()


def test_reply_after_48_hours_is_rejected(world: World) -> None:
    adapter, receiver = world.account()
    world.push(type="text", content="人呢？", create_time=int(time.time()) - 49 * 3600)
    with pytest.raises(Rejected, match="48-hour") as caught:
        adapter.reply(receiver.items[0].reply_target, "抱歉回复晚了")
    assert caught.value.code == 45015
    assert world.sent() == []
    world.push(type="text", content="还在吗")  # the customer writes again: the window reopens
    adapter.reply(receiver.items[-1].reply_target, "在的")
    assert [m["content"] for m in world.sent()] == ["在的"]
    adapter.close()


def test_unsubscribe_closes_the_window(world: World) -> None:
    adapter, receiver = world.account()
    world.push(type="text", content="取消了")
    world.push(type="event", event="unsubscribe")
    assert [i.kind for i in receiver.items] == [ItemKind.PRIVATE_MESSAGE, ItemKind.EVENT]
    with pytest.raises(Rejected) as caught:
        adapter.send_direct_message(OPENID, "再见")
    assert caught.value.code == 45015
    adapter.close()


def test_unknown_openid_is_not_found(world: World) -> None:
    adapter, _ = world.account()
    with pytest.raises(NotFound):
        adapter.send_direct_message("oNever_seen", "你好")
    adapter.close()


def test_expired_token_is_refreshed_transparently(world: World) -> None:
    adapter, _ = world.account()
    world.push(type="event", event="subscribe")
    adapter.send_direct_message(OPENID, "欢迎关注")
    expired = world.control.post(f"/_sim/wechat/accounts/{world.wx.appid}/expire-tokens").json()
    assert expired == {"expired": 1}
    adapter.send_direct_message(OPENID, "还有问题吗")
    assert [m["content"] for m in world.sent()] == ["欢迎关注", "还有问题吗"]
    adapter.close()


def test_safe_mode_push_round_trip(world: World) -> None:
    adapter, receiver = world.account(safe=True)
    delivery = world.push(type="text", content="加密模式下的消息")
    assert delivery["delivered"], delivery
    assert [i.text for i in receiver.items] == ["加密模式下的消息"]
    adapter.close()


def test_receiver_with_the_wrong_token_refuses_pushes(world: World) -> None:
    adapter, receiver = world.account(token="not-the-token")
    delivery = world.push(type="text", content="你好")
    assert not delivery["delivered"]
    assert delivery["status"] == 403 and delivery["attempts"] == 1  # a refusal is not retried
    assert receiver.items == []
    adapter.close()


def test_slow_receiver_gets_the_push_again(world: World) -> None:
    adapter, receiver = world.account()
    receiver.delays = [1.0]  # the first attempt outlives the simulator's 0.5 s timeout
    delivery = world.push(type="text", content="重试")
    assert delivery["delivered"] and delivery["attempts"] == 2
    deadline = time.monotonic() + 5
    while len(receiver.items) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    # Both attempts arrived with the same MsgId: the listener deduplicates on it.
    assert {i.platform_id for i in receiver.items} == {delivery["msg_id"]}
    assert len(receiver.items) == 2
    adapter.close()


def test_push_answered_with_a_server_error_is_tried_three_times(world: World) -> None:
    adapter, receiver = world.account()
    receiver.failures = [503, 500]
    delivery = world.push(type="text", content="第三次")
    assert delivery["delivered"] and delivery["attempts"] == 3
    receiver.failures = [502, 502, 502]
    delivery = world.push(type="text", content="放弃")
    assert not delivery["delivered"] and delivery["attempts"] == 3 and delivery["status"] == 502
    assert [i.text for i in receiver.items] == ["第三次"]
    adapter.close()


def test_control_routes_validate_their_input(world: World) -> None:
    world.account()
    appid = world.wx.appid

    def status(path: str, body: dict[str, Any]) -> int:
        return world.control.post(f"/_sim/wechat/accounts{path}", json=body).status_code

    assert status("", {"appid": appid, "secret": "s", "token": "t"}) == 409
    assert status("", {"appid": "wx2", "secret": "s"}) == 400
    assert status("", {"appid": "wx3", "secret": "s", "token": "t", "encoding_aes_key": "short"}) == 400
    assert status(f"/{appid}/callback", {"url": "http://example.com/callback"}) == 400
    assert status("/nosuch/push", {"openid": OPENID}) == 404
    assert status(f"/{appid}/push", {"openid": OPENID, "type": "x"}) == 400


def test_token_route_checks_credentials(world: World) -> None:
    world.account()
    ask = {"grant_type": "client_credential", "appid": world.wx.appid, "secret": "wrong"}
    assert world.control.get("/cgi-bin/token", params=ask).json()["errcode"] == 40125
    assert world.control.get("/cgi-bin/token", params={**ask, "appid": "wxnone"}).json()["errcode"] == 40013
    good = world.control.get("/cgi-bin/token", params={**ask, "secret": world.wx.secret}).json()
    assert good["expires_in"] == 7200 and good["access_token"]
    send = world.control.post("/cgi-bin/message/custom/send", params={"access_token": "forged"}, json={})
    assert send.json()["errcode"] == 40001


def test_two_processes_share_one_token_through_redis(world: World) -> None:
    """Two adapters of one account (as in two worker processes) against the simulator: one
    token fetch between them, and one more after the platform expires it."""
    store = RedisTokens(redis_url(), prefix=f"servicehub:test-tokens:{uuid.uuid4().hex}:")
    first, _ = world.account()
    second = WeChatAdapter(world.wx.config(world.sim, token=world.wx.push_token), Credentials("", "gh_x"))
    for adapter in (first, second):
        adapter.share_tokens(store)

    def issued() -> int:
        tokens = world.sim_app[WECHAT_STATE].tokens.values()
        return sum(1 for owner, _ in tokens if owner == world.wx.appid)

    world.push(type="event", event="subscribe")
    first.send_direct_message(OPENID, "您好")
    second.send_direct_message(OPENID, "请问还有什么问题")
    assert issued() == 1
    world.control.post(f"/_sim/wechat/accounts/{world.wx.appid}/expire-tokens").raise_for_status()
    second.send_direct_message(OPENID, "宽带已恢复")
    first.send_direct_message(OPENID, "感谢耐心等待")
    assert issued() == 2
    assert [m["content"] for m in world.sent()] == ["您好", "请问还有什么问题", "宽带已恢复", "感谢耐心等待"]
    for adapter in (first, second):
        adapter.close()
    store.close()
