"""Weibo exactly-once under real conditions (issue 11), over HTTP against the simulator.

First connections and bursts after a quiet start are ingested completely and once; a reply
whose answer was lost is posted at most once and never shown as failed when it arrived; a
limit pauses only what it names, for as long as Weibo says; a closed fans-service window is a
final refusal; the operator's IP travels as rip; a missing DM permission switches that
source off once; an account the OAuth callback could not name is named later.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from servicehub.accounts.connect import refresh_pending_names
from servicehub.core.db import utcnow
from servicehub.core.models import (
    Account,
    AccountPause,
    AuditEvent,
    DeliveryState,
    ErrorKind,
    Health,
    Message,
    OutboundMessage,
    PollCursor,
)
from servicehub.core.tasks import SyncRunner
from servicehub.listener.poller import due_cursors, poll_cursor
from servicehub.publishing.outbox import do_queue_reply, due_for_retry, send_outbound
from tests.factories import PASSWORD, principal_of
from tests.live import LiveHub, live_hub

UID = "1902538057"
NAME = "中国联通客服"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[LiveHub]:
    # A short timeout so a held-back answer (a lost acknowledgement) times out quickly.
    with live_hub(tmp_path, SyncRunner(), weibo={"timeout_seconds": 1.0, "rip": "203.0.113.9"}) as h:
        yield h


def _cursor(hub: LiveHub, source: str) -> int:
    with hub.runtime.sessions() as s:
        return s.scalars(
            select(PollCursor.id).where(
                PollCursor.account_id == hub.world.inhouse_account_id, PollCursor.source == source
            )
        ).one()


def _poll(hub: LiveHub, source: str) -> int:
    outcome = poll_cursor(hub.runtime, _cursor(hub, source))
    assert outcome.error == "", outcome.error
    return outcome.stored


def _stored(hub: LiveHub, kind: str) -> list[str]:
    with hub.runtime.sessions() as s:
        return list(s.scalars(select(Message.platform_id).where(Message.kind == kind)))


def _request_of(hub: LiveHub, platform_id: str) -> int:
    with hub.runtime.sessions() as s:
        request_id = s.scalars(select(Message.request_id).where(Message.platform_id == platform_id)).one()
        assert request_id is not None
        return request_id


def _reply(hub: LiveHub, request_id: int, text: str) -> int:
    """Queue a reply as the in-house operator (sent at once: tasks run synchronously)."""
    with hub.runtime.sessions() as s:
        who = principal_of(s, hub.world.operator_id)
        out = do_queue_reply(s, hub.runtime, who, request_id, text, nonce=text)
        s.commit()
        return out.id


def _outbound(hub: LiveHub, out_id: int) -> OutboundMessage:
    with hub.runtime.sessions() as s:
        out = s.get(OutboundMessage, out_id)
        assert out is not None
        s.expunge(out)
        return out


def _account(hub: LiveHub) -> Account:
    with hub.runtime.sessions() as s:
        account = s.get(Account, hub.world.inhouse_account_id)
        assert account is not None
        s.expunge(account)
        return account


def _sim_outbox(hub: LiveHub, endpoint: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = hub.sim_call("GET", f"/_sim/outbox?endpoint={endpoint}")["items"]
    return items


def _due(hub: LiveHub) -> set[int]:
    """The cursors a sweep would poll now if every one were due: what is not paused."""
    with hub.runtime.sessions() as s:
        s.execute(update(PollCursor).values(next_poll_at=utcnow() - timedelta(seconds=1)))
        s.commit()
        return set(due_cursors(s, utcnow()))


# -- 1. first connection and bursts ---------------------------------------------------------


def test_a_burst_after_an_empty_first_poll_is_taken_in_whole_and_once(hub: LiveHub) -> None:
    assert _poll(hub, "comment_mentions") == 0  # quiet start: nothing there yet
    assert _poll(hub, "direct_messages") == 0
    comments = hub.sim_call(
        "POST", "/_sim/burst", account_uid=UID, n=300, kind="comment", text=f"@{NAME} 第{{i}}条：网速太慢"
    )
    messages = hub.sim_call(
        "POST",
        "/_sim/burst",
        account_uid=UID,
        n=300,
        kind="message",
        text="第{i}条私信：话费多扣了",
        push=False,
    )
    assert _poll(hub, "comment_mentions") == 300
    assert _poll(hub, "direct_messages") == 300
    assert _poll(hub, "comment_mentions") == 0 and _poll(hub, "direct_messages") == 0
    assert sorted(_stored(hub, "comment_mention")) == sorted(comments["ids"])
    assert sorted(_stored(hub, "private_message")) == sorted(messages["ids"])


def test_a_first_connection_takes_the_backlog_back_to_the_horizon_once(hub: LiveHub) -> None:
    old = hub.sim_call(
        "POST", "/_sim/backlog", account_uid=UID, n=30, kind="mention", from_hours=100, to_hours=80
    )
    backlog = hub.sim_call(
        "POST", "/_sim/backlog", account_uid=UID, n=250, kind="mention", from_hours=60, to_hours=1
    )
    assert _poll(hub, "mentions") == 250  # 72 hours back (settings default), three pages
    assert _poll(hub, "mentions") == 0
    stored = _stored(hub, "mention")
    assert sorted(stored) == sorted(backlog["ids"]) and not set(old["ids"]) & set(stored)
    late = hub.sim_call("POST", "/_sim/mentions", account_uid=UID, text="接入之后的新消息")
    assert _poll(hub, "mentions") == 1 and late["id"] in _stored(hub, "mention")
    with httpx.Client(base_url=hub.web_url, timeout=10) as web:
        _login(web, "admin")
        assert "新接入账号首次收取最近 72 小时内的消息" in web.get("/accounts").text


# -- 2. ambiguous writes --------------------------------------------------------------------


def _a_mention_request(hub: LiveHub, text: str) -> tuple[int, str]:
    posted = hub.sim_call("POST", "/_sim/mentions", account_uid=UID, text=text)
    _poll(hub, "mentions")
    return _request_of(hub, posted["id"]), posted["id"]


@pytest.mark.parametrize("lost", ["5xx", "timeout"])
def test_a_reply_whose_answer_was_lost_is_posted_once_and_shown_sent(hub: LiveHub, lost: str) -> None:
    request_id, status_id = _a_mention_request(hub, "宽带又断了，第三次了")
    other_request, _ = _a_mention_request(hub, "营业厅几点关门？")
    hub.sim_call(
        "POST",
        "/_sim/faults",
        lose_ack_next=1,
        lose_ack=lost,
        ack_delay_ms=2500,
        paths=["/2/comments/create"],
    )
    text = "您好，已为您加急派单，工程师今天上门。"
    out_id = _reply(hub, request_id, text)
    first = _outbound(hub, out_id)
    assert first.state == DeliveryState.RETRY and first.in_doubt  # it may have arrived
    _reply(hub, other_request, "营业厅晚上八点关门。")  # another reply in between: 20019 won't catch a resend
    assert send_outbound(hub.runtime, out_id) == DeliveryState.SENT
    created = [i for i in _sim_outbox(hub, "comments/create") if i["status_id"] == status_id]
    assert [i["text"] for i in created] == [text]  # posted once
    done = _outbound(hub, out_id)
    assert done.platform_id == created[0]["id"] and not done.in_doubt and done.error_kind is None


def test_a_private_reply_whose_answer_was_lost_is_found_in_the_sent_box(hub: LiveHub) -> None:
    dm = hub.sim_call("POST", "/_sim/messages", account_uid=UID, text="我的流量怎么用这么快？", push=False)
    _poll(hub, "direct_messages")
    hub.sim_call("POST", "/_sim/faults", lose_ack_next=1, paths=["/2/messages/reply"])
    out_id = _reply(hub, _request_of(hub, dm["id"]), "您好，请发送CXLL到10010查询。")
    assert _outbound(hub, out_id).in_doubt
    assert send_outbound(hub.runtime, out_id) == DeliveryState.SENT
    assert len(_sim_outbox(hub, "messages/reply")) == 1


def test_a_lost_answer_that_cannot_be_checked_waits_for_a_person(hub: LiveHub) -> None:
    request_id, status_id = _a_mention_request(hub, "投诉：装机拖了一周")
    hub.sim_call("POST", "/_sim/faults", lose_ack_next=1, paths=["/2/comments/create"])
    hub.sim_call("POST", "/_sim/faults", errors=[{"path": "/2/comments/by_me.json", "code": 10014}])
    out_id = _reply(hub, request_id, "非常抱歉，已升级处理。")
    assert send_outbound(hub.runtime, out_id) == DeliveryState.UNKNOWN
    out = _outbound(hub, out_id)
    assert out.error_kind == ErrorKind.AMBIGUOUS
    assert send_outbound(hub.runtime, out_id) is None  # never resent on its own
    assert len([i for i in _sim_outbox(hub, "comments/create") if i["status_id"] == status_id]) == 1
    with httpx.Client(base_url=hub.web_url, timeout=10) as web:
        _login(web, "zhangwei")
        assert "发送结果未知" in web.get(f"/requests/{request_id}").text


# -- 3. rate limits read precisely -----------------------------------------------------------


def _pause(hub: LiveHub, scope: str) -> AccountPause | None:
    with hub.runtime.sessions() as s:
        row = s.get(AccountPause, (hub.world.inhouse_account_id, scope))
        if row is not None:
            s.expunge(row)
        return row


def test_a_limit_on_one_api_pauses_that_source_only_for_as_long_as_weibo_says(hub: LiveHub) -> None:
    # Weibo's clock half an hour off ours: its hour ends at another time than our clock's.
    hub.sim_call("POST", "/_sim/clock", advance_seconds=1800)
    hub.sim_call("POST", "/_sim/faults", errors=[{"path": "/2/comments/to_me.json", "code": 10024}])
    reset_in = _reset_in_seconds(hub)
    hub.sim_call("POST", "/_sim/comments", account_uid=UID, text="评论：资费说明看不懂")
    outcome = poll_cursor(hub.runtime, _cursor(hub, "comments_to_me"))
    assert "10024" in outcome.error
    pause = _pause(hub, "source:comments_to_me")
    assert pause is not None and pause.code == 10024
    expected = utcnow() + timedelta(seconds=reset_in)
    assert abs((pause.until - expected).total_seconds()) < 10
    assert _account(hub).health == Health.OK  # the account is not paused
    assert _cursor(hub, "comments_to_me") not in _due(hub)
    assert _cursor(hub, "mentions") in _due(hub)
    posted = hub.sim_call("POST", "/_sim/mentions", account_uid=UID, text="提到你们：信号差")
    assert _poll(hub, "mentions") == 1 and posted["id"] in _stored(hub, "mention")


def _reset_in_seconds(hub: LiveHub) -> int:
    """What Weibo itself says remains of its hour (the hub's token, read like the adapter does)."""
    with hub.runtime.sessions() as s:
        from servicehub.accounts.config import sealed

        account = s.get(Account, hub.world.inhouse_account_id)
        assert account is not None
        token = sealed(hub.runtime, account)["access_token"]
    body = httpx.get(
        f"{hub.sim.base_url}/2/account/rate_limit_status.json", headers={"Authorization": f"OAuth2 {token}"}
    ).json()
    return int(body["reset_time_in_seconds"])


def test_a_user_limit_stops_the_account_only_when_no_hits_are_left(hub: LiveHub) -> None:
    hub.sim_call("POST", "/_sim/clock", advance_seconds=1800)
    hub.sim_call(
        "POST", "/_sim/faults", errors=[{"path": "/2/statuses/mentions.json", "code": 10023, "times": 1}]
    )
    outcome = poll_cursor(hub.runtime, _cursor(hub, "mentions"))
    assert "10023" in outcome.error
    assert _account(hub).health == Health.OK  # hits are left: not the account's quota
    assert _cursor(hub, "comment_mentions") in _due(hub)
    pause = _pause(hub, "source:mentions")
    assert pause is not None and (pause.until - utcnow()).total_seconds() <= 61  # briefly
    # Now the hour's quota really is spent: the whole account waits, until Weibo's reset.
    hub.sim_call("POST", "/_sim/limits", user_per_hour=2)
    _poll(hub, "comment_mentions")
    _poll(hub, "comments_to_me")
    reset_in = _reset_in_seconds(hub)
    outcome = poll_cursor(hub.runtime, _cursor(hub, "direct_messages"))
    assert "10023" in outcome.error
    account = _account(hub)
    assert account.health == Health.RATE_LIMITED and account.rate_limited_until is not None
    assert abs((account.rate_limited_until - (utcnow() + timedelta(seconds=reset_in))).total_seconds()) < 10
    mine = {_cursor(hub, s) for s in ("mentions", "comment_mentions", "comments_to_me", "direct_messages")}
    assert not _due(hub) & mine


def test_a_write_limit_holds_replies_while_polling_goes_on(hub: LiveHub) -> None:
    request_id, _ = _a_mention_request(hub, "我要投诉网速")
    hub.sim_call("POST", "/_sim/faults", errors=[{"path": "/2/comments/create.json", "code": 10024}])
    out_id = _reply(hub, request_id, "您好，我们马上处理。")
    assert _outbound(hub, out_id).state == DeliveryState.RETRY
    assert _pause(hub, "writes") is not None
    assert _account(hub).health == Health.OK
    second = _reply(hub, request_id, "已为您登记。")  # waits without calling Weibo
    assert _outbound(hub, second).state == DeliveryState.RETRY
    assert len(hub.sim_call("GET", "/_sim/outbox")["items"]) == 0
    with hub.runtime.sessions() as s:
        assert due_for_retry(s) == []
    posted = hub.sim_call("POST", "/_sim/mentions", account_uid=UID, text="又断网了")
    assert _poll(hub, "mentions") == 1 and posted["id"] in _stored(hub, "mention")


# -- also from the reference ---------------------------------------------------------------


def test_a_reply_after_the_48_hour_window_is_refused_for_good_and_pauses_nothing(hub: LiveHub) -> None:
    dm = hub.sim_call("POST", "/_sim/messages", account_uid=UID, text="我想改套餐", push=False)
    _poll(hub, "direct_messages")
    hub.sim_call("POST", "/_sim/clock", advance_seconds=49 * 3600)
    request_id = _request_of(hub, dm["id"])
    out_id = _reply(hub, request_id, "您好，可以为您办理。")
    out = _outbound(hub, out_id)
    assert out.state == DeliveryState.FAILED and out.error_kind == ErrorKind.WINDOW_CLOSED
    assert _account(hub).health == Health.OK and _pause(hub, "writes") is None
    with hub.runtime.sessions() as s:
        assert out_id not in due_for_retry(s)
    assert _cursor(hub, "mentions") in _due(hub)
    with httpx.Client(base_url=hub.web_url, timeout=10) as web:
        _login(web, "zhangwei")
        assert "已超过平台允许回复的时限" in web.get(f"/requests/{request_id}").text


def test_rip_is_the_ip_of_the_operator_who_wrote_the_reply(hub: LiveHub) -> None:
    request_id, status_id = _a_mention_request(hub, "手机没信号")
    with httpx.Client(base_url=hub.web_url, follow_redirects=False, timeout=10) as web:
        _login(web, "zhangwei")
        page = web.get(f"/requests/{request_id}").text
        sent = web.post(
            f"/requests/{request_id}/reply",
            data={"text": "您好，请重启手机试试。", "csrf_token": _csrf(page), "nonce": "n-rip"},
        )
        assert sent.status_code == 303
    [created] = [i for i in _sim_outbox(hub, "comments/create") if i["status_id"] == status_id]
    assert created["params"]["rip"] == "127.0.0.1"  # the browser's address, as the hub saw it
    other, other_status = _a_mention_request(hub, "宽带续费")
    _reply(hub, other, "您好，可在营业厅续费。")  # queued with no person's IP: the configured one
    [fallback] = [i for i in _sim_outbox(hub, "comments/create") if i["status_id"] == other_status]
    assert fallback["params"]["rip"] == "203.0.113.9"


def test_a_fans_service_push_is_answered_with_an_empty_body(hub: LiveHub) -> None:
    hub.sim_call(
        "POST",
        "/_sim/callbacks",
        account_uid=UID,
        url=f"{hub.web_url}/push/weibo/{hub.world.inhouse_account_id}",
        verify=True,
    )
    pushed = hub.sim_call("POST", "/_sim/messages", account_uid=UID, text="在吗？", push=True)
    assert pushed["push"]["delivered"] is True
    assert pushed["push"]["response_body"] == ""  # reference §2F.3: an empty string


def test_a_missing_dm_permission_switches_the_source_off_once_with_its_reason(hub: LiveHub) -> None:
    hub.sim_call(
        "POST", "/_sim/faults", errors=[{"path": "/2/direct_messages.json", "code": 10014, "times": 100}]
    )
    cursor = _cursor(hub, "direct_messages")
    outcome = poll_cursor(hub.runtime, cursor)
    assert "10014" in outcome.error
    _due(hub)  # every cursor due again
    assert poll_cursor(hub.runtime, cursor).error == "switched off"
    assert hub.sim_call("GET", "/_sim/faults")["errors"][0]["times"] == 99  # Weibo was asked once
    with hub.runtime.sessions() as s:
        switched = s.scalar(select(func.count()).where(AuditEvent.action == "account.source_switched_off"))
        assert switched == 1
    assert _cursor(hub, "mentions") in _due(hub)
    with httpx.Client(base_url=hub.web_url, timeout=10) as web:
        _login(web, "admin")
        page = web.get("/accounts").text
        assert "应用未获得该接口权限" in page and "私信将通过粉丝服务推送接收" in page


def test_an_account_the_callback_could_not_name_is_named_later(hub: LiveHub) -> None:
    new_uid = "1902538099"
    hub.sim_call(
        "POST",
        "/_sim/accounts",
        uid=new_uid,
        screen_name="联通新开账号",
        app_key="hub-app",
        app_secret="hub-secret",
        redirect_uri=f"{hub.web_url}/oauth/weibo/callback",
    )
    hub.sim_call("POST", "/_sim/faults", errors=[{"path": "/2/users/show.json", "code": 10014}])
    with httpx.Client(base_url=hub.web_url, follow_redirects=False, timeout=10) as web:
        _login(web, "admin")
        to_platform = web.get("/oauth/weibo/start?kind=official")
        chooser = httpx.get(to_platform.headers["location"])
        link = re.search(r'href="([^"]*uid=' + new_uid + r'[^"]*)"', chooser.text)
        assert link, chooser.text
        back = httpx.get(hub.sim.base_url + unescape(link.group(1)), follow_redirects=False)
        done = web.get(back.headers["location"].removeprefix(hub.web_url))
        assert done.status_code == 303, done.text
        assert "账号名称暂未获取" in web.get("/accounts").text
    with hub.runtime.sessions() as s:
        account = s.scalars(select(Account).where(Account.platform_uid == new_uid)).one()
        assert account.display_name == new_uid
    assert refresh_pending_names(hub.runtime) == []  # Weibo still refuses: it waits
    hub.sim_call("POST", "/_sim/faults", clear=True)
    assert refresh_pending_names(hub.runtime) == [account.id]
    with hub.runtime.sessions() as s:
        renamed = s.get(Account, account.id)
        assert renamed is not None and renamed.display_name == "联通新开账号"


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
