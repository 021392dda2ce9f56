"""A WeChat official account end to end: signed XML push in, customer-service reply out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from servicehub.core.models import DeliveryState, Message, OutboundMessage, ServiceRequest
from servicehub.core.tasks import SyncRunner
from servicehub.publishing.outbox import do_queue_reply
from tests.factories import principal_of
from tests.live import LiveHub, add_live_wechat_account, live_hub

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[LiveHub]:
    with live_hub(tmp_path, SyncRunner()) as h:
        yield h


def _wechat_account(hub: LiveHub, appid: str, *, safe: bool) -> int:
    return add_live_wechat_account(hub, appid, aes_key=AES_KEY if safe else "")


def _reply(hub: LiveHub, text: str) -> OutboundMessage:
    with hub.runtime.sessions() as s:
        request = s.scalars(select(ServiceRequest).order_by(ServiceRequest.id.desc())).first()
        assert request is not None
        who = principal_of(s, hub.world.operator_id)
        out = do_queue_reply(s, hub.runtime, who, request.id, text, nonce=text)
        s.commit()
        out_id = out.id
    with hub.runtime.sessions() as s:
        sent = s.get(OutboundMessage, out_id)
        assert sent is not None
        return sent


@pytest.mark.parametrize("safe", [False, True], ids=["plaintext", "safe-mode"])
def test_pushed_message_becomes_a_request_and_the_reply_is_delivered(hub: LiveHub, safe: bool) -> None:
    appid = "wxsafe01" if safe else "wxplain01"
    _wechat_account(hub, appid, safe=safe)
    pushed = hub.sim_call(
        "POST",
        f"/_sim/wechat/accounts/{appid}/push",
        openid="o_fan_1",
        type="text",
        content="你好，我想办理宽带提速",
    )
    assert pushed["delivered"] is True
    with hub.runtime.sessions() as s:
        message = s.scalars(select(Message).where(Message.platform == "wechat")).one()
        assert message.text == "你好，我想办理宽带提速" and message.request_id is not None
    out = _reply(hub, "您好，提速可在联通APP办理，或回复您的宽带账号。")
    assert out.state == DeliveryState.SENT
    sent = hub.sim_call("GET", f"/_sim/wechat/accounts/{appid}/sent?openid=o_fan_1")["messages"]
    assert [m["content"] for m in sent] == ["您好，提速可在联通APP办理，或回复您的宽带账号。"]


def test_a_reply_after_48_hours_fails_clearly_and_is_not_retried(hub: LiveHub) -> None:
    _wechat_account(hub, "wxold01", safe=False)
    old = int(time.time()) - 49 * 3600
    hub.sim_call(
        "POST",
        "/_sim/wechat/accounts/wxold01/push",
        openid="o_fan_2",
        type="text",
        content="在吗？",
        create_time=old,
    )
    out = _reply(hub, "您好，抱歉回复晚了。")
    assert out.state == DeliveryState.FAILED
    assert "48" in out.error
    assert hub.sim_call("GET", "/_sim/wechat/accounts/wxold01/sent")["messages"] == []
