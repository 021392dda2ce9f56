"""Timeline and cursor paging exactly as Weibo documents it."""

from __future__ import annotations

from typing import Any

import httpx

ENVELOPE_KEYS = {"statuses", "hasvisible", "previous_cursor", "next_cursor", "total_number", "interval"}


async def burst(client: httpx.AsyncClient, n: int, kind: str = "mention") -> list[int]:
    response = await client.post("/_sim/burst", json={"n": n, "kind": kind, "text": "第{i}条"})
    assert response.status_code == 201
    return [int(i) for i in response.json()["ids"]]


async def mentions(client: httpx.AsyncClient, token: str, **params: Any) -> dict[str, Any]:
    response = await client.get("/2/statuses/mentions.json", params={"access_token": token, **params})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_newest_first_with_default_count_and_envelope(client: httpx.AsyncClient, token: str) -> None:
    ids = await burst(client, 25)
    assert ids == sorted(ids)
    body = await mentions(client, token)
    assert set(body) == ENVELOPE_KEYS
    got = [s["id"] for s in body["statuses"]]
    assert got == list(reversed(ids))[:20]  # default count 20, newest first
    assert body["total_number"] == 25
    assert body["next_cursor"] == ids[4]  # the next older item after the page
    assert body["hasvisible"] is False and body["previous_cursor"] == 0 and body["interval"] == 0


async def test_since_id_is_exclusive(client: httpx.AsyncClient, token: str) -> None:
    ids = await burst(client, 10)
    body = await mentions(client, token, since_id=ids[6])
    assert [s["id"] for s in body["statuses"]] == [ids[9], ids[8], ids[7]]
    assert body["total_number"] == 3


async def test_max_id_is_inclusive(client: httpx.AsyncClient, token: str) -> None:
    ids = await burst(client, 10)
    body = await mentions(client, token, max_id=ids[3], count=2)
    assert [s["id"] for s in body["statuses"]] == [ids[3], ids[2]]
    assert body["next_cursor"] == ids[1]
    both = await mentions(client, token, since_id=ids[1], max_id=ids[4])
    assert [s["id"] for s in both["statuses"]] == [ids[4], ids[3], ids[2]]


async def test_walking_back_with_max_id_loses_nothing(client: httpx.AsyncClient, token: str) -> None:
    ids = await burst(client, 57)
    seen: list[int] = []
    max_id = 0
    while True:
        body = await mentions(client, token, count=10, **({"max_id": max_id} if max_id else {}))
        page = [s["id"] for s in body["statuses"]]
        seen.extend(page)
        if not body["next_cursor"]:
            break
        max_id = page[-1] - 1
    assert seen == list(reversed(ids))


async def test_count_is_clamped_to_the_endpoint_maximum(client: httpx.AsyncClient, token: str) -> None:
    await burst(client, 230)
    assert len((await mentions(client, token, count=500))["statuses"]) == 200
    await burst(client, 60, kind="comment")
    response = await client.get("/2/comments/to_me.json", params={"access_token": token})
    assert len(response.json()["comments"]) == 50  # comments default 50
    response = await client.get("/2/comments/to_me.json", params={"access_token": token, "count": 1000})
    assert len(response.json()["comments"]) == 60


async def test_pages_are_one_based(client: httpx.AsyncClient, token: str) -> None:
    ids = list(reversed(await burst(client, 7)))
    assert [s["id"] for s in (await mentions(client, token, count=3, page=1))["statuses"]] == ids[0:3]
    assert [s["id"] for s in (await mentions(client, token, count=3, page=3))["statuses"]] == ids[6:7]
    last = await mentions(client, token, count=3, page=4)
    assert last["statuses"] == [] and last["next_cursor"] == 0 and last["total_number"] == 7


async def test_ids_are_time_ordered_int64_with_string_twins(client: httpx.AsyncClient, token: str) -> None:
    await burst(client, 3)
    for status in (await mentions(client, token))["statuses"]:
        assert isinstance(status["id"], int)
        assert 4_900_000_000_000_000 <= status["id"] < 2**53
        assert status["idstr"] == status["mid"] == str(status["id"]) and len(status["idstr"]) == 16
        assert status["created_at"].endswith(" +0800 " + status["created_at"][-4:])


async def test_follower_cursor_paging(client: httpx.AsyncClient) -> None:
    created = (await client.post("/_sim/accounts", json={"followers": 7, "seed_posts": 0})).json()
    params = {"access_token": created["access_token"], "uid": created["uid"], "count": 3}
    seen: list[int] = []
    cursor = 0
    pages = 0
    while True:
        body = (await client.get("/2/friendships/followers.json", params={**params, "cursor": cursor})).json()
        assert body["total_number"] == 7
        seen.extend(u["id"] for u in body["users"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor == 0:
            break
    assert pages == 3 and len(set(seen)) == 7
    ids = (await client.get("/2/friendships/followers/ids.json", params=params | {"count": 100})).json()
    assert ids["ids"] == seen and ids["next_cursor"] == 0
