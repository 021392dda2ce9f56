"""Every adapter endpoint against recorded payloads through httpx.MockTransport."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import httpx
import pytest

from servicehub.adapters.base import (
    CommentSource,
    Credentials,
    DirectMessenger,
    EngagementReader,
    FanGraphReader,
    ItemKind,
    MentionSource,
    MessageSource,
    Publisher,
    Replier,
    ReplyTarget,
    Source,
    source_fetcher,
)
from servicehub.adapters.errors import NotFound, Rejected
from servicehub.adapters.registry import build_adapter
from servicehub.adapters.weibo.client import WeiboAdapter
from servicehub.adapters.weibo.text import weibo_length
from tests.adapters.weibo.support import (
    ACCOUNT_UID,
    FANS_API,
    NOW,
    FakeWeibo,
    form,
    load_fixture,
    make_adapter,
    make_config,
)


def test_registry_builds_the_adapter_with_every_capability(fake: FakeWeibo) -> None:
    weibo = build_adapter(make_config(), Credentials("t", ACCOUNT_UID), httpx.MockTransport(fake))
    assert isinstance(weibo, WeiboAdapter)
    for protocol in (
        MentionSource,
        CommentSource,
        MessageSource,
        Replier,
        Publisher,
        DirectMessenger,
        EngagementReader,
        FanGraphReader,
    ):
        assert isinstance(weibo, protocol), protocol
    assert all(source_fetcher(weibo, source) is not None for source in Source)
    weibo.close()


# -- list sources ------------------------------------------------------------------------


def test_fetch_comment_mentions(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("GET", "/2/comments/mentions.json", load_fixture("comments_wiki.json"))
    result = adapter.fetch_comment_mentions(None)
    [item] = result.items
    assert item.kind is ItemKind.COMMENT_MENTION
    assert (item.platform_id, item.thread_id, result.newest_id) == (
        "12438492184",
        "11488058246",
        "12438492184",
    )


def test_fetch_comments_to_me(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("GET", "/2/comments/to_me.json", load_fixture("comments_show_real.json"), {"comments": []})
    result = adapter.fetch_comments_to_me("3763139219216000")
    assert [i.kind for i in result.items] == [ItemKind.COMMENT]
    assert result.items[0].reply_target.comment_id == "3763139219216762"
    assert fake.requests[0].url.params["since_id"] == "3763139219216000"


def test_fetch_comments_to_me_empty(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("GET", "/2/comments/to_me.json", load_fixture("comments_empty_real.json"))
    result = adapter.fetch_comments_to_me("42")
    assert (list(result.items), result.newest_id) == ([], "42")


def test_fetch_direct_messages(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("GET", "/2/direct_messages.json", load_fixture("direct_messages_wiki.json"))
    [item] = adapter.fetch_direct_messages(None).items
    assert item.kind is ItemKind.PRIVATE_MESSAGE
    assert item.reply_target == ReplyTarget(kind="private_message", user_uid="4294917290")


def test_comments_on_a_status(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("GET", "/2/comments/show.json", load_fixture("comments_show_real.json"))
    result = adapter.comments_on("3763000496676483")
    assert fake.requests[0].url.params["id"] == "3763000496676483"
    assert [i.platform_id for i in result.items] == ["3763139219216762"]


def test_repost_timeline(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    repost = load_fixture("status_user_timeline_real.json")
    fake.on(
        "GET",
        "/2/statuses/repost_timeline.json",
        {"reposts": [repost]},
        load_fixture("repost_timeline_empty.json"),
    )
    result = adapter.repost_timeline("3821898536514000", since_id="3821898536514000")
    assert [i.platform_id for i in result.items] == ["3821898536514864"]
    assert all(r.url.params["id"] == "3821898536514000" for r in fake.requests)
    assert result.items[0].reply_target.kind == "comment_status"


# -- replies -------------------------------------------------------------------------------


def test_reply_to_a_mention_comments_on_the_status(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("POST", "/2/comments/create.json", load_fixture("comments_wiki.json")["comments"][0])
    sent = adapter.reply(ReplyTarget(kind="comment_status", status_id="11488058246"), "您好，已为您处理")
    assert form(fake.requests[0]) == {"id": "11488058246", "comment": "您好，已为您处理"}
    assert fake.requests[0].url.host == "api.weibo.test"
    assert sent.platform_id == "12438492184"
    assert sent.text == "love your work......."
    assert sent.created_at is not None


def test_reply_to_a_comment(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("POST", "/2/comments/reply.json", load_fixture("comment_reply_wiki.json"))
    target = ReplyTarget(kind="reply_comment", comment_id="4949855625", status_id="11488058246")
    sent = adapter.reply(target, "谢谢反馈")
    assert form(fake.requests[0]) == {"cid": "4949855625", "id": "11488058246", "comment": "谢谢反馈"}
    assert sent.platform_id == "12438492184"


def test_reply_to_a_comment_without_its_status_looks_the_status_up(
    fake: FakeWeibo, adapter: WeiboAdapter
) -> None:
    comment = load_fixture("comments_show_real.json")["comments"][0]
    fake.on("GET", "/2/comments/show_batch.json", [comment])
    fake.on("POST", "/2/comments/reply.json", load_fixture("comment_reply_wiki.json"))
    adapter.reply(ReplyTarget(kind="reply_comment", comment_id="3763139219216762"), "您好")
    assert fake.requests[0].url.params["cids"] == "3763139219216762"
    assert form(fake.requests[1])["id"] == "3763000496676483"


def test_reply_to_a_vanished_comment(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("GET", "/2/comments/show_batch.json", [])
    with pytest.raises(NotFound, match="3763139219216762"):
        adapter.reply(ReplyTarget(kind="reply_comment", comment_id="3763139219216762"), "您好")


def test_private_reply_goes_to_the_fans_service_host(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("POST", "/2/messages/reply.json", load_fixture("messages_reply_inferred.json"))
    sent = adapter.reply(ReplyTarget(kind="private_message", user_uid="2489518277"), "纯文本回复")
    request = fake.requests[0]
    assert str(request.url) == f"{FANS_API}/2/messages/reply.json"
    # data is JSON, URL-encoded exactly once, as in the reference's curl example
    assert (
        "data=%7B%22text%22%3A%22%E7%BA%AF%E6%96%87%E6%9C%AC%E5%9B%9E%E5%A4%8D%22%7D"
        in request.content.decode()
    )
    body = form(request)
    assert (body["type"], body["receiver_id"]) == ("text", "2489518277")
    assert json.loads(body["data"]) == {"text": "纯文本回复"}
    assert sent.platform_id == f"msg-2489518277-{int(NOW.timestamp())}"
    assert sent.text == "纯文本回复"


def test_fans_base_defaults_to_the_real_fans_service_host(fake: FakeWeibo) -> None:
    fake.on(
        "POST",
        "/2/messages/reply.json",
        {"id": 77, "text": "好", "created_at": "Mon Jul 16 18:10:02 +0800 2012"},
    )
    config = dataclasses.replace(make_config(), extra={})
    with WeiboAdapter(config, Credentials("t", ACCOUNT_UID), transport=httpx.MockTransport(fake)) as weibo:
        sent = weibo.reply(ReplyTarget(kind="private_message", user_uid="1"), "好")
    assert fake.requests[0].url.host == "m.api.weibo.com"  # reference §2F.5, not api_base
    assert sent.platform_id == "77"


@pytest.mark.parametrize(
    ("target", "text", "message"),
    [
        (ReplyTarget(kind="comment_status", status_id="1"), "好" * 146, "评论超过140字 (146)"),
        (ReplyTarget(kind="reply_comment", comment_id="2", status_id="1"), "a" * 282, "评论超过140字 (141)"),
        (ReplyTarget(kind="private_message", user_uid="3"), "😀" * 151, "私信超过300字 (302)"),
        (ReplyTarget(kind="comment_status"), "好", "lacks status_id"),
        (ReplyTarget(kind="retweet", status_id="1"), "好", "kind 'retweet'"),
    ],
)
def test_reply_is_refused_before_sending(
    fake: FakeWeibo, adapter: WeiboAdapter, target: ReplyTarget, text: str, message: str
) -> None:
    with pytest.raises(Rejected, match=message.replace("(", r"\(").replace(")", r"\)")):
        adapter.reply(target, text)
    assert fake.requests == []


def test_rip_is_sent_when_configured(fake: FakeWeibo) -> None:
    fake.on("POST", "/2/comments/create.json", load_fixture("comments_wiki.json")["comments"][0])
    with make_adapter(fake, rip="211.156.0.1") as weibo:
        weibo.reply(ReplyTarget(kind="comment_status", status_id="1"), "好")
    assert form(fake.requests[0])["rip"] == "211.156.0.1"


# -- publishing ----------------------------------------------------------------------------


def test_publish_post_uses_statuses_share(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("POST", "/2/statuses/share.json", load_fixture("share_wiki.json"))
    sent = adapter.publish_post("5G套餐升级 https://hub.example.com/p/1")
    assert [r.url.path for r in fake.requests] == ["/2/statuses/share.json"]
    assert form(fake.requests[0]) == {"status": "5G套餐升级 https://hub.example.com/p/1"}
    assert sent.platform_id == "3504803600502730"


def test_publish_post_refuses_topics_and_foreign_domains(fake: FakeWeibo) -> None:
    with make_adapter(fake, share_domains="hub.example.com") as weibo:
        with pytest.raises(Rejected, match="话题"):
            weibo.publish_post("#双十一# 优惠 https://hub.example.com/x")
        with pytest.raises(Rejected, match="安全域名"):
            weibo.publish_post("优惠 https://evil.example.org/x")
        with pytest.raises(Rejected, match="微博超过140字"):
            weibo.publish_post("好" * 141)
    assert fake.requests == []


def test_publish_post_share_domain_error(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on(
        "POST",
        "/2/statuses/share.json",
        httpx.Response(400, json=load_fixture("error_share_domain_real.json")),
    )
    with pytest.raises(Rejected, match="safe domain") as info:
        adapter.publish_post("优惠 https://x.example.com")
    assert info.value.code == 10017


def test_send_direct_message(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on(
        "POST", "/2/direct_messages/new.json", load_fixture("direct_messages_wiki.json")["direct_messages"][0]
    )
    sent = adapter.send_direct_message("2125034703", "您的工单已处理")
    assert form(fake.requests[0]) == {"uid": "2125034703", "text": "您的工单已处理"}
    assert sent.platform_id == "3332910801173380"


def test_send_direct_message_to_non_follower(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on(
        "POST", "/2/direct_messages/new.json", httpx.Response(403, json={"error": "x", "error_code": 20301})
    )
    with pytest.raises(Rejected, match="不是你粉丝"):
        adapter.send_direct_message("1", "你好")


def test_repost(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("POST", "/2/statuses/repost.json", load_fixture("status_user_timeline_real.json"))
    sent = adapter.repost("3821898536514000", "转发一下", comment=True)
    assert form(fake.requests[0]) == {"id": "3821898536514000", "is_comment": "1", "status": "转发一下"}
    assert sent.platform_id == "3821898536514864"
    adapter.repost("3821898536514000")
    assert form(fake.requests[1]) == {"id": "3821898536514000", "is_comment": "0"}


# -- reads ---------------------------------------------------------------------------------


def test_engagement_batches_by_100_and_keeps_input_order(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    def counts(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["ids"].split(",")
        # string values and "likes" as in the C/2 sample; drop one unknown id silently
        return httpx.Response(
            200,
            json=[
                {"id": i, "comments": "1", "reposts": "2", "likes": "3"} for i in reversed(ids) if i != "150"
            ],
        )

    fake.on("GET", "/2/statuses/count.json", counts)
    ids = [str(i) for i in range(1, 231)]
    result = adapter.engagement(ids)
    assert [len(r.url.params["ids"].split(",")) for r in fake.requests] == [100, 100, 30]
    assert [c.platform_id for c in result] == [i for i in ids if i != "150"]
    assert (result[0].reposts, result[0].comments, result[0].likes) == (2, 1, 3)


def test_engagement_recorded_payloads(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on(
        "GET",
        "/2/statuses/count.json",
        load_fixture("statuses_count_biz_wiki.json"),
        load_fixture("statuses_count_2020_constructed.json"),
    )
    [biz] = adapter.engagement(["32817222"])
    [modern] = adapter.engagement(["4900000000000001"])
    assert (biz.likes, modern.likes) == (38, 12)


def test_followers_page(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("GET", "/2/friendships/followers.json", load_fixture("followers_wiki.json"))
    page = adapter.followers(cursor=0)
    params = fake.requests[0].url.params
    assert (params["uid"], params["cursor"]) == (ACCOUNT_UID, "0")
    assert (page.next_cursor, page.total, page.users[0].uid) == (1, 35, "321205008")


def test_follower_ids(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on(
        "GET",
        "/2/friendships/followers/ids.json",
        {"ids": [321205008, "9007199254740993"], "next_cursor": 0, "previous_cursor": 0, "total_number": 2},
    )
    page = adapter.follower_ids(cursor=5)
    assert fake.requests[0].url.params["cursor"] == "5"
    assert (page.ids, page.next_cursor, page.total) == (["321205008", "9007199254740993"], 0, 2)


def test_status_show(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("GET", "/2/statuses/show.json", load_fixture("status_user_timeline_real.json"))
    item = adapter.status("3821898536514864")
    assert fake.requests[0].url.params["id"] == "3821898536514864"
    assert (item.kind, item.platform_id) == (ItemKind.MENTION, "3821898536514864")


def test_users_show(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("GET", "/2/users/show.json", load_fixture("users_show_wiki.json"))
    user = adapter.user("1404376560")
    assert fake.requests[0].url.params["uid"] == "1404376560"
    assert (user.screen_name, user.followers_count) == ("zaku", 1204)


def test_rate_limit_status(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("GET", "/2/account/rate_limit_status.json", load_fixture("rate_limit_status_spring.json"))
    status = adapter.rate_limit_status()
    assert (status.remaining_user_hits, status.user_limit) == (149, 150)
    assert status.reset_at == NOW + timedelta(seconds=2295)


def test_get_uid(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("GET", "/2/account/get_uid.json", load_fixture("get_uid_weiboclient4j.json"))
    assert adapter.get_uid() == "3456676543"


def test_length_rule_matches_what_the_adapter_enforces(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("POST", "/2/comments/create.json", load_fixture("comments_wiki.json")["comments"][0])
    text = "好" * 129 + "x" + " https://example.com/" + "p" * 300  # 129 + 0.5 + 0.5 + 10 = 140
    assert weibo_length(text) == 140
    adapter.reply(ReplyTarget(kind="comment_status", status_id="1"), text)
    assert len(fake.requests) == 1
