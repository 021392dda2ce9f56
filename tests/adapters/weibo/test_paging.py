"""Walking newest-first pages back to the cursor (weibo/paging.py and the adapter's fetches)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from servicehub.adapters.weibo.client import WeiboAdapter
from servicehub.adapters.weibo.paging import walk_back
from tests.adapters.weibo.support import FakeWeibo, make_adapter, status_payload, timeline

PAGE = 5  # the adapter fixture's page_size


class ListServer:
    """An in-memory Weibo list honouring since_id (exclusive), max_id (inclusive) and count."""

    def __init__(self, ids: list[int], count: int = PAGE) -> None:
        self.ids = ids
        self.count = count
        self.queries: list[int | None] = []

    def page(self, since_id: int | None, max_id: int | None) -> list[Mapping[str, Any]]:
        self.queries.append(max_id)
        chosen = sorted((i for i in self.ids if (since_id is None or i > since_id)), reverse=True)
        if max_id is not None:
            chosen = [i for i in chosen if i <= max_id]
        return [{"idstr": str(i)} for i in chosen[: self.count]]


def test_first_poll_takes_one_page_only() -> None:
    server = ListServer(list(range(100, 130)))
    walk = walk_back(lambda m: server.page(None, m), None, what="statuses/mentions")
    assert [e["idstr"] for e in walk.items] == ["129", "128", "127", "126", "125"]
    assert walk.newest_id == "129"
    assert walk.pages == 1


def test_first_poll_of_an_empty_list() -> None:
    walk = walk_back(lambda m: [], None, what="statuses/mentions")
    assert (walk.items, walk.newest_id, walk.pages) == ([], "0", 1)  # a position: nothing before now


def test_nothing_new_keeps_the_cursor() -> None:
    server = ListServer([100, 101])
    walk = walk_back(lambda m: server.page(101, m), "101", what="statuses/mentions")
    assert (walk.items, walk.newest_id, walk.pages) == ([], "101", 1)


def test_burst_of_three_pages_is_complete_and_ordered() -> None:
    cursor = 1000
    burst = list(range(cursor + 1, cursor + 1 + 3 * PAGE))
    server = ListServer([*range(990, cursor + 1), *burst])
    walk = walk_back(lambda m: server.page(cursor, m), str(cursor), what="statuses/mentions")
    assert [int(e["idstr"]) for e in walk.items] == sorted(burst, reverse=True)
    assert walk.newest_id == str(cursor + 3 * PAGE)
    # max_id is inclusive, so each walk-back asks for oldest_seen - 1
    assert server.queries == [None, 1010, 1005]
    assert walk.pages == 3  # the third page reached cursor + 1: no empty page needed
    assert not walk.truncated


def test_max_id_inclusive_boundary_does_not_duplicate() -> None:
    """A server that returns the max_id item itself: dedupe must drop it."""
    ids = list(range(1, 13))

    def sloppy(max_id: int | None) -> list[Mapping[str, Any]]:
        top = 12 if max_id is None else max_id + 1  # includes the item we already have
        return [{"idstr": str(i)} for i in range(top, max(top - 5, 0), -1) if i in ids]

    walk = walk_back(sloppy, "0", what="x")
    assert [int(e["idstr"]) for e in walk.items] == list(range(12, 0, -1))


def test_short_page_does_not_end_the_walk() -> None:
    """Weibo drops invisible items after choosing a page, so a page can be short mid-list."""
    pages = {None: [30, 29], 28: [25, 24, 23], 22: []}
    walk = walk_back(lambda m: [{"idstr": str(i)} for i in pages[m]], "20", what="x")
    assert [e["idstr"] for e in walk.items] == ["30", "29", "25", "24", "23"]


def test_walk_stops_when_the_page_reaches_the_cursor() -> None:
    calls: list[int | None] = []

    def fetch(max_id: int | None) -> list[Mapping[str, Any]]:
        calls.append(max_id)
        return [{"idstr": "12"}, {"idstr": "11"}]  # 11 == cursor + 1: nothing can lie between

    walk = walk_back(fetch, "10", what="x")
    assert calls == [None]
    assert walk.newest_id == "12"


def test_server_ignoring_since_id_is_cut_at_the_cursor() -> None:
    walk = walk_back(lambda m: [{"idstr": str(i)} for i in (12, 11, 10, 9)], "10", what="x")
    assert [e["idstr"] for e in walk.items] == ["12", "11"]
    assert walk.pages == 1


def test_walk_is_capped() -> None:
    server = ListServer(list(range(1, 1000)))
    walk = walk_back(lambda m: server.page(0, m), "0", what="x", max_pages=3)
    assert walk.pages == 3
    assert walk.truncated
    assert len(walk.items) == 3 * PAGE
    assert walk.newest_id == "999"


def test_ids_compare_numerically_not_as_strings() -> None:
    pages = {None: [{"idstr": "10000000000000000"}, {"idstr": "9999999999999999"}], 9999999999999998: []}
    walk = walk_back(lambda m: pages[m], "9999999999999990", what="x")
    assert walk.newest_id == "10000000000000000"
    assert [e["idstr"] for e in walk.items] == ["10000000000000000", "9999999999999999"]


# -- through the adapter and MockTransport ---------------------------------------------


def test_adapter_mentions_burst_between_two_polls(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    statuses = [status_payload(4_900_000_000_000_000 + i, f"第{i}条") for i in range(3)]
    fake.on("GET", "/2/statuses/mentions.json", timeline(statuses, "statuses"))
    first = adapter.fetch_mentions(None)
    assert first.newest_id == "4900000000000002"

    burst = [status_payload(4_900_000_000_000_100 + i, f"爆发{i}") for i in range(3 * PAGE)]
    statuses.extend(burst)
    second = adapter.fetch_mentions(first.newest_id)
    got = [item.platform_id for item in second.items]
    assert got == [str(4_900_000_000_000_100 + i) for i in reversed(range(3 * PAGE))]
    assert len(set(got)) == len(got)
    assert second.newest_id == str(4_900_000_000_000_100 + 3 * PAGE - 1)
    assert second.pages == 4  # three full pages and the empty one that proves the end
    queries = [r.url.params for r in fake.calls("/2/statuses/mentions.json")[1:]]
    assert all(q["since_id"] == "4900000000000002" and q["count"] == str(PAGE) for q in queries)
    assert [q.get("max_id") for q in queries] == [
        None,
        "4900000000000109",
        "4900000000000104",
        "4900000000000099",
    ]

    third = adapter.fetch_mentions(second.newest_id)
    assert (third.items, third.newest_id, third.pages) == ([], second.newest_id, 1)


def test_adapter_reports_the_cap_in_pages(fake: FakeWeibo) -> None:
    statuses = [status_payload(5000 + i) for i in range(50)]
    fake.on("GET", "/2/statuses/mentions.json", timeline(statuses, "statuses"))
    with make_adapter(fake, max_pages="2") as weibo:
        result = weibo.fetch_mentions("4999")
    assert result.pages == 2
    assert len(result.items) == 2 * PAGE


def test_empty_cursor_is_a_first_poll(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on(
        "GET", "/2/statuses/mentions.json", timeline([status_payload(i) for i in range(1, 20)], "statuses")
    )
    result = adapter.fetch_mentions("")
    assert result.pages == 1
    assert "since_id" not in fake.requests[0].url.params


def test_zero_cursor_takes_the_whole_list(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    """ "0" is the position of a list that was empty at its first poll: all of it is new."""
    fake.on(
        "GET", "/2/statuses/mentions.json", timeline([status_payload(i) for i in range(1, 20)], "statuses")
    )
    result = adapter.fetch_mentions("0")
    assert len(result.items) == 19 and result.newest_id == "19"
    assert result.pages > 1  # it asks below the oldest until nothing more comes
    assert "since_id" not in fake.requests[0].url.params


def test_deleted_tombstones_are_skipped(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    tombstone = {"id": 7, "idstr": "7", "deleted": "1", "text": "抱歉，此微博已被作者删除。"}
    fake.on("GET", "/2/statuses/mentions.json", {"statuses": [tombstone, status_payload(6)]})
    result = adapter.fetch_mentions(None)
    assert [i.platform_id for i in result.items] == ["6"]
    assert result.newest_id == "7"  # the cursor still moves past the tombstone


def test_corrupt_cursor_is_a_programming_error(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    with pytest.raises(ValueError, match="decimal id"):
        adapter.fetch_mentions("12abc")
    assert fake.requests == []
