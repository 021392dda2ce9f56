"""WeChat official accounts under real conditions (issue 11), over HTTP against the simulator.

Photos, voice notes and videos reach an operator with their media; a malformed
EncodingAESKey is refused by the form; an account whose token was refused recovers and
sends its parked replies; credentials are re-entered from the accounts page; long event ids
and two menu clicks in one second are stored; a send whose answer was lost is never resent.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from servicehub.core.db import utcnow
from servicehub.core.models import (
    Account,
    DeliveryState,
    ErrorKind,
    Health,
    Message,
    OutboundMessage,
    ServiceRequest,
)
from servicehub.core.tasks import SyncRunner
from servicehub.publishing.outbox import PROBE_EVERY, do_queue_reply, due_for_retry, send_outbound
from tests.factories import PASSWORD, principal_of
from tests.live import LiveHub, add_live_wechat_account, live_hub

PICTURE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"  # 28 characters, like every real openid


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[LiveHub]:
    with live_hub(tmp_path, SyncRunner()) as h:
        yield h


def _push(hub: LiveHub, appid: str, **body: object) -> dict[str, object]:
    answer: dict[str, object] = hub.sim_call("POST", f"/_sim/wechat/accounts/{appid}/push", **body)
    assert answer["delivered"] is True, answer
    return answer


def _login(web: httpx.Client, username: str) -> None:
    page = web.get("/login").text
    response = web.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": _csrf(page)}
    )
    assert response.status_code == 303


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def _newest_request(hub: LiveHub) -> int:
    with hub.runtime.sessions() as s:
        request_id = s.scalars(select(ServiceRequest.id).order_by(ServiceRequest.id.desc())).first()
        assert request_id is not None
        return request_id


def _reply(hub: LiveHub, text: str) -> int:
    request_id = _newest_request(hub)
    with hub.runtime.sessions() as s:
        who = principal_of(s, hub.world.operator_id)
        out = do_queue_reply(s, hub.runtime, who, request_id, text, nonce=text)
        s.commit()
        return out.id


def _out(hub: LiveHub, out_id: int) -> OutboundMessage:
    with hub.runtime.sessions() as s:
        out = s.get(OutboundMessage, out_id)
        assert out is not None
        s.expunge(out)
        return out


def _health(hub: LiveHub, account_id: int) -> Health:
    with hub.runtime.sessions() as s:
        account = s.get(Account, account_id)
        assert account is not None
        return account.health


def _sent(hub: LiveHub, appid: str) -> list[str]:
    messages = hub.sim_call("GET", f"/_sim/wechat/accounts/{appid}/sent")["messages"]
    return [m["content"] for m in messages]


def test_photos_videos_and_voice_reach_the_operator_with_their_media(hub: LiveHub) -> None:
    add_live_wechat_account(hub, "wxmedia01")
    clip = b"\x00\x00\x00\x18ftypmp42" + b"clip" * 100
    _push(hub, "wxmedia01", openid=OPENID, type="image", media_base64=base64.b64encode(PICTURE).decode())
    _push(hub, "wxmedia01", openid=OPENID, type="voice")  # no recognition text
    _push(hub, "wxmedia01", openid=OPENID, type="video", media_base64=base64.b64encode(clip).decode())
    _push(hub, "wxmedia01", openid=OPENID, type="shortvideo")
    with hub.runtime.sessions() as s:
        messages = list(s.scalars(select(Message).where(Message.platform == "wechat").order_by(Message.id)))
        assert [m.text for m in messages] == ["[图片]", "[语音]", "[视频]", "[小视频]"]
        assert all(m.keep and m.request_id is not None for m in messages)  # none dropped as empty
        assert [m.attachments[0]["kind"] for m in messages if m.attachments] == [
            "image",
            "voice",
            "video",
            "shortvideo",
        ]
        request_id = messages[0].request_id
        photo, voice, video = messages[0].id, messages[1].id, messages[2].id
    base = f"/requests/{request_id}/messages"
    with httpx.Client(base_url=hub.web_url, timeout=10) as web:
        _login(web, "zhangwei")
        page = web.get(f"/requests/{request_id}").text
        assert f'<img src="{base}/{photo}/media/0"' in page and "下载语音" in page and "<video" in page
        shown = web.get(f"{base}/{photo}/media/0")
        assert shown.status_code == 200 and shown.content == PICTURE
        assert shown.headers["content-type"] == "image/png"
        assert web.get(f"{base}/{video}/media/0").content == clip  # fetched through its video_url
        assert web.get(f"{base}/{voice}/media/0").headers["content-type"] == "audio/amr"
        assert web.get(f"{base}/{photo}/media/1").status_code == 404
    with httpx.Client(base_url=hub.web_url, timeout=10) as web:
        _login(web, "lina")  # a partner operator: the request is not hers
        hidden = web.get(f"{base}/{photo}/media/0")
        assert hidden.status_code == 404 and PICTURE not in hidden.content


def test_a_malformed_encoding_aes_key_is_refused_by_the_form(hub: LiveHub) -> None:
    with httpx.Client(base_url=hub.web_url, follow_redirects=False, timeout=10) as web:
        _login(web, "admin")
        page = web.get("/accounts").text
        answer = web.post(
            "/accounts/connect/wechat",
            data={
                "csrf_token": _csrf(page),
                "original_id": "gh_badkey",
                "appid": "wxbadkey",
                "secret": "s",
                "push_token": "t",
                "aes_key": "not-a-43-character-base64-key",
            },
        )
    assert answer.status_code in (303, 422)
    shown = (
        answer.text if answer.status_code == 422 else httpx.get(hub.web_url + answer.headers["location"]).text
    )
    assert "EncodingAESKey" in answer.text or "EncodingAESKey" in shown
    with hub.runtime.sessions() as s:
        assert s.scalar(select(func.count()).where(Account.platform_uid == "gh_badkey")) == 0


def test_an_account_whose_token_was_refused_recovers_and_sends_its_parked_replies(hub: LiveHub) -> None:
    account_id = add_live_wechat_account(hub, "wxflaky01")
    _push(hub, "wxflaky01", openid=OPENID, type="text", content="宽带什么时候修好？")
    hub.sim_call("POST", "/_sim/wechat/accounts/wxflaky01/faults", errcodes=[40001, 40001])
    parked = _reply(hub, "您好，工程师今天上门。")
    assert _out(hub, parked).state == DeliveryState.RETRY
    assert _health(hub, account_id) == Health.NEEDS_REAUTH
    with hub.runtime.sessions() as s:
        assert parked not in due_for_retry(s)  # tried just now: not probed again yet
        s.execute(update(OutboundMessage).values(claimed_at=utcnow() - PROBE_EVERY - timedelta(seconds=1)))
        s.commit()
        assert due_for_retry(s) == [parked]  # the probe: WeChat may take the account's calls again
    assert send_outbound(hub.runtime, parked) == DeliveryState.SENT
    assert _health(hub, account_id) == Health.OK
    assert _sent(hub, "wxflaky01") == ["您好，工程师今天上门。"]


def test_a_later_success_makes_the_account_healthy_and_the_parked_reply_goes_out(hub: LiveHub) -> None:
    account_id = add_live_wechat_account(hub, "wxflaky02")
    _push(hub, "wxflaky02", openid=OPENID, type="text", content="话费为什么多扣了？")
    hub.sim_call("POST", "/_sim/wechat/accounts/wxflaky02/faults", errcodes=[40001, 40001])
    parked = _reply(hub, "您好，正在为您核实。")
    assert _health(hub, account_id) == Health.NEEDS_REAUTH
    later = _reply(hub, "核实结果：多扣的费用已退回。")  # an operator's next reply goes through
    assert _out(hub, later).state == DeliveryState.SENT
    assert _health(hub, account_id) == Health.OK
    with hub.runtime.sessions() as s:
        s.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == parked)
            .values(created_at=utcnow() - timedelta(minutes=1))  # its back-off has passed
        )
        s.commit()
        assert parked in due_for_retry(s)
    assert send_outbound(hub.runtime, parked) == DeliveryState.SENT
    assert sorted(_sent(hub, "wxflaky02")) == sorted(["您好，正在为您核实。", "核实结果：多扣的费用已退回。"])


def test_credentials_are_re_entered_from_the_accounts_page(hub: LiveHub) -> None:
    account_id = add_live_wechat_account(hub, "wxsecret01", secret="a-wrong-secret")
    _push(hub, "wxsecret01", openid=OPENID, type="text", content="在吗")
    parked = _reply(hub, "您好，在的。")
    assert _out(hub, parked).state == DeliveryState.RETRY
    assert _health(hub, account_id) == Health.NEEDS_REAUTH
    with httpx.Client(base_url=hub.web_url, follow_redirects=False, timeout=10) as web:
        _login(web, "admin")
        page = web.get("/accounts").text
        assert 'href="#connect-wechat"' in page  # the way to re-enter them, next to the account
        saved = web.post(
            "/accounts/connect/wechat",
            data={
                "csrf_token": _csrf(page),
                "display_name": "联通微信客服",
                "original_id": "gh_wxsecret01",
                "appid": "wxsecret01",
                "secret": "wxsecret01-secret",
                "push_token": "push-token",
            },
        )
        assert saved.status_code == 303 and "app_updated" in saved.headers["location"]
    assert _health(hub, account_id) == Health.OK
    with hub.runtime.sessions() as s:
        s.execute(update(OutboundMessage).values(created_at=utcnow() - timedelta(minutes=1)))
        s.commit()
        assert parked in due_for_retry(s)
    assert send_outbound(hub.runtime, parked) == DeliveryState.SENT
    assert _sent(hub, "wxsecret01") == ["您好，在的。"]


def test_a_send_whose_answer_was_lost_is_left_for_a_person_and_never_resent(hub: LiveHub) -> None:
    add_live_wechat_account(hub, "wxlost01")
    _push(hub, "wxlost01", openid=OPENID, type="text", content="我要投诉")
    hub.sim_call("POST", "/_sim/wechat/accounts/wxlost01/faults", lose_ack_next=1)
    out_id = _reply(hub, "非常抱歉，已为您登记投诉。")
    out = _out(hub, out_id)
    assert out.state == DeliveryState.UNKNOWN and out.error_kind == ErrorKind.AMBIGUOUS
    with hub.runtime.sessions() as s:
        assert out_id not in due_for_retry(s)
    assert send_outbound(hub.runtime, out_id) is None
    assert _sent(hub, "wxlost01") == ["非常抱歉，已为您登记投诉。"]  # once


def test_a_reply_outside_the_window_is_refused_with_its_reason_and_pauses_nothing(hub: LiveHub) -> None:
    account_id = add_live_wechat_account(hub, "wxwindow01")
    old = int(utcnow().timestamp()) - 49 * 3600
    _push(hub, "wxwindow01", openid=OPENID, type="text", content="在吗", create_time=old)
    out = _out(hub, _reply(hub, "您好，抱歉回复晚了。"))
    assert out.state == DeliveryState.FAILED and out.error_kind == ErrorKind.WINDOW_CLOSED
    assert _health(hub, account_id) == Health.OK


@pytest.fixture
def pg_hub(tmp_path: Path, pg_url: str) -> Iterator[LiveHub]:
    with live_hub(tmp_path, SyncRunner(), database_url=pg_url) as h:
        yield h


def test_long_event_ids_and_two_clicks_in_one_second_are_stored_on_postgresql(pg_hub: LiveHub) -> None:
    hub = pg_hub
    add_live_wechat_account(hub, "wxevents01")
    now = int(utcnow().timestamp())
    # openid(28) + time(10) + "subscribe_msg_change_event"(26) + separators: 66 characters
    _push(hub, "wxevents01", openid=OPENID, type="event", event="subscribe_msg_change_event", create_time=now)
    _push(
        hub, "wxevents01", openid=OPENID, type="event", event="CLICK", event_key="V1001_BILL", create_time=now
    )
    _push(
        hub, "wxevents01", openid=OPENID, type="event", event="CLICK", event_key="V1002_DATA", create_time=now
    )
    _push(
        hub, "wxevents01", openid=OPENID, type="event", event="CLICK", event_key="V1002_DATA", create_time=now
    )
    with hub.runtime.sessions() as s:
        events = list(s.scalars(select(Message).where(Message.kind == "event").order_by(Message.id)))
        assert [e.text for e in events] == [
            "subscribe_msg_change_event",
            "CLICK:V1001_BILL",
            "CLICK:V1002_DATA",
        ]  # the re-delivered click once
        assert all(len(e.platform_id) <= 64 for e in events)
