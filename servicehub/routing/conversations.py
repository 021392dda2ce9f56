"""Turning kept messages into service requests: a message joins its conversation's open request.

A conversation is one customer on one account in one thread (the mentioning post, the
commented post, the private-message pair). A partial unique index allows one open request
per conversation, so two routers racing on the same thread end up in the same request.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.db import utcnow
from servicehub.core.models import OPEN_STATES, Message, RequestState, ServiceRequest
from servicehub.core.runtime import Runtime
from servicehub.routing.assign import assign_requests
from servicehub.routing.priority import prioritize


def thread_key(message: Message) -> str:
    return f"{message.thread_id}:{message.author_uid}"


def route_messages(runtime: Runtime, message_ids: Sequence[int]) -> list[int]:
    """Attach each unrouted kept message to a request, assigning new ones. Idempotent."""
    touched: list[int] = []
    with runtime.sessions() as session:
        stmt = (
            select(Message)
            .where(Message.id.in_(message_ids), Message.routed.is_(False), Message.keep.is_(True))
            .order_by(Message.id)
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        created: list[ServiceRequest] = []
        for message in session.scalars(stmt):
            request, is_new = _request_for(session, message)
            _absorb(request, message)
            message.request_id = request.id
            message.routed = True
            if is_new:
                created.append(request)
            touched.append(request.id)
        for request in created:
            _prioritize(session, runtime, request)
        assign_requests(session, runtime, created)  # one batch: users locked once, in id order
        for request_id in sorted(set(touched)):
            runtime.publish_on_commit(session, {"type": "request", "request_id": request_id})
        session.commit()
    return sorted(set(touched))


def _request_for(session: Session, message: Message) -> tuple[ServiceRequest, bool]:
    key = thread_key(message)
    existing = _open_request(session, message.account_id, key)
    if existing is not None:
        return existing, False
    request = ServiceRequest(
        account_id=message.account_id,
        customer_id=message.customer_id,
        thread_key=key,
        state=RequestState.NEW,
        subject=message.text[:200],
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(request)
            session.flush()
    except IntegrityError:  # another router opened it a moment ago
        existing = _open_request(session, message.account_id, key)
        if existing is None:
            raise
        return existing, False
    audit.record(session, "request.created", "request", request.id, message_id=message.id)
    return request, True


def _open_request(session: Session, account_id: int, key: str) -> ServiceRequest | None:
    return session.scalars(
        select(ServiceRequest).where(
            ServiceRequest.account_id == account_id,
            ServiceRequest.thread_key == key,
            ServiceRequest.state.in_(OPEN_STATES),
        )
    ).first()


def _absorb(request: ServiceRequest, message: Message) -> None:
    request.message_count += 1
    request.last_message_at = max(request.last_message_at, message.received_at)
    if message.sentiment is not None:
        request.sentiment = (
            message.sentiment if request.sentiment is None else min(request.sentiment, message.sentiment)
        )
    if request.state == RequestState.WAITING_CUSTOMER:
        request.state = RequestState.IN_PROGRESS


def _prioritize(session: Session, runtime: Runtime, request: ServiceRequest) -> None:
    """Priority and due time of a new request; the rules live in ``routing.priority``."""
    prioritize(session, runtime, request)
