"""The outbox: every reply, post and DM is a row first, then sent at most once.

``queue_reply`` validates and writes the row (with an idempotency key, so a double-click
or a retried form post adds nothing) and queues ``publishing.send`` after commit.
``send_outbound`` claims the row with an atomic state change before calling the platform,
so two workers never send the same row; a platform refusal is final and kept with its
reason, an outage is retried with backoff, an expired token waits for re-authorization.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from servicehub.adapters.base import ReplyTarget
from servicehub.adapters.errors import NotFound, PlatformError, RateLimited, Rejected, TokenExpired
from servicehub.core import audit
from servicehub.core.db import utcnow
from servicehub.core.models import (
    Account,
    DeliveryState,
    Health,
    Message,
    OutboundKind,
    OutboundMessage,
    RequestState,
    ServiceRequest,
)
from servicehub.core.runtime import Runtime
from servicehub.core.tasks import enqueue_on_commit
from servicehub.listener.connect import connected
from servicehub.publishing.text import ReplyError, check_length

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
RETRY_STATES = (DeliveryState.QUEUED, DeliveryState.RETRY)


def idempotency_key(request_id: int, user_id: int, text: str, nonce: str) -> str:
    digest = hashlib.sha256(f"{request_id}:{user_id}:{nonce}:{text}".encode()).hexdigest()
    return f"reply:{digest[:64]}"


def queue_reply(
    session: Session,
    runtime: Runtime,
    request: ServiceRequest,
    user_id: int,
    text: str,
    *,
    nonce: str,
    ip: str = "",
) -> OutboundMessage:
    """Queue a reply to the newest customer message of ``request`` (caller checked permission)."""
    text = text.strip()
    if not text:
        raise ReplyError("回复内容不能为空")
    last = session.scalars(
        select(Message)
        .where(Message.request_id == request.id, Message.keep.is_(True))
        .order_by(Message.created_at.desc(), Message.id.desc())
    ).first()
    if last is None:
        raise ReplyError("该请求没有可回复的客户消息")
    target = ReplyTarget(**last.reply_target)
    check_length(last.platform, target.kind, text)
    key = idempotency_key(request.id, user_id, text, nonce)
    existing = session.scalars(select(OutboundMessage).where(OutboundMessage.idempotency_key == key)).first()
    if existing is not None:
        return existing
    outbound = OutboundMessage(
        account_id=request.account_id,
        request_id=request.id,
        kind=OutboundKind.REPLY,
        target=target.as_dict(),
        text=text,
        idempotency_key=key,
        created_by=user_id,
    )
    session.add(outbound)
    if request.first_response_at is None:
        request.first_response_at = utcnow()
    if request.state in (RequestState.NEW, RequestState.ASSIGNED):
        request.state = RequestState.IN_PROGRESS
    session.flush()
    audit.record(
        session, "reply.queued", "request", request.id, actor_id=user_id, ip=ip, outbound_id=outbound.id
    )
    enqueue_on_commit(session, runtime.tasks, "publishing.send", outbound_id=outbound.id)
    return outbound


def claim(runtime: Runtime, outbound_id: int) -> bool:
    """Atomically move a row from queued/retry to sending; False if someone else has it."""
    with runtime.sessions.begin() as session:
        result = session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == outbound_id, OutboundMessage.state.in_(RETRY_STATES))
            .values(state=DeliveryState.SENDING, attempts=OutboundMessage.attempts + 1)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def send_outbound(runtime: Runtime, outbound_id: int) -> DeliveryState | None:
    """Send one outbox row through its account's adapter. Safe to call twice."""
    if not claim(runtime, outbound_id):
        return None
    with runtime.sessions() as session:
        outbound = session.get(OutboundMessage, outbound_id)
        account = session.get(Account, outbound.account_id) if outbound else None
        if outbound is None or account is None:
            return None
        try:
            ref = _deliver(runtime, account, outbound)
        except PlatformError as exc:
            _failed(session, account, outbound, exc)
        else:
            outbound.state = DeliveryState.SENT
            outbound.platform_id = ref.platform_id
            outbound.sent_text = ref.text
            outbound.sent_at = utcnow()
            outbound.error = ""
            audit.record(session, "reply.sent", "outbound", outbound.id, platform_id=ref.platform_id)
        if outbound.request_id is not None:
            runtime.publish_on_commit(session, {"type": "request", "request_id": outbound.request_id})
        session.commit()
        return outbound.state


def _deliver(runtime: Runtime, account: Account, outbound: OutboundMessage) -> Any:
    with connected(runtime, account) as adapter:
        if outbound.kind == OutboundKind.REPLY:
            return adapter.reply(ReplyTarget(**outbound.target), outbound.text)
        if outbound.kind == OutboundKind.POST:
            return adapter.publish_post(outbound.text)
        return adapter.send_direct_message(str(outbound.target["user_uid"]), outbound.text)


def _failed(session: Session, account: Account, outbound: OutboundMessage, exc: PlatformError) -> None:
    outbound.error = str(exc)[:500]
    if isinstance(exc, Rejected | NotFound):
        outbound.state = DeliveryState.FAILED
    elif outbound.attempts >= MAX_ATTEMPTS:
        outbound.state = DeliveryState.FAILED
        outbound.error = f"gave up after {outbound.attempts} attempts: {exc}"[:500]
    else:
        outbound.state = DeliveryState.RETRY
    if isinstance(exc, TokenExpired):
        account.health = Health.NEEDS_REAUTH
        account.health_detail = str(exc)[:500]
    elif isinstance(exc, RateLimited):
        account.health = Health.RATE_LIMITED
        account.rate_limited_until = exc.reset_at
    audit.record(
        session, "reply.failed", "outbound", outbound.id, error=outbound.error, state=str(outbound.state)
    )
    log.warning("sending outbound %s failed: %s", outbound.id, exc)


def due_for_retry(session: Session, limit: int = 100) -> list[int]:
    """Rows to try again: RETRY after a backoff that grows with attempts, skipping unhealthy accounts."""
    now = utcnow()
    rows = session.execute(
        select(OutboundMessage.id, OutboundMessage.attempts, OutboundMessage.created_at)
        .join(Account, Account.id == OutboundMessage.account_id)
        .where(
            OutboundMessage.state == DeliveryState.RETRY,
            Account.health != Health.NEEDS_REAUTH,
            or_(Account.rate_limited_until.is_(None), Account.rate_limited_until <= now),
        )
        .order_by(OutboundMessage.id)
        .limit(limit)
    )
    return [
        oid
        for oid, attempts, created in rows
        if created + timedelta(seconds=5 * 2**attempts) <= now or attempts == 0
    ]
