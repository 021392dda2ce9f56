"""The traffic generator: reproducible for a seed, varied, and recurring customers."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from servicehub.adapters.simulator import SimulatorServer
from servicehub.adapters.simulator.corpus import ACCOUNT, INJECTIONS, build_customers
from servicehub.adapters.simulator.textrules import weibo_length
from servicehub.adapters.simulator.traffic import KIND_WEIGHTS, TrafficEvent, TrafficPlanner
from tests.adapters.simulator.support import fast_config


def plan(seed: int, n: int = 600) -> list[TrafficEvent]:
    return TrafficPlanner(seed, 80).take(n)


def test_same_seed_same_story_other_seed_other_story() -> None:
    assert plan(7) == plan(7)
    assert [e.text for e in plan(7)] != [e.text for e in plan(8)]
    assert build_customers(7, 80, 0.0) == build_customers(7, 80, 0.0)
    assert [u.screen_name for u in build_customers(7, 80, 0.0)] != [
        u.screen_name for u in build_customers(8, 80, 0.0)
    ]


def test_variety_of_kinds_and_content() -> None:
    events = plan(1, 1500)
    assert set(Counter(e.kind for e in events)) == set(KIND_WEIGHTS)
    categories = Counter(e.category for e in events)
    for category in (
        "complaint",
        "question",
        "praise",
        "spam",
        "emoji",
        "at_only",
        "repost_noise",
        "duplicate",
        "long",
        "injection",
        "other",
    ):
        assert categories[category] > 0, category
    texts = [e.text for e in events]
    assert any(t in INJECTIONS or "<script>" in t for t in texts)
    assert any(f"@{ACCOUNT}" == t.strip() for t in texts)  # @-only
    assert any(weibo_length(t.replace(ACCOUNT, "中国联通客服")) > 140 for t in texts)
    assert any(130 <= weibo_length(t.replace(ACCOUNT, "中国联通客服")) <= 140 for t in texts)
    assert any("加微信" in t or "淘宝" in t or "代刷" in t for t in texts)
    assert any(t.strip() in ("[哈哈][哈哈]", "😂😂😂") for t in texts)
    assert any(k in t for t in texts for k in ("信号", "流量", "宽带", "账单", "套餐", "携号转网"))
    mentions = [e for e in events if e.kind in ("mention", "comment_mention")]
    assert all(ACCOUNT in e.text for e in mentions)


def test_duplicates_are_exact_and_customers_recur() -> None:
    events = plan(3, 800)
    duplicates = [e for e in events if e.category == "duplicate"]
    earlier = {e.text for e in events if e.category != "duplicate"}
    assert duplicates and all(d.text in earlier for d in duplicates)
    by_customer = Counter(e.customer for e in events)
    top = by_customer.most_common(1)[0][1]
    assert top >= 5 * (len(events) / 80)  # Zipf-like skew: some customers write far more than average
    users = build_customers(3, 80, 0.0)
    vips = [u for u in users if u.verified]
    assert vips and all(u.followers_base >= 50_000 for u in vips)
    assert max(u.followers_base for u in users if not u.verified) < 50_000


async def run_steps(seed: int, n: int) -> list[tuple[str, str]]:
    server = SimulatorServer(fast_config(seed=seed))
    base = await server.start()
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            token = (await client.post("/_sim/accounts", json={})).json()["access_token"]
            stepped = (await client.post("/_sim/traffic", json={"step": n})).json()
            assert stepped["generated"] == n and len(stepped["items"]) == n
            body = (
                await client.get("/2/statuses/mentions.json", params={"access_token": token, "count": 200})
            ).json()
            return [(s["user"]["screen_name"], s["text"]) for s in body["statuses"]]
    finally:
        await server.stop()


async def test_live_traffic_is_reproducible() -> None:
    first, second, other = await run_steps(5, 150), await run_steps(5, 150), await run_steps(6, 150)
    assert len(first) > 30
    assert first == second
    assert first != other


async def test_background_rate(client: httpx.AsyncClient, token: str) -> None:
    status = (await client.post("/_sim/traffic", json={"rate": 200})).json()
    assert status["rate"] == 200 and status["running"] is True
    await asyncio.sleep(0.4)
    generated = (await client.post("/_sim/traffic", json={"rate": 0})).json()["generated"]
    assert generated >= 20
    await asyncio.sleep(0.1)
    assert (await client.get("/_sim/traffic")).json()["generated"] == generated  # rate 0 stops it
    mentions = (await client.get("/2/statuses/mentions.json", params={"access_token": token})).json()
    assert mentions["total_number"] > 0


async def test_traffic_without_accounts_is_skipped(client: httpx.AsyncClient) -> None:
    body = (await client.post("/_sim/traffic", json={"step": 5})).json()
    assert body["generated"] == 0 and body["skipped"] == 5
