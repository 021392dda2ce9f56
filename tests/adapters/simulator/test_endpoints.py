"""Read endpoints and object shapes: counts, show, users, comment lists, DMs, the outbox."""

from __future__ import annotations

import re
from typing import Any

import httpx

DATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d\d "
    r"\d\d:\d\d:\d\d \+0800 \d{4}"
)


async def test_statuses_count_is_a_bare_array_without_unknown_ids(
    client: httpx.AsyncClient, token: str
) -> None:
    one = (await client.post("/_sim/mentions", json={"text": "一"})).json()["id"]
    two = (await client.post("/_sim/mentions", json={"text": "二"})).json()["id"]
    await client.post("/_sim/engagement", json={"status_id": one, "likes": 4, "comments": 2, "reposts": 1})
    ids = f"{one},4900000000000001,{two},junk"
    body = (await client.get("/2/statuses/count.json", params={"access_token": token, "ids": ids})).json()
    assert isinstance(body, list)
    assert [(e["id"], e["idstr"], e["comments"], e["reposts"], e["attitudes"]) for e in body] == [
        (int(one), one, 2, 1, 4),
        (int(two), two, 0, 0, 0),
    ]
    too_many = ",".join(str(4_900_000_000_000_000 + n) for n in range(101))
    over = await client.get("/2/statuses/count.json", params={"access_token": token, "ids": too_many})
    assert over.status_code == 400 and over.json()["error_code"] == 20009


async def test_status_user_and_comment_shapes(
    client: httpx.AsyncClient, token: str, account: dict[str, Any]
) -> None:
    mention = (
        await client.post(
            "/_sim/mentions",
            json={
                "screen_name": "测试用户Leo",
                "followers_count": 1234567,
                "text": "<script>alert(1)</script>",
            },
        )
    ).json()
    status = (
        await client.get("/2/statuses/show.json", params={"access_token": token, "id": mention["id"]})
    ).json()
    assert status["text"] == f"@{account['screen_name']} <script>alert(1)</script>"  # stored verbatim
    assert (
        DATE.fullmatch(status["created_at"])
        and status["in_reply_to_status_id"] == ""
        and status["geo"] is None
    )
    user = status["user"]
    assert (
        user["screen_name"] == "测试用户Leo"
        and user["followers_count"] == 1234567
        and user["idstr"] == str(user["id"])
    )
    assert isinstance(user["province"], str) and DATE.fullmatch(user["created_at"])
    shown = (
        await client.get("/2/users/show.json", params={"access_token": token, "screen_name": "测试用户Leo"})
    ).json()
    assert shown["id"] == user["id"] and shown["status"]["id"] == int(mention["id"])
    comment = (
        await client.post(
            "/_sim/comments", json={"status_id": mention["id"], "text": "同问", "mention": True}
        )
    ).json()
    listed = (
        await client.get("/2/comments/show.json", params={"access_token": token, "id": mention["id"]})
    ).json()
    assert set(listed) == {
        "comments",
        "hasvisible",
        "previous_cursor",
        "next_cursor",
        "total_number",
        "interval",
    }
    got = listed["comments"][0]
    assert got["id"] == int(comment["id"]) and got["mid"] == got["idstr"] == comment["id"]
    assert got["status"]["id"] == int(mention["id"]) and got["status"]["user"]["id"] == user["id"]
    cm = (await client.get("/2/comments/mentions.json", params={"access_token": token})).json()
    assert [c["id"] for c in cm["comments"]] == [int(comment["id"])]
    assert cm["comments"][0]["text"] == f"@{account['screen_name']} 同问"


async def test_comments_to_me_cover_own_posts_and_replies_to_own_comments(
    client: httpx.AsyncClient, token: str, account: dict[str, Any]
) -> None:
    on_post = (await client.post("/_sim/comments", json={"screen_name": "甲", "text": "活动怎么参加"})).json()
    elsewhere = (await client.post("/_sim/mentions", json={"screen_name": "乙", "text": "信号差"})).json()
    ours = await client.post(
        "/2/comments/create.json", data={"access_token": token, "id": elsewhere["id"], "comment": "请私信"}
    )
    follow_up = (
        await client.post(
            "/_sim/comments", json={"screen_name": "乙", "text": "私信了", "reply_to": ours.json()["idstr"]}
        )
    ).json()
    stranger = (
        await client.post(
            "/_sim/comments", json={"screen_name": "丙", "text": "路过", "status_id": elsewhere["id"]}
        )
    ).json()
    to_me = (await client.get("/2/comments/to_me.json", params={"access_token": token})).json()
    ids = [c["id"] for c in to_me["comments"]]
    assert ids == [int(follow_up["id"]), int(on_post["id"])]
    assert int(stranger["id"]) not in ids
    assert to_me["comments"][0]["reply_comment"]["user"]["idstr"] == account["uid"]
    by_me = (await client.get("/2/comments/by_me.json", params={"access_token": token})).json()
    assert [c["text"] for c in by_me["comments"]] == ["请私信"]


async def test_direct_messages_list_and_outbox_filters(client: httpx.AsyncClient, token: str) -> None:
    first = (await client.post("/_sim/messages", json={"screen_name": "客户A", "text": "查流量"})).json()
    await client.post("/_sim/messages", json={"screen_name": "客户B", "text": "<b>加粗</b>"})
    dms = (await client.get("/2/direct_messages.json", params={"access_token": token})).json()
    assert [d["text"] for d in dms["direct_messages"]] == ["<b>加粗</b>", "查流量"]
    assert dms["direct_messages"][1]["sender_screen_name"] == "客户A"
    assert dms["direct_messages"][1]["id"] == int(first["id"])
    mention = (await client.post("/_sim/mentions", json={"text": "x"})).json()
    for text in ("回复一", "回复二"):
        await client.post(
            "/2/comments/create.json", data={"access_token": token, "id": mention["id"], "comment": text}
        )
    outbox = (await client.get("/_sim/outbox", params={"status_id": mention["id"]})).json()
    assert [i["text"] for i in outbox["items"]] == ["回复一", "回复二"]
    later = (await client.get("/_sim/outbox", params={"since_seq": outbox["items"][0]["seq"]})).json()
    assert [i["text"] for i in later["items"]] == ["回复二"]
    assert (await client.get("/_sim/outbox", params={"endpoint": "statuses/share"})).json()["total"] == 0


async def test_followers_only_for_the_authorised_user(client: httpx.AsyncClient, token: str) -> None:
    other = (await client.post("/_sim/mentions", json={"screen_name": "别人", "text": "x"})).json()
    response = await client.get(
        "/2/friendships/followers.json",
        params={"access_token": token, "uid": other["status"]["user"]["idstr"]},
    )
    assert response.status_code == 403 and response.json()["error_code"] == 21335


async def test_reset_forgets_or_keeps_accounts(client: httpx.AsyncClient) -> None:
    created = (await client.post("/_sim/accounts", json={"seed_posts": 2, "followers": 4})).json()
    token = created["access_token"]
    await client.post("/_sim/mentions", json={"text": "x"})
    kept = (await client.post("/_sim/reset", json={"keep_accounts": True})).json()
    assert kept["accounts"] == 1 and kept["statuses"] == 2  # the account's own announcements come back
    mentions = (await client.get("/2/statuses/mentions.json", params={"access_token": token})).json()
    assert mentions["total_number"] == 0
    fans = await client.get(
        "/2/friendships/followers/ids.json", params={"access_token": token, "uid": created["uid"]}
    )
    assert fans.json()["total_number"] == 4
    cleared = (await client.post("/_sim/reset", json={})).json()
    assert cleared["accounts"] == 0
    gone = await client.get("/2/statuses/mentions.json", params={"access_token": token})
    assert gone.status_code == 401
