"""User tags and mass sends (群发): the simulator's API over real HTTP, and the adapter on it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from aiohttp import web

from servicehub.adapters.base import AudienceTag, Credentials, MassSender, mass_sender
from servicehub.adapters.errors import (
    LimitScope,
    MalformedPayload,
    NotFound,
    PermissionMissing,
    RateLimited,
    Rejected,
    Repeated,
    TextTooLong,
    Unavailable,
)
from servicehub.adapters.simulator.wechat import WECHAT_STATE, register_wechat
from servicehub.adapters.simulator.wechat_model import WeChatState
from servicehub.adapters.wechat import TEXT_LIMIT_BYTES, WeChatAdapter

MakeAdapter = Callable[..., WeChatAdapter]
SENDALL = "/cgi-bin/message/mass/sendall"
SEEDED = ["星标组", "宽带用户", "5G套餐", "VIP客户"]
BEIJING = timezone(timedelta(hours=8))


@dataclass
class Sim:
    base: str
    control: httpx.Client
    state: WeChatState
    appid: str
    secret: str

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A WeChat API call with a fresh access token, as a hub would make it."""
        token = self.control.get(
            "/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        ).json()["access_token"]
        answer = self.control.request(method, path, params={"access_token": token}, json=body)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def tags(self) -> dict[str, dict[str, Any]]:
        listed = self.control.get(f"/_sim/wechat/accounts/{self.appid}/tags").json()["tags"]
        return {tag["name"]: tag for tag in listed}

    def mass(self) -> list[dict[str, Any]]:
        sends: list[dict[str, Any]] = self.control.get(f"/_sim/wechat/accounts/{self.appid}/mass").json()[
            "mass"
        ]
        return sends

    def adapter(self, wx: Any) -> WeChatAdapter:
        return WeChatAdapter(wx.config(self.base), Credentials("", "gh_mass"))


@pytest.fixture
def sim(live: Any, wx: Any) -> Iterator[Sim]:
    app = web.Application()
    register_wechat(app)
    base = live.serve(app)
    with httpx.Client(base_url=base, timeout=10) as control:
        created = control.post(
            "/_sim/wechat/accounts", json={"appid": wx.appid, "secret": wx.secret, "token": wx.push_token}
        )
        assert created.status_code == 201, created.text
        assert created.json()["followers"] == 30
        yield Sim(base, control, app[WECHAT_STATE], wx.appid, wx.secret)


# -- the simulator -------------------------------------------------------------------------


def test_a_new_account_has_tagged_followers(sim: Sim) -> None:
    tags = sim.api("GET", "/cgi-bin/tags/get")["tags"]
    assert [t["name"] for t in tags] == SEEDED
    counts = {t["name"]: t["count"] for t in tags}
    assert counts["星标组"] == 0
    assert counts["宽带用户"] == 12 and counts["5G套餐"] == 10 and counts["VIP客户"] == 4  # shares of 30
    assert [t["id"] for t in tags] == [2, 100, 101, 102]
    controlled = sim.tags()
    assert len(controlled["VIP客户"]["openids"]) == 4
    assert all(len(o) == 28 and o.startswith("o") for o in controlled["VIP客户"]["openids"])


def test_tag_members_are_paged_with_next_openid(sim: Sim) -> None:
    sim.state.tag_page_size = 5
    tag_id = sim.tags()["宽带用户"]["id"]
    seen: list[str] = []
    after = ""
    for _ in range(10):
        page = sim.api("POST", "/cgi-bin/user/tag/get", {"tagid": tag_id, "next_openid": after})
        if page["count"] == 0:
            assert "data" not in page and page["next_openid"] == ""
            break
        seen += page["data"]["openid"]
        after = page["next_openid"]
        assert after == page["data"]["openid"][-1]
    assert seen == sim.tags()["宽带用户"]["openids"] and len(seen) == 12
    assert sim.api("POST", "/cgi-bin/user/tag/get", {"tagid": 999})["errcode"] == 45159


def test_batch_tagging_and_its_limits(sim: Sim) -> None:
    created = sim.api("POST", "/cgi-bin/tags/create", {"tag": {"name": "携号转网"}})
    tag_id = created["tag"]["id"]
    assert created["tag"] == {"id": 103, "name": "携号转网"}
    assert sim.api("POST", "/cgi-bin/tags/create", {"tag": {"name": "携号转网"}})["errcode"] == 45157
    assert (
        sim.api("POST", "/cgi-bin/tags/create", {"tag": {"name": "长" * 11}})["errcode"] == 45158
    )  # 33 bytes
    fans = sim.tags()["VIP客户"]["openids"]
    ok = sim.api("POST", "/cgi-bin/tags/members/batchtagging", {"openid_list": fans[:2], "tagid": tag_id})
    assert ok == {"errcode": 0, "errmsg": "ok"}
    assert sim.tags()["携号转网"]["openids"] == fans[:2]
    tagging = "/cgi-bin/tags/members/batchtagging"
    assert sim.api("POST", tagging, {"openid_list": ["oNobody"], "tagid": tag_id})["errcode"] == 40003
    assert sim.api("POST", tagging, {"openid_list": [], "tagid": tag_id})["errcode"] == 40032
    assert sim.api("POST", tagging, {"openid_list": fans * 13, "tagid": tag_id})["errcode"] == 40032  # 52
    assert sim.api("POST", tagging, {"openid_list": fans, "tagid": 7})["errcode"] == 45159
    untag = {"openid_list": fans[:1], "tagid": tag_id}
    assert sim.api("POST", "/cgi-bin/tags/members/batchuntagging", untag)["errcode"] == 0
    assert sim.tags()["携号转网"]["openids"] == fans[1:2]


def test_control_route_creates_tags_and_followers(sim: Sim) -> None:
    answer = sim.control.post(
        f"/_sim/wechat/accounts/{sim.appid}/tags",
        json={"name": "宽带用户", "openids": ["o_demo_0001"], "new_followers": 2},
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["name"] == "宽带用户" and body["count"] == 15 and "o_demo_0001" in body["openids"]
    fresh = sim.control.post(f"/_sim/wechat/accounts/{sim.appid}/tags", json={"name": "新标签"}).json()
    assert (fresh["id"], fresh["count"]) == (103, 0)
    bad = sim.control.post(f"/_sim/wechat/accounts/{sim.appid}/tags", json={"name": "x", "openids": "o1"})
    assert bad.status_code == 400
    assert sim.control.get("/_sim/wechat/accounts/wxnone/tags").status_code == 404


def sendall(tag_id: int, text: str, clientmsgid: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "filter": {"is_to_all": False, "tag_id": tag_id},
        "text": {"content": text},
        "msgtype": "text",
    }
    if clientmsgid is not None:
        body["clientmsgid"] = clientmsgid
    return body


def test_sendall_reaches_the_subscribed_fans_of_the_tag_once_per_clientmsgid(sim: Sim) -> None:
    vip = sim.tags()["VIP客户"]
    gone = vip["openids"][0]
    sim.state.accounts[sim.appid].followers[gone].subscribed = False  # unfollowed since
    first = sim.api("POST", SENDALL, sendall(vip["id"], "尊敬的VIP客户：本月积分翻倍", "pub-1"))
    assert first["errcode"] == 0 and first["errmsg"] == "send job submission success"
    again = sim.api("POST", SENDALL, sendall(vip["id"], "尊敬的VIP客户：本月积分翻倍", "pub-1"))
    assert again["errcode"] == 45065 and again["msg_id"] == first["msg_id"]
    [recorded] = sim.mass()
    assert recorded["msg_id"] == str(first["msg_id"]) and recorded["clientmsgid"] == "pub-1"
    assert recorded["recipients"] == vip["openids"][1:] and recorded["total"] == 3
    assert recorded["content"] == "尊敬的VIP客户：本月积分翻倍" and recorded["tag_id"] == vip["id"]
    status = sim.api("POST", "/cgi-bin/message/mass/get", {"msg_id": str(first["msg_id"])})
    assert status == {"msg_id": first["msg_id"], "msg_status": "SEND_SUCCESS"}
    assert sim.api("POST", "/cgi-bin/message/mass/get", {"msg_id": 1})["errcode"] == 40035
    everyone = sim.api("POST", SENDALL, {**sendall(0, "全体通知"), "filter": {"is_to_all": True}})
    assert everyone["errcode"] == 0
    assert sim.mass()[-1]["total"] == 29 and sim.mass()[-1]["is_to_all"] is True


def test_sendall_refuses_what_wechat_refuses(sim: Sim) -> None:
    tag_id = sim.tags()["5G套餐"]["id"]
    assert sim.api("POST", SENDALL, sendall(tag_id, ""))["errcode"] == 44004
    assert sim.api("POST", SENDALL, sendall(tag_id, "字" * 683))["errcode"] == 45002  # 2049 bytes
    assert sim.api("POST", SENDALL, sendall(999, "你好"))["errcode"] == 45159
    assert sim.api("POST", SENDALL, sendall(tag_id, "你好", "x" * 65))["errcode"] == 45067
    assert sim.api("POST", SENDALL, {**sendall(tag_id, "你好"), "msgtype": "mpnews"})["errcode"] == 40008
    assert sim.mass() == []


def test_the_daily_mass_quota_runs_out_and_comes_back_at_beijing_midnight(sim: Sim) -> None:
    day = datetime(2025, 3, 3, 23, 0, tzinfo=BEIJING).timestamp()  # 23:00 Beijing time
    sim.state.clock = lambda: day
    tag_id = sim.tags()["宽带用户"]["id"]
    quota = sim.control.post(f"/_sim/wechat/accounts/{sim.appid}/mass-quota", json={"per_day": 2}).json()
    assert (quota["per_day"], quota["used_today"]) == (2, 0)
    assert sim.api("POST", SENDALL, sendall(tag_id, "一", "q1"))["errcode"] == 0
    assert sim.api("POST", SENDALL, sendall(tag_id, "二", "q2"))["errcode"] == 0
    assert sim.api("POST", SENDALL, sendall(tag_id, "三", "q3"))["errcode"] == 45028
    assert sim.api("POST", SENDALL, sendall(tag_id, "一", "q1"))["errcode"] == 45065  # not a new send
    sim.state.clock = lambda: day + 3601  # 00:00:01 the next day
    assert sim.api("POST", SENDALL, sendall(tag_id, "三", "q3"))["errcode"] == 0
    assert sim.control.get(f"/_sim/wechat/accounts/{sim.appid}/mass-quota").json()["used_today"] == 1
    assert sim.state.mass_per_day == 100  # the default: generous enough for tests and the demo
    bad = sim.control.post(f"/_sim/wechat/accounts/{sim.appid}/mass-quota", json={"per_day": -1})
    assert bad.status_code == 400


# -- the adapter against the simulator -------------------------------------------------------


def test_the_adapter_is_a_mass_sender_reading_tags(sim: Sim, wx: Any) -> None:
    with sim.adapter(wx) as adapter:
        assert isinstance(adapter, MassSender) and mass_sender(adapter) is adapter
        tags = adapter.audience_tags()
        assert tags[1] == AudienceTag(tag_id="100", name="宽带用户", count=12)
        assert [t.name for t in tags] == SEEDED
        rule = WeChatAdapter.text_rules["mass"]
        assert (rule.limit, rule.unit, rule.counting) == (TEXT_LIMIT_BYTES, "byte", "utf8_bytes")
        with pytest.raises(TextTooLong):
            rule.check("字" * 683)


def test_mass_send_then_a_retry_after_a_lost_answer_reaches_no_one_twice(sim: Sim, wx: Any) -> None:
    with sim.adapter(wx) as adapter:
        sent = adapter.mass_send("102", "VIP专享：宽带免费提速一个月", client_msg_id="pub-7-acct-3")
        [recorded] = sim.mass()
        assert sent.platform_id == recorded["msg_id"] and sent.text == "VIP专享：宽带免费提速一个月"
        assert sent.created_at is not None
        assert recorded["clientmsgid"] == "pub-7-acct-3" and recorded["total"] == 4

        faults = {"api": "mass/sendall", "lose_ack_next": 1}
        set_faults = sim.control.post(f"/_sim/wechat/accounts/{sim.appid}/faults", json=faults)
        assert set_faults.json()["lose_ack_next"] == 1 and set_faults.json()["api"] == "mass/sendall"
        with pytest.raises(Unavailable):  # carried out, the answer lost: ambiguous
            adapter.mass_send("100", "宽带用户专享", client_msg_id="pub-8-acct-3")
        retried = adapter.mass_send("100", "宽带用户专享", client_msg_id="pub-8-acct-3")
        sends = sim.mass()
        assert len(sends) == 2  # the retry was refused with 45065, not sent again
        assert retried.platform_id == sends[1]["msg_id"] and retried.created_at is None


def test_mass_send_errors_map_to_hub_errors(sim: Sim, wx: Any) -> None:
    sim.control.post(f"/_sim/wechat/accounts/{sim.appid}/mass-quota", json={"per_day": 0})
    with sim.adapter(wx) as adapter:
        with pytest.raises(RateLimited) as quota:
            adapter.mass_send("100", "今日通知", client_msg_id="k1")
        assert quota.value.code == 45028 and quota.value.scope is LimitScope.CALL
        assert quota.value.reset_at is not None
        local = quota.value.reset_at.astimezone(BEIJING)
        assert (local.hour, local.minute) == (0, 0)
        assert quota.value.reset_at - datetime.now(UTC) <= timedelta(days=1)
        sim.control.post(f"/_sim/wechat/accounts/{sim.appid}/mass-quota", json={"per_day": None})
        sim.control.post(
            f"/_sim/wechat/accounts/{sim.appid}/faults",
            json={"api": "mass/sendall", "errcodes": [48001, 45009, 45011, 45066]},
        )
        with pytest.raises(PermissionMissing):
            adapter.mass_send("100", "今日通知", client_msg_id="k2")
        for code in (45009, 45011, 45066):
            with pytest.raises(RateLimited) as limited:
                adapter.mass_send("100", "今日通知", client_msg_id="k2")
            assert limited.value.code == code and limited.value.scope is LimitScope.CALL
        with pytest.raises(NotFound):
            adapter.mass_send("999", "今日通知", client_msg_id="k3")
        assert sim.mass() == []
        # Refused before anything is sent.
        for tag, text, key in (
            ("100", "字" * 683, "k4"),
            ("100", " ", "k4"),
            ("宽带", "你好", "k4"),
            ("100", "你好", ""),
        ):
            with pytest.raises(Rejected):
                adapter.mass_send(tag, text, client_msg_id=key)
        with pytest.raises(Rejected) as long_key:
            adapter.mass_send("100", "你好", client_msg_id="k" * 65)
        assert long_key.value.code == 45067
    bad = sim.control.post(f"/_sim/wechat/accounts/{sim.appid}/faults", json={"api": "mass"})
    assert bad.status_code == 400


# -- the adapter on answers the simulator does not give ----------------------------------------


def test_45065_without_a_msg_id_is_repeated(make_adapter: MakeAdapter, fake: Any) -> None:
    fake.script(SENDALL, {"errcode": 45065, "errmsg": "clientmsgid exist"})
    with pytest.raises(Repeated) as caught:
        make_adapter().mass_send("100", "你好", client_msg_id="k")
    assert caught.value.code == 45065


def test_mass_send_body_and_string_msg_id(make_adapter: MakeAdapter, fake: Any) -> None:
    fake.script(SENDALL, {"errcode": 0, "errmsg": "send job submission success", "msg_id": "34182"})
    sent = make_adapter().mass_send("2", "星标用户你好", client_msg_id="pub-1")
    assert sent.platform_id == "34182"
    [call] = fake.calls(SENDALL)
    assert "星标".encode() in call.content
    assert json.loads(call.content) == {
        "filter": {"is_to_all": False, "tag_id": 2},
        "text": {"content": "星标用户你好"},
        "msgtype": "text",
        "clientmsgid": "pub-1",
    }


@pytest.mark.parametrize(
    "answer",
    [{"errcode": 0, "errmsg": "ok"}, {"tags": "none"}, {"tags": [{"id": "1", "name": "x", "count": 0}]}],
)
def test_malformed_answers(make_adapter: MakeAdapter, fake: Any, answer: dict[str, Any]) -> None:
    fake.script(SENDALL, answer)
    fake.script("/cgi-bin/tags/get", answer)
    adapter = make_adapter()
    with pytest.raises(MalformedPayload):
        adapter.audience_tags()
    if "tags" not in answer:
        with pytest.raises(MalformedPayload):
            adapter.mass_send("2", "你好", client_msg_id="k")
