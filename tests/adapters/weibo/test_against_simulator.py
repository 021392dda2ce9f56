"""The adapter against the Weibo simulator over real HTTP: paging, writes, token and quota errors, push."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from servicehub.adapters.base import (
    LIST_START,
    Credentials,
    Horizon,
    InboundItem,
    ItemKind,
    PlatformConfig,
    PostImage,
    ReplyTarget,
)
from servicehub.adapters.errors import LimitScope, RateLimited, Rejected, TokenExpired
from servicehub.adapters.simulator.server import SimulatorThread, run_simulator_in_thread
from servicehub.adapters.weibo.client import WeiboAdapter

PAGE = 20


@dataclass
class Account:
    uid: str
    token: str
    app_key: str
    app_secret: str
    safe_domain: str


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    runner = run_simulator_in_thread(seed=7, rate=0.0)
    try:
        yield runner
    finally:
        runner.stop()


@pytest.fixture
def control(sim: SimulatorThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, timeout=10) as client:
        yield client


def sim_post(control: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = control.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
def account(control: httpx.Client) -> Account:
    created = sim_post(control, "/_sim/accounts", {"screen_name": "联通客服测试", "followers": 5})
    return Account(
        uid=created["uid"],
        token=created["access_token"],
        app_key=created["app_key"],
        app_secret=created["app_secret"],
        safe_domain=created["safe_domains"][0],
    )


@pytest.fixture
def weibo(sim: SimulatorThread, account: Account) -> Iterator[WeiboAdapter]:
    config = PlatformConfig(
        name="weibo",
        api_base=sim.base_url,
        app_key=account.app_key,
        app_secret=account.app_secret,
        max_retries=1,
        extra={"page_size": str(PAGE), "fans_api_base": sim.base_url},
    )
    with WeiboAdapter(config, Credentials(account.token, account.uid), sleep=lambda _: None) as adapter:
        yield adapter


def outbox(control: httpx.Client, endpoint: str) -> list[dict[str, Any]]:
    response = control.get("/_sim/outbox", params={"endpoint": endpoint})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_mentions_burst_of_three_pages_is_complete(control: httpx.Client, weibo: WeiboAdapter) -> None:
    sim_post(control, "/_sim/mentions", {"text": "开始"})
    first = weibo.fetch_mentions(None)
    assert first.newest_id is not None
    burst = sim_post(control, "/_sim/burst", {"kind": "mention", "n": 3 * PAGE})

    second = weibo.fetch_mentions(first.newest_id)
    ids = [item.platform_id for item in second.items]
    assert sorted(ids, key=int) == sorted(burst["ids"], key=int)
    assert len(set(ids)) == 3 * PAGE
    assert ids == sorted(ids, key=int, reverse=True)
    assert second.newest_id == burst["last_id"]
    assert second.pages >= 3
    assert all(item.kind is ItemKind.MENTION for item in second.items)

    assert weibo.fetch_mentions(second.newest_id).items == []


def test_comments_to_me_burst(control: httpx.Client, weibo: WeiboAdapter) -> None:
    sim_post(control, "/_sim/comments", {"text": "第一条评论"})
    start = weibo.fetch_comments_to_me(None)
    assert start.newest_id is not None
    burst = sim_post(control, "/_sim/burst", {"kind": "comment", "n": 2 * PAGE + 3})
    result = weibo.fetch_comments_to_me(start.newest_id)
    assert [i.platform_id for i in result.items] == sorted(burst["ids"], key=int, reverse=True)
    assert all(i.reply_target.kind == "reply_comment" and i.reply_target.status_id for i in result.items)


def _one_mention(control: httpx.Client, weibo: WeiboAdapter, text: str) -> InboundItem:
    sim_post(control, "/_sim/mentions", {"text": text})
    [item] = weibo.fetch_mentions(None).items[:1]
    return item


def test_reply_to_mention_is_in_the_outbox(control: httpx.Client, weibo: WeiboAdapter) -> None:
    item = _one_mention(control, weibo, "网络又断了，怎么回事？")
    sent = weibo.reply(item.reply_target, "您好，已为您报修，请留意短信通知。")
    [entry] = outbox(control, "comments/create")
    assert entry["status_id"] == item.platform_id
    assert entry["text"] == "您好，已为您报修，请留意短信通知。"
    assert sent.platform_id == entry["id"]


def test_reply_to_comment_is_in_the_outbox(control: httpx.Client, weibo: WeiboAdapter) -> None:
    sim_post(control, "/_sim/comments", {"text": "套餐怎么退订？"})
    [comment] = weibo.fetch_comments_to_me(None).items[:1]
    weibo.reply(comment.reply_target, "您好，发送TD到10010即可退订。")
    [entry] = outbox(control, "comments/reply")
    assert entry["comment_id"] == comment.platform_id
    assert entry["status_id"] == comment.thread_id


def test_private_message_reply_and_post(control: httpx.Client, weibo: WeiboAdapter, account: Account) -> None:
    sim_post(control, "/_sim/messages", {"text": "我的宽带账号是多少？", "push": False})
    [message] = weibo.fetch_direct_messages(None).items
    assert message.kind is ItemKind.PRIVATE_MESSAGE
    weibo.reply(message.reply_target, "您好，请提供身份证后四位。")
    [entry] = outbox(control, "messages/reply")
    assert entry["receiver_id"] == message.author.uid
    assert entry["text"] == "您好，请提供身份证后四位。"

    post = weibo.publish_post(f"5G新套餐上线 https://{account.safe_domain}/5g")
    [shared] = outbox(control, "statuses/share")
    assert shared["id"] == post.platform_id


def test_share_without_safe_domain_is_rejected(weibo: WeiboAdapter) -> None:
    with pytest.raises(Rejected) as info:
        weibo.publish_post("没有链接的微博")
    assert info.value.code == 10017


def test_a_picture_goes_as_multipart_and_what_is_no_picture_is_refused(
    control: httpx.Client, account: Account, weibo: WeiboAdapter
) -> None:
    gif = PostImage("a.gif", "image/gif", b"GIF89a" + b"\x00" * 32)
    post = weibo.publish_post(f"活动海报 https://{account.safe_domain}/poster", image=gif)
    [shared] = outbox(control, "statuses/share")
    assert shared["id"] == post.platform_id and len(shared["result"]["pic_ids"]) == 1
    with pytest.raises(Rejected) as info:
        weibo.publish_post(
            f"再来一张 https://{account.safe_domain}/p2", image=PostImage("a.txt", "image/png", b"not a png")
        )
    assert info.value.code == 20005


def test_too_long_is_refused_before_sending(control: httpx.Client, weibo: WeiboAdapter) -> None:
    item = _one_mention(control, weibo, "在吗")
    with pytest.raises(Rejected, match=r"评论超过140字 \(141\)"):
        weibo.reply(item.reply_target, "好" * 141)
    assert outbox(control, "comments/create") == []


def test_expired_token(control: httpx.Client, weibo: WeiboAdapter, account: Account) -> None:
    sim_post(control, "/_sim/faults", {"expire_token": account.token})
    with pytest.raises(TokenExpired) as info:
        weibo.fetch_mentions(None)
    assert info.value.code == 21327


def test_rate_limit(control: httpx.Client, weibo: WeiboAdapter) -> None:
    sim_post(control, "/_sim/limits", {"user_per_hour": 2})
    weibo.fetch_mentions(None)
    weibo.fetch_comments_to_me(None)
    with pytest.raises(RateLimited) as info:
        weibo.fetch_mentions(None)
    assert info.value.code == 10023
    assert info.value.reset_at is not None
    now = datetime.now(UTC)
    assert now < info.value.reset_at <= now + timedelta(hours=1, seconds=5)
    status = weibo.rate_limit_status()  # not counted, so it still answers
    assert (status.remaining_user_hits, status.user_limit) == (0, 2)


def test_engagement_and_followers(control: httpx.Client, weibo: WeiboAdapter, account: Account) -> None:
    post = weibo.publish_post(f"活动 https://{account.safe_domain}/a")
    sim_post(
        control, "/_sim/engagement", {"status_id": post.platform_id, "likes": 4, "reposts": 2, "comments": 3}
    )
    [count] = weibo.engagement([post.platform_id])
    assert (count.likes, count.reposts, count.comments) == (4, 2, 3)
    page = weibo.followers()
    assert page.total == 5
    followed = weibo.following()  # friendships/friends: a new account follows no one yet
    assert (followed.total, list(followed.users), followed.next_cursor) == (0, [], 0)
    assert weibo.get_uid() == account.uid


@pytest.mark.parametrize("code", [10023, 10024])
def test_a_storm_on_statuses_count_stops_engagement_only(
    control: httpx.Client, weibo: WeiboAdapter, account: Account, code: int
) -> None:
    """The hub's engagement tracking meets a rate limit on statuses/count alone: that call
    waits (scope CALL), while the service intake of the same account keeps reading."""
    post = weibo.publish_post(f"活动 https://{account.safe_domain}/storm")
    sim_post(
        control,
        "/_sim/comments",
        {"account_uid": account.uid, "text": "宽带又断了", "status_id": post.platform_id},
    )
    rule = {"path": "/2/statuses/count.json", "code": code, "uid": account.uid}
    sim_post(control, "/_sim/faults", {"errors": [rule]})
    with pytest.raises(RateLimited) as info:
        weibo.engagement([post.platform_id])
    assert info.value.code == code
    assert info.value.scope is LimitScope.CALL
    assert info.value.retry_after is not None and info.value.retry_after <= 3600
    comments = weibo.fetch_comments_to_me(LIST_START)
    assert [item.text for item in comments.items] == ["宽带又断了"]
    weibo.fetch_mentions(LIST_START)
    sim_post(control, "/_sim/faults", {"clear": True})
    [count] = weibo.engagement([post.platform_id])
    assert count.comments == 1


def test_a_published_post_draws_reactions_the_adapter_reads(
    control: httpx.Client, weibo: WeiboAdapter, account: Account
) -> None:
    """With reactions on, a post the adapter publishes gains likes, comments and reposts as
    the simulated clock runs on, and its comments reach the comments/to_me intake."""
    sim_post(control, "/_sim/reactions", {"enabled": True})
    post = weibo.publish_post(f"宽带提速 https://{account.safe_domain}/speed")
    [before] = weibo.engagement([post.platform_id])
    assert (before.likes, before.comments, before.reposts) == (0, 0, 0)
    sim_post(control, "/_sim/clock", {"advance_seconds": 30})
    [early] = weibo.engagement([post.platform_id])
    assert early.likes >= 1 and early.comments >= 1
    sim_post(control, "/_sim/clock", {"advance_seconds": 600})
    [late] = weibo.engagement([post.platform_id])
    assert late.likes > early.likes and late.reposts >= 1 and late.comments >= early.comments
    intake = weibo.fetch_comments_to_me(LIST_START)
    on_post = [item for item in intake.items if item.thread_id == post.platform_id]
    assert len(on_post) == late.comments


class _PushReceiver(BaseHTTPRequestHandler):
    adapter: WeiboAdapter
    received: list[InboundItem]

    def do_GET(self) -> None:
        echo = self.adapter.echo(dict(parse_qsl(urlsplit(self.path).query)))
        self._answer(200 if echo is not None else 403, echo or "")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not self.adapter.verify_push(dict(parse_qsl(urlsplit(self.path).query))):
            self._answer(403, "bad signature")
            return
        self.received.extend(self.adapter.parse_push(body, self.headers.get("Content-Type", "")))
        self._answer(200, "")

    def _answer(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return None


def test_signed_push_is_verified_and_parsed(control: httpx.Client, weibo: WeiboAdapter) -> None:
    received: list[InboundItem] = []
    handler = type("Receiver", (_PushReceiver,), {"adapter": weibo, "received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/weibo/push"
        registered = sim_post(control, "/_sim/callbacks", {"url": url, "verify": True})
        assert registered["verified"]["ok"], registered
        pushed = sim_post(control, "/_sim/messages", {"text": "客服在吗？"})
        assert pushed["push"]["delivered"], pushed
        sim_post(control, "/_sim/events", {"subtype": "follow"})
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert [(i.kind, i.text) for i in received] == [
        (ItemKind.PRIVATE_MESSAGE, "客服在吗？"),
        (ItemKind.EVENT, "关注事件消息"),
    ]
    assert received[0].reply_target.user_uid == received[0].author.uid


def test_find_sent_recognizes_a_reply_as_weibo_stored_it(
    control: httpx.Client, weibo: WeiboAdapter, account: Account
) -> None:
    """Weibo prefixes 回复@昵称: and shortens links: the lookup still knows its own reply."""
    since = datetime.now(UTC) - timedelta(minutes=1)
    sim_post(control, "/_sim/comments", {"text": "资费怎么查？"})
    [comment] = weibo.fetch_comments_to_me(None).items[:1]
    text = f"您好，请看 https://{account.safe_domain}/fee 的说明。"
    sent = weibo.reply(comment.reply_target, text)
    [entry] = outbox(control, "comments/reply")
    assert entry["text"].startswith("回复@") and "t.cn" in entry["text"]
    found = weibo.find_sent(comment.reply_target, text, since)
    assert found is not None and found.platform_id == sent.platform_id
    assert weibo.find_sent(comment.reply_target, "另一段话", since) is None
    other = ReplyTarget(kind="comment_status", status_id="4900000000000001")
    assert weibo.find_sent(other, text, since) is None


def test_find_sent_reads_the_sent_box_for_private_messages(
    control: httpx.Client, weibo: WeiboAdapter
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    sim_post(control, "/_sim/messages", {"text": "人工客服在吗？", "push": False})
    [message] = weibo.fetch_direct_messages(None).items
    sent = weibo.reply(message.reply_target, "在的，请讲。")
    found = weibo.find_sent(message.reply_target, "在的，请讲。", since)
    assert found is not None and found.platform_id == sent.platform_id


def test_first_connection_reaches_back_to_the_horizon(control: httpx.Client, weibo: WeiboAdapter) -> None:
    sim_post(control, "/_sim/backlog", {"kind": "mention", "n": 4, "from_hours": 100, "to_hours": 90})
    recent = sim_post(
        control, "/_sim/backlog", {"kind": "mention", "n": 3 * PAGE, "from_hours": 5, "to_hours": 1}
    )
    horizon = Horizon(not_before=datetime.now(UTC) - timedelta(hours=72), max_pages=10)
    result = weibo.fetch_mentions(None, horizon=horizon)
    assert sorted(i.platform_id for i in result.items) == sorted(recent["ids"])
    assert result.newest_id == recent["last_id"]
    capped = weibo.fetch_mentions(None, horizon=Horizon(horizon.not_before, max_pages=1))
    assert len(capped.items) == PAGE and capped.newest_id == recent["last_id"]


def test_an_empty_first_list_is_a_position_and_a_burst_after_it_comes_whole(
    control: httpx.Client, weibo: WeiboAdapter
) -> None:
    empty = weibo.fetch_comment_mentions(None, horizon=Horizon(datetime.now(UTC) - timedelta(hours=1), 3))
    assert empty.items == [] and empty.newest_id == LIST_START
    burst = sim_post(
        control, "/_sim/burst", {"kind": "comment", "n": 3 * PAGE, "text": "@联通客服测试 第{i}条"}
    )
    after = weibo.fetch_comment_mentions(empty.newest_id)
    assert sorted(i.platform_id for i in after.items) == sorted(burst["ids"])


def test_rip_is_the_writers_ip(control: httpx.Client, weibo: WeiboAdapter) -> None:
    item = _one_mention(control, weibo, "在吗")
    weibo.reply(item.reply_target, "在的", client_ip="198.51.100.7")
    [entry] = outbox(control, "comments/create")
    assert entry["params"]["rip"] == "198.51.100.7"
