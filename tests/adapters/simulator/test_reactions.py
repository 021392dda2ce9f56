"""Reactions a hub post draws, driven by the simulated clock (``POST /_sim/clock``), no sleeping."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from servicehub.adapters.simulator import SimulatorServer
from servicehub.adapters.simulator.corpus import COMPLAINTS, QUESTIONS
from tests.adapters.simulator.support import fast_config


def from_pool(text: str, templates: tuple[str, ...]) -> bool:
    """Whether ``text`` is one of ``templates`` with its ``{slot}`` fields filled in."""
    for template in templates:
        pattern = re.sub(r"\\\{\w+\\\}", ".+?", re.escape(template))
        if re.fullmatch(pattern, text):
            return True
    return False


@pytest.fixture
async def reacting() -> AsyncIterator[httpx.AsyncClient]:
    """A simulator whose config turns reactions on (as the demo's does), one account, a client."""
    server = SimulatorServer(fast_config(reactions=True))
    await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            yield http
    finally:
        await server.stop()


async def new_account(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post("/_sim/accounts", json={"seed_posts": 0, "followers": 0})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def share(
    client: httpx.AsyncClient, token: str, text: str = "宽带提速活动 https://example.com/a"
) -> str:
    response = await client.post("/2/statuses/share.json", data={"access_token": token, "status": text})
    assert response.status_code == 200, response.text
    return str(response.json()["idstr"])


async def counts(client: httpx.AsyncClient, token: str, status_id: str) -> tuple[int, int, int]:
    response = await client.get("/2/statuses/count.json", params={"access_token": token, "ids": status_id})
    [row] = response.json()
    return row["attitudes"], row["comments"], row["reposts"]


async def advance(client: httpx.AsyncClient, seconds: float) -> None:
    (await client.post("/_sim/clock", json={"advance_seconds": seconds})).raise_for_status()


async def test_a_hub_post_draws_reactions_that_rise_over_minutes(reacting: httpx.AsyncClient) -> None:
    client = reacting
    token = (await new_account(client))["access_token"]
    post = await share(client, token)
    assert await counts(client, token, post) == (0, 0, 0)
    await advance(client, 5)  # nobody reacts within the first seconds
    assert await counts(client, token, post) == (0, 0, 0)
    await advance(client, 25)  # 30 s: the first like and the first comment are in
    early = await counts(client, token, post)
    assert early[0] >= 1 and early[1] >= 1
    await advance(client, 90)  # two minutes: most of it
    mid = await counts(client, token, post)
    await advance(client, 600)  # and then all of it
    final = await counts(client, token, post)
    assert all(a <= b <= c for a, b, c in zip(early, mid, final, strict=True))
    assert final[0] > early[0] and final[2] >= 1
    assert sum(mid) >= 0.8 * sum(final)
    plan = (await client.get("/_sim/reactions", params={"status_id": post})).json()["status"]
    assert plan["pending"] == 0
    assert (plan["applied"]["like"], plan["applied"]["comment"], plan["applied"]["repost"]) == final


async def test_comments_reach_comments_to_me_and_reposts_the_repost_timeline(
    reacting: httpx.AsyncClient,
) -> None:
    client = reacting
    token = (await new_account(client))["access_token"]
    post = await share(client, token)
    await advance(client, 600)
    likes, comments, reposts = await counts(client, token, post)
    to_me = (await client.get("/2/comments/to_me.json", params={"access_token": token, "count": 200})).json()
    on_post = [c for c in to_me["comments"] if c["status"]["idstr"] == post]
    assert len(on_post) == comments
    first = min(on_post, key=lambda c: int(c["idstr"]))
    # The first comment is a customer's question or complaint: something the hub's intake takes up.
    assert from_pool(first["text"], QUESTIONS + COMPLAINTS), first["text"]
    assert all(c["user"]["idstr"] != c["status"]["user"]["idstr"] for c in on_post)
    timeline = (
        await client.get("/2/statuses/repost_timeline.json", params={"access_token": token, "id": post})
    ).json()
    assert timeline["total_number"] == reposts == len(timeline["reposts"])
    assert all(r["retweeted_status"]["idstr"] == post for r in timeline["reposts"])
    assert likes > 0


async def test_reactions_are_off_by_default_and_can_be_switched(
    client: httpx.AsyncClient, token: str
) -> None:
    post = await share(client, token)
    await advance(client, 600)
    assert await counts(client, token, post) == (0, 0, 0)  # a plain config stays exact
    answer = (await client.post("/_sim/reactions", json={"enabled": True, "intensity": 2})).json()
    assert (answer["enabled"], answer["intensity"]) == (True, 2.0)
    busy = await share(client, token, "第二条 https://example.com/b")
    planned = (await client.get("/_sim/reactions", params={"status_id": busy})).json()["status"]["planned"]
    assert planned["like"] >= 30  # intensity 2: twice the ~24 likes of intensity 1, give or take
    await advance(client, 600)
    assert (await counts(client, token, busy))[0] == planned["like"]
    assert (await client.post("/_sim/reactions", json={"intensity": -1})).status_code == 400
    assert (await client.post("/_sim/reactions", json={"enabled": "yes"})).status_code == 400


async def test_a_plan_on_any_post_and_engagement_at_once(client: httpx.AsyncClient, token: str) -> None:
    post = await share(client, token)
    planned = await client.post(
        f"/_sim/statuses/{post}/reactions", json={"likes": 3, "comments": 2, "reposts": 1}
    )
    assert planned.status_code == 201
    assert planned.json()["planned"] == {"like": 3, "comment": 2, "repost": 1}
    assert planned.json()["status"]["pending"] == 6
    await advance(client, 301)  # nothing is planned later than five minutes
    assert await counts(client, token, post) == (3, 2, 1)

    engaged = await client.post(
        f"/_sim/statuses/{post}/engage", json={"likes": 5, "comments": 4, "reposts": 2}
    )
    assert engaged.status_code == 200
    body = engaged.json()
    assert (body["attitudes"], body["comments"], body["reposts"]) == (8, 6, 3)  # at once, no clock
    assert [i["kind"] for i in body["items"]].count("comment") == 4
    assert await counts(client, token, post) == (8, 6, 3)
    assert (await client.post("/_sim/statuses/1/engage", json={"likes": 1})).status_code == 404
    assert (await client.post(f"/_sim/statuses/{post}/engage", json={"likes": -1})).status_code == 400


async def test_the_same_seed_plans_the_same_reactions() -> None:
    async def run() -> list[tuple[str, str]]:
        server = SimulatorServer(fast_config(seed=5, reactions=True))
        await server.start("127.0.0.1", 0)
        try:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
                account = await new_account(client)
                post = await share(client, account["access_token"])
                await advance(client, 600)
                to_me = await client.get(
                    "/2/comments/to_me.json", params={"access_token": account["access_token"], "count": 200}
                )
                return [(c["user"]["idstr"], c["text"]) for c in to_me.json()["comments"]] + [
                    ("counts", str(await counts(client, account["access_token"], post)))
                ]
        finally:
            await server.stop()

    assert await run() == await run()
