"""The thin path over real HTTP: simulator -> poll -> filter -> request -> reply -> simulator."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from servicehub.core.models import DeliveryState, Message, OutboundMessage, PollCursor, ServiceRequest
from servicehub.core.tasks import SyncRunner
from servicehub.listener.poller import poll_cursor
from servicehub.publishing.outbox import do_queue_reply
from tests.factories import PASSWORD, principal_of
from tests.live import LiveHub, live_hub


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[LiveHub]:
    with live_hub(tmp_path, SyncRunner()) as h:
        yield h


def _poll_all(hub: LiveHub, account_id: int) -> int:
    with hub.runtime.sessions() as s:
        cursors = list(s.scalars(select(PollCursor.id).where(PollCursor.account_id == account_id)))
    return sum(poll_cursor(hub.runtime, c).stored for c in cursors)


def _login(client: httpx.Client, username: str) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)})
    assert r.status_code == 303


def test_mention_becomes_a_request_and_the_reply_reaches_the_platform(hub: LiveHub) -> None:
    uid = "1902538057"
    posted = hub.sim_call(
        "POST",
        "/_sim/mentions",
        account_uid=uid,
        text="家里宽带断网两天了，报修也没人来！",
        screen_name="气愤的小李",
    )
    hub.sim_call("POST", "/_sim/mentions", account_uid=uid, text="[哈哈][哈哈]", screen_name="路人")
    assert _poll_all(hub, hub.world.inhouse_account_id) == 2
    with hub.runtime.sessions() as s:
        request = s.scalars(select(ServiceRequest)).one()  # the emoji-only mention was dropped, not routed
        assert request.assignee_id in (hub.world.operator_id, hub.world.operator2_id)
    with httpx.Client(base_url=hub.web_url, follow_redirects=False) as web:
        _login(web, "zhangwei" if request.assignee_id == hub.world.operator_id else "liuyang")
        queue = web.get("/queue?view=mine")
        assert "家里宽带断网两天了" in queue.text
        page = web.get(f"/requests/{request.id}")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
        assert csrf and nonce
        reply = "您好，已为您加急派单，工程师今天18点前上门，给您添麻烦了。"
        sent = web.post(
            f"/requests/{request.id}/reply",
            data={"text": reply, "csrf_token": csrf.group(1), "nonce": nonce.group(1)},
        )
        assert sent.status_code == 303
    outbox = hub.sim_call("GET", f"/_sim/outbox?endpoint=comments/create&status_id={posted['id']}")["items"]
    assert [item["text"] for item in outbox] == [reply]
    with hub.runtime.sessions() as s:
        out = s.scalars(select(OutboundMessage)).one()
        assert out.state == DeliveryState.SENT and out.platform_id == str(outbox[0]["id"])


def test_a_comment_gets_a_threaded_reply(hub: LiveHub) -> None:
    uid = "1902538057"
    comment = hub.sim_call(
        "POST", "/_sim/comments", account_uid=uid, text="你们的5G套餐怎么这么贵？", screen_name="学生党"
    )
    assert _poll_all(hub, hub.world.inhouse_account_id) == 1
    with hub.runtime.sessions() as s:
        request = s.scalars(select(ServiceRequest)).one()
        who = principal_of(s, hub.world.operator_id)
        do_queue_reply(s, hub.runtime, who, request.id, "同学您好，校园卡有专属优惠。", nonce="n")
        s.commit()
    items = hub.sim_call("GET", f"/_sim/outbox?endpoint=comments/reply&comment_id={comment['id']}")["items"]
    assert len(items) == 1 and items[0]["text"].endswith("同学您好，校园卡有专属优惠。")


def test_private_message_push_is_received_within_the_deadline_and_answered(hub: LiveHub) -> None:
    uid = "1902538057"
    hub.sim_call(
        "POST",
        "/_sim/callbacks",
        account_uid=uid,
        url=f"{hub.web_url}/push/weibo/{hub.world.inhouse_account_id}",
        verify=True,
    )
    started = time.monotonic()
    pushed = hub.sim_call(
        "POST",
        "/_sim/messages",
        account_uid=uid,
        text="你好，我的话费余额怎么查？",
        screen_name="私信用户",
        push=True,
    )
    assert pushed["push"]["delivered"] is True and time.monotonic() - started < 5
    again = hub.sim_call(
        "POST",
        "/_sim/messages",
        account_uid=uid,
        text="你好，我的话费余额怎么查？",
        screen_name="私信用户",
        push=True,
    )
    assert again["push"]["delivered"] is True
    with hub.runtime.sessions() as s:
        messages = list(s.scalars(select(Message).where(Message.kind == "private_message")))
        assert len(messages) >= 1
        request = s.scalars(select(ServiceRequest)).one()
        who = principal_of(s, hub.world.operator_id)
        do_queue_reply(s, hub.runtime, who, request.id, "您好，发送CXHF到10010即可查询。", nonce="dm")
        s.commit()
    sent = hub.sim_call("GET", "/_sim/outbox?endpoint=messages/reply")["items"]
    assert [i["text"] for i in sent] == ["您好，发送CXHF到10010即可查询。"]


def test_a_forged_push_is_refused_and_stores_nothing(hub: LiveHub) -> None:
    r = httpx.post(
        f"{hub.web_url}/push/weibo/{hub.world.inhouse_account_id}?signature=bad&timestamp=1&nonce=2",
        json={
            "type": "text",
            "receiver_id": 1902538057,
            "sender_id": 1,
            "created_at": "Mon Jul 16 18:09:20 +0800 2012",
            "text": "x",
            "data": {},
        },
    )
    assert r.status_code == 403
    with hub.runtime.sessions() as s:
        assert list(s.scalars(select(Message))) == []
