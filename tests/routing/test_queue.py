"""The queue: keyset pages in priority order, a capped count, and index-ordered plans."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from servicehub.core.models import RequestState, ServiceRequest
from servicehub.core.runtime import Runtime
from servicehub.routing import queue
from servicehub.routing.queue import list_requests
from tests.factories import build_world, principal_of
from tests.routing.support import add_customer, add_request


def _seed(runtime: Runtime, priorities: list[int]) -> tuple[int, list[int]]:
    world = build_world(runtime)
    with runtime.sessions.begin() as s:
        customer = add_customer(s)
        ids = [add_request(s, world.inhouse_account_id, customer.id, priority=p).id for p in priorities]
    return world.admin_id, ids


def test_pages_walk_every_request_once_highest_priority_then_oldest(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    priorities = [1, 3, 0, 1, 2, 3, 1, 1, 0, 2, 1, 3, 1]
    admin, ids = _seed(runtime, priorities)
    with runtime.sessions.begin() as s:  # a resolved one is in "all", not in "open"
        s.get(ServiceRequest, ids[0]).state = RequestState.RESOLVED  # type: ignore[union-attr]
    expected = sorted(zip(priorities, ids, strict=True), key=lambda pi: (-pi[0], pi[1]))
    monkeypatch.setattr(queue, "COUNT_CAP", 5)
    for view, want in (("all", expected), ("open", [pi for pi in expected if pi[1] != ids[0]])):
        seen: list[tuple[int, int]] = []
        after = None
        with runtime.sessions() as s:
            who = principal_of(s, admin)
            while True:
                page = list_requests(s, who, view, after, limit=3)  # type: ignore[arg-type]
                seen += [(r.priority, r.id) for r in page.rows]
                assert (page.total, page.more) == (5, True)  # counted up to the cap, no further
                after = page.next_after
                if after is None:
                    break
        assert seen == want, view


def test_a_short_queue_is_counted_exactly(runtime: Runtime) -> None:
    admin, _ = _seed(runtime, [1, 2, 3])
    with runtime.sessions() as s:
        page = list_requests(s, principal_of(s, admin), "open")
    assert (page.total, page.more, len(page.rows)) == (3, False, 3)


@pytest.mark.parametrize("view", ["all", "open", "mine"])
def test_every_queue_query_walks_an_index_in_queue_order(pg_runtime: Runtime, view: str) -> None:
    """No Sort node: PostgreSQL reads the page from an index, whatever the table size."""
    admin, ids = _seed(pg_runtime, [1, 2, 3] * 5)
    with pg_runtime.sessions.begin() as s:  # "mine" lists the admin's own
        for request_id in ids:
            s.get(ServiceRequest, request_id).assignee_id = admin  # type: ignore[union-attr]
    with pg_runtime.sessions() as s:
        who = principal_of(s, admin)
        s.execute(text("SET enable_seqscan = off"))  # a tiny table: ask what it *can* do
        s.execute(text("SET enable_sort = off"))
        conn = s.connection()

        plans: list[str] = []

        def explain(_conn: object, cursor: object, statement: str, params: object, *_: object) -> None:
            if "ORDER BY service_requests.priority DESC" in statement:
                plan = cursor.connection.execute(  # type: ignore[attr-defined]
                    "EXPLAIN " + statement, params
                ).fetchall()
                plans.append("\n".join(row[0] for row in plan))

        event.listen(conn, "before_cursor_execute", explain)
        try:
            first = list_requests(s, who, view, limit=4)  # type: ignore[arg-type]
            list_requests(s, who, view, first.next_after, limit=4)  # type: ignore[arg-type]
        finally:
            event.remove(conn, "before_cursor_execute", explain)
    assert len(plans) >= 2
    for plan in plans:
        assert "Sort" not in plan and f"ix_requests_{view}_order" in plan, plan
