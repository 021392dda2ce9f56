"""Storing a polled chunk and routing it in the same transaction, each message written once.

Routing a message means pointing it at its conversation's request. Done after the
insert, that is an UPDATE of every kept message -- on PostgreSQL a second full row version
and a new entry in each of its indexes. Here, on PostgreSQL, the message ids are reserved
from their sequence first, the requests are found or opened for them
(:func:`~servicehub.routing.conversations.join_requests`), and the messages are inserted
already pointing at their requests; then the new requests are assigned.

All of that runs in a SAVEPOINT. Should the insert skip a row after all (another worker
stored the same platform item a moment ago, between our check and our insert) the
request counts would be off, so the savepoint is undone and the chunk takes the plain
path: insert, then route what was actually added (``route_in_place``). A failure while
routing (a deadlock, say) takes the same path, which itself falls back to a routing task.
SQLite (embedded, a single writer) always takes the plain path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from servicehub.adapters.base import InboundItem
from servicehub.core.bulk import reserve_ids
from servicehub.core.db import is_postgres, savepoint
from servicehub.core.models import Account
from servicehub.core.runtime import Runtime
from servicehub.filters.chain import FilterChain
from servicehub.listener.intake import Stored, insert_messages, judge, routable, stored_from
from servicehub.routing.conversations import finish_routing, join_requests, route_in_place

log = logging.getLogger(__name__)


class _Raced(Exception):
    """Another worker stored some of these items between our check and our insert."""


def store_and_route(
    session: Session, runtime: Runtime, account: Account, items: Sequence[InboundItem], chain: FilterChain
) -> Stored:
    """Store the new ones of ``items`` and route the kept ones; nothing is committed."""
    rows = judge(session, account, items, chain)
    if not rows:
        return Stored([], [])
    if is_postgres(session) and any(row["keep"] for row in rows):
        stored = _insert_routed(session, runtime, rows)
        if stored is not None:
            return stored
    stored = stored_from(rows, insert_messages(session, rows))
    route_in_place(session, runtime, stored.routable)
    return stored


def _insert_routed(session: Session, runtime: Runtime, rows: list[dict[str, Any]]) -> Stored | None:
    """Insert ``rows`` already routed; None (and nothing written) if that could not be done."""
    for row, message_id in zip(rows, reserve_ids(session, "messages", len(rows)), strict=True):
        row["id"] = message_id
    kept = [row for row in rows if row["keep"]]
    try:
        with savepoint(session):
            joined = join_requests(session, runtime, [routable(row["id"], row) for row in kept])
            for row in kept:
                row["request_id"], row["routed"] = joined.request_of[row["id"]], True
            added = insert_messages(session, rows)
            if len(added) != len(rows):
                raise _Raced
            finish_routing(session, runtime, joined)
    except (_Raced, DBAPIError) as exc:
        log.info(
            "storing %d messages already routed did not work out (%r); storing, then routing", len(rows), exc
        )
        for row in kept:
            row.pop("request_id", None)
            row["routed"] = False
        return None
    return Stored(sorted(added), [])
