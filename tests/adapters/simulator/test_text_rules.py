"""Weibo's length rule and what the simulator stores for replies, shares and reposts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from servicehub.adapters.simulator.textrules import has_topic, mention_names, shorten_urls, weibo_length


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("", 0),
        ("a", 1),  # half a unit rounds up
        ("ab", 1),
        ("é" * 3, 2),  # Latin-1 counts half
        ("汉字", 2),
        ("😂", 2),  # beyond U+FFFF counts two
        ("http://example.com/a/very/long/path?with=query&and=more", 10),  # any link counts ten
        ("看 https://www.10010.com/x 啊", 13),  # 1 + half-width space ... 10 + space + 1 -> 26 half units
        ("x" * 280, 140),
        ("x" * 281, 141),
    ],
)
def test_weibo_length(text: str, length: int) -> None:
    assert weibo_length(text) == length


def test_mentions_topics_and_short_links() -> None:
    assert mention_names("@中国联通客服 你好 @Leo-1990:在吗 http://a.com/@nobody") == [
        "中国联通客服",
        "Leo-1990",
    ]
    assert has_topic("#话题# 内容") and not has_topic("http://a.com/#anchor# 不是话题")
    short = shorten_urls("看 https://www.10010.com/act 和 http://t.cn/abc1234")
    assert short.startswith("看 http://t.cn/") and short.endswith("和 http://t.cn/abc1234")
    assert short == shorten_urls("看 https://www.10010.com/act 和 http://t.cn/abc1234")  # stable


async def post(client: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    return await client.post(path, data=data)


async def test_140_limit_over_http(client: httpx.AsyncClient, token: str) -> None:
    status_id = (await client.post("/_sim/mentions", json={"text": "求助"})).json()["id"]
    cases = [
        ("汉" * 140, 200),
        ("汉" * 141, 400),
        ("a" * 280, 200),
        ("b" * 281, 400),
        ("😂" * 70, 200),
        ("😡" * 71, 400),
        ("汉" * 130 + " http://example.com/" + "x" * 200, 400),
        ("汉" * 129 + "http://example.com/" + "y" * 200, 200),
    ]
    for text, status in cases:
        response = await post(
            client, "/2/comments/create.json", access_token=token, id=status_id, comment=text
        )
        assert response.status_code == status, (text[:10], response.text)
        if status == 400:
            assert response.json()["error_code"] == 20012


async def reply(
    client: httpx.AsyncClient, token: str, comment: dict[str, Any], text: str, **extra: str
) -> httpx.Response:
    return await post(
        client,
        "/2/comments/reply.json",
        access_token=token,
        cid=comment["id"],
        id=comment["comment"]["status"]["idstr"],
        comment=text,
        **extra,
    )


async def test_reply_prefixes_the_mention_unless_told_not_to(client: httpx.AsyncClient, token: str) -> None:
    comment = (
        await client.post("/_sim/comments", json={"screen_name": "暴躁阿强", "text": "宽带又断了"})
    ).json()
    response = await reply(client, token, comment, "您好，已为您报修")
    body = response.json()
    assert response.status_code == 200
    assert body["text"] == "回复@暴躁阿强:您好，已为您报修"
    assert body["reply_comment"]["id"] == int(comment["id"]) and body["reply_comment"]["text"] == "宽带又断了"
    assert "status" not in body["reply_comment"]
    plain = await reply(client, token, comment, "师傅今天下午上门", without_mention="1")
    assert plain.json()["text"] == "师傅今天下午上门"
    outbox = (await client.get("/_sim/outbox", params={"comment_id": comment["id"]})).json()
    assert [(i["endpoint"], i["text"], i["request_text"]) for i in outbox["items"]] == [
        ("comments/reply", "回复@暴躁阿强:您好，已为您报修", "您好，已为您报修"),
        ("comments/reply", "师傅今天下午上门", "师傅今天下午上门"),
    ]
    assert "access_token" not in outbox["items"][0]["params"]
    to_me = await client.get("/2/comments/to_me.json", params={"access_token": token})
    assert [c["id"] for c in to_me.json()["comments"]] == [int(comment["id"])]  # own replies are not "to me"


async def test_reply_needs_the_comment_under_that_post(client: httpx.AsyncClient, token: str) -> None:
    comment = (await client.post("/_sim/comments", json={"text": "在吗"})).json()
    other = (await client.post("/_sim/mentions", json={"text": "别的帖子"})).json()
    response = await post(
        client,
        "/2/comments/reply.json",
        access_token=token,
        cid=comment["id"],
        id=other["id"],
        comment="你好",
    )
    assert response.status_code == 400 and response.json()["error_code"] == 10017


async def test_share_and_repost_text(client: httpx.AsyncClient, token: str, account: dict[str, Any]) -> None:
    shared = await post(
        client, "/2/statuses/share.json", access_token=token, status="领流量 https://www.10010.com/act"
    )
    body = shared.json()
    assert body["user"]["idstr"] == account["uid"] and body["text"].startswith("领流量 http://t.cn/")
    original = (await client.post("/_sim/mentions", json={"screen_name": "数码君", "text": "5G真快"})).json()
    fan_repost = (
        await client.post("/_sim/engagement", json={"status_id": original["id"], "reposts": 1})
    ).json()
    assert fan_repost["reposts"] == 1
    hop = (
        await client.get(
            "/2/statuses/repost_timeline.json", params={"access_token": token, "id": original["id"]}
        )
    ).json()["reposts"][0]
    repost = await post(
        client, "/2/statuses/repost.json", access_token=token, id=hop["idstr"], status="感谢支持"
    )
    data = repost.json()
    assert data["text"] == f"感谢支持//@{hop['user']['screen_name']}:转发微博"
    assert data["retweeted_status"]["id"] == int(original["id"])
    default = await post(client, "/2/statuses/repost.json", access_token=token, id=original["id"])
    assert default.json()["text"] == "转发微博"
    count = await client.get("/2/statuses/count.json", params={"access_token": token, "ids": original["id"]})
    assert count.json()[0]["reposts"] == 3
