"""Turning kept messages into service requests: a message joins its conversation's open request.

A conversation is one customer on one account in one thread (the mentioning post, the
commented post, the private-message pair). A partial unique index allows one open request
per conversation, so two routers racing on the same thread end up in the same request.

A batch is routed set-wise, in a fixed number of statements whatever its size: claim the
messages (``FOR UPDATE SKIP LOCKED``), lock the open requests of all their threads in id
order, open the missing ones with one multi-row insert that skips threads another router
opened meanwhile (``ON CONFLICT DO NOTHING`` on the partial index, in thread-key order),
point every message at its request in one bulk update, prioritize and assign the new
requests in one go. Locks are taken in one global order -- messages, requests by id,
users by id (in ``assign``) -- so concurrent routers wait for each other rather than
deadlock; a deadlock or serialization failure the database reports anyway is retried.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from servicehub.core import audit, metrics
from servicehub.core.bulk import insert_rows
from servicehub.core.db import is_postgres, savepoint, utcnow
from servicehub.core.lookup import chunks, one_of
from servicehub.core.models import (
    OPEN_STATES,
    Message,
    Priority,
    RequestState,
    ServiceRequest,
)
from servicehub.core.runtime import Runtime
from servicehub.core.tasks import enqueue_on_commit
from servicehub.filters.sentiment import FURIOUS_TAG
from servicehub.routing.assign import assign_requests
from servicehub.routing.priority import Pending, levels, pressing_intent, raise_priorities

log = logging.getLogger(__name__)

ATTEMPTS = 3  # a deadlock victim's whole batch is routed again
RETRYABLE = {"40P01", "40001"}  # PostgreSQL: deadlock detected, serialization failure
ROUTE_TASK_BATCH = 500  # message ids per routing task

ThreadRef = tuple[int, str]  # (account id, thread key)


@dataclass(frozen=True, slots=True)
class Routable:
    """The columns of a message routing needs (no ORM object per message): read by the claim,
    or handed over by the intake that has just inserted the message."""

    id: int
    account_id: int
    customer_id: int | None
    thread_id: str
    author_uid: str
    text: str
    received_at: datetime
    sentiment: float | None
    tags: Sequence[str] = ()
    intent: str | None = None
    escalation: Sequence[str] = ()


def thread_key(message: Message | Routable) -> str:
    return f"{message.thread_id}:{message.author_uid}"


def route_messages(runtime: Runtime, message_ids: Sequence[int]) -> list[int]:
    """Attach each unrouted kept message to a request, assigning new ones. Idempotent."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _route(runtime, message_ids)
        except DBAPIError as exc:
            code = getattr(exc.orig, "sqlstate", None)
            if code not in RETRYABLE or attempt == ATTEMPTS:
                raise
            log.info("routing %d messages: %s, attempt %d of %d", len(message_ids), code, attempt, ATTEMPTS)
    raise AssertionError("unreachable")


def _route(runtime: Runtime, message_ids: Sequence[int]) -> list[int]:
    with runtime.sessions() as session:
        touched = route_batch(session, runtime, _claim(session, message_ids))
        session.commit()
    return touched


@dataclass(frozen=True)
class Joined:
    """Messages matched to requests, before the messages point at them."""

    requests: dict[ThreadRef, ServiceRequest]
    created: list[ServiceRequest]
    request_of: dict[int, int]  # message id -> request id
    heard: dict[int, tuple[str, set[str]]]  # new request id -> its messages' text and tags
    received: dict[int, datetime] = field(default_factory=dict)  # request id -> first message in


def route_batch(session: Session, runtime: Runtime, messages: Sequence[Routable]) -> list[int]:
    """Route messages this transaction holds -- claimed by :func:`_claim`, or inserted by the
    caller just now -- and return the ids of the requests they joined. Does not commit."""
    if not messages:
        return []
    joined = join_requests(session, runtime, messages)
    _point_messages(session, sorted(joined.request_of.items()))
    return finish_routing(session, runtime, joined)


def join_requests(session: Session, runtime: Runtime, messages: Sequence[Routable]) -> Joined:
    """Find, lock or open the request of each message's thread and count the messages in.

    The messages may not be stored yet (their ids reserved): the caller then writes
    ``request_id`` in their INSERT, which spares every message a second write.
    """
    threads: dict[ThreadRef, list[Routable]] = {}
    for message in messages:
        threads.setdefault((message.account_id, thread_key(message)), []).append(message)
    requests = _lock_open(session, threads)
    missing = [t for t in threads if t not in requests]
    created = _open_missing(session, runtime, missing, threads, requests)
    opened_here = {(r.account_id, r.thread_key) for r in created}  # inserted with their messages
    for ref, members in threads.items():
        if ref not in opened_here:  # open before, or opened by a router racing this one
            for message in members:
                _absorb(requests[ref], message)
    session.flush()
    request_of = {m.id: requests[ref].id for ref, members in threads.items() for m in members}
    heard = {  # a request opened here holds exactly these messages: no need to read them back
        r.id: (
            "\n".join(m.text for m in threads[r.account_id, r.thread_key]),
            {tag for m in threads[r.account_id, r.thread_key] for tag in m.tags or ()},
        )
        for r in created
    }
    received: dict[int, datetime] = {}
    for message in messages:
        rid = request_of.get(message.id)
        if rid is not None and (rid not in received or message.received_at < received[rid]):
            received[rid] = message.received_at
    return Joined(requests, created, request_of, heard, received)


def finish_routing(session: Session, runtime: Runtime, joined: Joined) -> list[int]:
    """Assign the new requests (the messages must be stored by now) and announce the rest."""
    chosen = assign_requests(session, runtime, joined.created, heard_texts=joined.heard)  # users locked once
    now = utcnow()
    metrics.observe_on_commit(
        session,
        "assignment_latency",
        (),
        [
            max(0.0, (now - joined.received.get(r.id, r.created_at)).total_seconds())
            for r in joined.created
            if chosen.get(r.id)
        ],
    )
    fresh = {r.id for r in joined.created}  # assign_requests has announced these already
    touched = sorted({r.id for r in joined.requests.values()})
    grown = [request_id for request_id in touched if request_id not in fresh]
    raise_priorities(session, runtime, [r for r in joined.requests.values() if r.id not in fresh])
    if grown:  # new requests are announced by their assignment
        accounts = sorted({r.account_id for r in joined.requests.values() if r.id not in fresh})
        runtime.publish_on_commit(
            session, {"type": "requests", "request_ids": grown, "account_ids": accounts}
        )
    return touched


def route_in_place(session: Session, runtime: Runtime, messages: Sequence[Routable]) -> None:
    """Route messages the caller's transaction has just stored, before it commits.

    The intake of a polled chunk routes its own messages: no task hop, no re-reading and
    re-locking the rows it wrote. Routing runs in a SAVEPOINT; if it fails (a deadlock with a
    router of the same account, say), only that part is undone, the messages stay stored
    unrouted, and a routing task takes them once the caller commits -- nothing is lost, and
    the periodic sweep (``routing.route_unrouted``) is there if even that task fails.
    """
    if not messages:
        return
    try:
        with savepoint(session):
            route_batch(session, runtime, messages)
    except DBAPIError as exc:
        log.info("routing %d new messages in place failed (%s); queued instead", len(messages), exc.orig)
        ids = [m.id for m in messages]
        for start in range(0, len(ids), ROUTE_TASK_BATCH):
            enqueue_on_commit(
                session,
                runtime.tasks,
                "routing.route_messages",
                message_ids=ids[start : start + ROUTE_TASK_BATCH],
            )


def _claim(session: Session, message_ids: Sequence[int]) -> list[Routable]:
    """The batch's unrouted kept messages, locked (messages another router holds are its own)."""
    claimed: list[Routable] = []
    for part in chunks(sorted(set(message_ids))):
        stmt = (
            select(
                Message.id,
                Message.account_id,
                Message.customer_id,
                Message.thread_id,
                Message.author_uid,
                Message.text,
                Message.received_at,
                Message.sentiment,
                Message.tags,
                Message.intent,
                Message.escalation,
            )
            .where(one_of(session, Message.id, part), Message.routed.is_(False), Message.keep.is_(True))
            .order_by(Message.id)
        )
        if is_postgres(session):
            stmt = stmt.with_for_update(skip_locked=True)
        claimed.extend(Routable(*row) for row in session.execute(stmt))
    return claimed


def _lock_open(session: Session, refs: Collection[ThreadRef]) -> dict[ThreadRef, ServiceRequest]:
    """The open request of each of these threads that has one, locked in id order."""
    found: dict[ThreadRef, ServiceRequest] = {}
    by_account: dict[int, list[str]] = {}
    for account_id, key in refs:
        by_account.setdefault(account_id, []).append(key)
    for account_id, keys in sorted(by_account.items()):
        for part in chunks(sorted(keys)):
            stmt = (
                select(ServiceRequest)
                .where(
                    ServiceRequest.account_id == account_id,
                    one_of(session, ServiceRequest.thread_key, part),
                    ServiceRequest.state.in_(OPEN_STATES),
                )
                .order_by(ServiceRequest.id)
            )
            if is_postgres(session):
                stmt = stmt.with_for_update()
            for request in session.scalars(stmt):
                found.setdefault((request.account_id, request.thread_key), request)
    return found


def _open_partial_index() -> Any:
    """The predicate of the one-open-request-per-thread index, for ``ON CONFLICT`` inference."""
    for index in cast(Table, ServiceRequest.__table__).indexes:
        if index.name == "uq_requests_open_thread":
            return index.dialect_options["postgresql"]["where"]
    raise LookupError("the partial unique index uq_requests_open_thread is missing")


def _open_missing(
    session: Session,
    runtime: Runtime,
    refs: list[ThreadRef],
    threads: dict[ThreadRef, list[Routable]],
    requests: dict[ThreadRef, ServiceRequest],
) -> list[ServiceRequest]:
    """Open a request for each thread in ``refs``; a thread another router opened meanwhile
    joins that router's request (added to ``requests`` too). Returns the new ones, oldest first."""
    arrival = {ref: rank for rank, ref in enumerate(sorted(refs, key=lambda r: threads[r][0].id))}
    now = utcnow()
    new_ids: list[int] = []
    pending = sorted(refs)  # one global insert order: racing routers wait instead of deadlocking
    for _ in range(ATTEMPTS):
        if not pending:
            break
        rows = [_new_row(ref, threads[ref], now + timedelta(microseconds=arrival[ref])) for ref in pending]
        _prioritize(session, runtime, rows)
        opened = _insert_open(session, rows)
        new_ids.extend(opened.values())
        lost = [ref for ref in pending if ref not in opened]
        requests.update(_lock_open(session, lost))
        pending = [ref for ref in lost if ref not in requests]  # its winner was closed already
    if pending:
        raise RuntimeError(f"could not open requests for {len(pending)} threads")
    created = sorted(_load(session, new_ids), key=lambda r: (r.created_at, r.id))
    requests.update({(r.account_id, r.thread_key): r for r in created})
    if created:  # one audit event for the batch, naming each request and its first message
        first = {str(r.id): threads[(r.account_id, r.thread_key)][0].id for r in created}
        what = str(created[0].id) if len(created) == 1 else f"{len(created)} requests"
        audit.record(session, "requests.opened", "request", what, first_message=first)
    return created


def _insert_open(session: Session, rows: list[dict[str, Any]]) -> dict[ThreadRef, int]:
    """Insert new requests, skipping threads that have an open one; (account, key) -> new id."""
    result = insert_rows(
        session,
        ServiceRequest,
        rows,
        skip_conflicts_on=("account_id", "thread_key"),
        conflict_where=_open_partial_index(),
        returning=("account_id", "thread_key", "id"),
    )
    return {} if result is None else {(account_id, key): request_id for account_id, key, request_id in result}


def _point_messages(session: Session, pairs: list[tuple[int, int]]) -> None:
    """Set ``request_id`` (and ``routed``) of each (message id, request id) pair."""
    if is_postgres(session):
        session.execute(
            text(
                "UPDATE messages SET request_id = u.request_id, routed = true "
                "FROM json_to_recordset(CAST(:rows AS json)) AS u(id integer, request_id integer) "
                "WHERE messages.id = u.id"
            ),
            {"rows": json.dumps([{"id": m, "request_id": r} for m, r in pairs])},
        )
    else:
        session.execute(update(Message), [{"id": m, "request_id": r, "routed": True} for m, r in pairs])


def _new_row(ref: ThreadRef, joined: list[Routable], created_at: datetime) -> dict[str, Any]:
    """A new request that has already absorbed its messages (one INSERT, no UPDATE after it)."""
    sentiments = [m.sentiment for m in joined if m.sentiment is not None]
    return {
        "intent": pressing_intent(m.intent for m in joined),
        "escalation": sorted({word for m in joined for word in m.escalation}),
        "furious": any(FURIOUS_TAG in m.tags for m in joined),
        "account_id": ref[0],
        "customer_id": joined[0].customer_id,
        "thread_key": ref[1],
        "state": RequestState.NEW,
        "subject": joined[0].text[:200],
        "created_at": created_at,
        "updated_at": created_at,
        "last_message_at": max([created_at, *(m.received_at for m in joined)]),
        "message_count": len(joined),
        "sentiment": min(sentiments) if sentiments else None,
        "priority": int(Priority.NORMAL),
    }


def _load(session: Session, ids: Sequence[int]) -> list[ServiceRequest]:
    loaded: list[ServiceRequest] = []
    for part in chunks(sorted(ids)):
        loaded.extend(session.scalars(select(ServiceRequest).where(one_of(session, ServiceRequest.id, part))))
    return loaded


def _absorb(request: ServiceRequest, message: Message | Routable) -> None:
    request.intent = pressing_intent((request.intent, message.intent))
    if set(message.escalation) - set(request.escalation or ()):
        request.escalation = sorted({*(request.escalation or ()), *message.escalation})
    request.furious = request.furious or FURIOUS_TAG in (message.tags or ())
    request.message_count += 1
    request.last_message_at = max(request.last_message_at, message.received_at)
    if message.sentiment is not None:
        request.sentiment = (
            message.sentiment if request.sentiment is None else min(request.sentiment, message.sentiment)
        )
    if request.state == RequestState.WAITING_CUSTOMER:
        request.state = RequestState.IN_PROGRESS


def _prioritize(session: Session, runtime: Runtime, rows: list[dict[str, Any]]) -> None:
    """Priority and due time of new requests (rows about to be inserted), by the rules of
    ``routing.priority`` for the whole batch at once; set before the insert, they spare every
    new request an UPDATE."""
    if not rows:
        return
    pending = [
        Pending(
            row["customer_id"],
            row["created_at"],
            row["sentiment"],
            row["message_count"],
            intent=row["intent"],
            escalation=tuple(row["escalation"]),
            furious=row["furious"],
        )
        for row in rows
    ]
    for row, (level, due, reasons) in zip(rows, levels(session, runtime, pending, utcnow()), strict=True):
        row["priority"], row["due_at"], row["priority_reasons"] = int(level), due, reasons
