"""The outbox: every reply, post and DM is a row first, then sent at most once.

``do_queue_reply`` validates and writes the row (with an idempotency key, so a double-click
or a retried form post adds nothing) and queues ``publishing.send`` after commit.
``send_outbound`` claims the row with an atomic state change before calling the platform,
so two workers never send the same row. Every attempt ends in a state a person can act on:

- sent, with the platform's id;
- failed, with ``error_kind`` saying why -- a platform refusal, or the hub itself failing
  while sending (never resent on its own: the call may have gone out);
- retry, after an outage the platform surely did not act on, with back-off;
- unknown, when the sender was interrupted mid-send (a killed worker): the sweep
  (``sweep_interrupted``) finds such rows and leaves them for an operator to check.

An operator may retry a failed or unknown message (``do_retry_outbound``): that is the
person deciding it did not arrive.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from servicehub.accounts.adapters import connected
from servicehub.adapters.base import ReplyTarget, SentRef, publisher, replier
from servicehub.adapters.errors import (
    NotFound,
    PlatformError,
    RateLimited,
    Rejected,
    TokenExpired,
    Unsupported,
)
from servicehub.core import audit
from servicehub.core.db import utcnow
from servicehub.core.errors import ActionError
from servicehub.core.models import (
    Account,
    DeliveryState,
    ErrorKind,
    Health,
    Message,
    OutboundKind,
    OutboundMessage,
    RequestState,
    ServiceRequest,
)
from servicehub.core.permissions import NotVisible, Principal, access
from servicehub.core.runtime import Runtime
from servicehub.core.tasks import enqueue_on_commit
from servicehub.publishing.text import checked_text

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
RETRY_STATES = (DeliveryState.QUEUED, DeliveryState.RETRY)
# A send that has not finished after this long was interrupted (every platform call times
# out well before: adapters use 10 s timeouts and a few retries).
SENDING_TIMEOUT = timedelta(minutes=5)
# A row still queued this long after it was written lost its ``publishing.send`` task: the
# broker restarted without it (Redis keeps nothing on disk here), or the worker holding it
# was killed (Redis hands such a task out again only after an hour). Sending it again is
# safe: nothing was sent yet, and ``claim`` lets only one sender have it.
QUEUED_TIMEOUT = timedelta(minutes=1)


def idempotency_key(request_id: int, user_id: int, text: str, nonce: str) -> str:
    digest = hashlib.sha256(f"{request_id}:{user_id}:{nonce}:{text}".encode()).hexdigest()
    return f"reply:{digest[:64]}"


def do_queue_reply(
    session: Session, runtime: Runtime, who: Principal, request_id: int, text: str, *, nonce: str
) -> OutboundMessage:
    """Queue ``who``'s reply to the newest customer message of request ``request_id``.

    The request must be visible to ``who`` (else NotVisible) and within their
    ``request.reply`` scope (else Forbidden); the text must fit the platform's rule for
    what it answers (else :class:`ActionError`). A repeated submission with the same nonce
    returns the row queued the first time.
    """
    request = access(session, who, ServiceRequest, request_id, "request.reply", visible_by="request.view")
    last = session.scalars(
        select(Message)
        .where(Message.request_id == request.id, Message.keep.is_(True))
        .order_by(Message.created_at.desc(), Message.id.desc())
    ).first()
    if last is None:
        raise ActionError("nothing_to_answer", "the request has no customer message to answer")
    target = ReplyTarget(**last.reply_target)
    text = checked_text(last.platform, target.kind, text)
    key = idempotency_key(request.id, who.user_id, text, nonce)
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
        created_by=who.user_id,
    )
    session.add(outbound)
    if request.first_response_at is None:
        request.first_response_at = utcnow()
    if request.state in (RequestState.NEW, RequestState.ASSIGNED):
        request.state = RequestState.IN_PROGRESS
    session.flush()
    audit.record(session, "reply.queued", "request", request.id, by=who, outbound_id=outbound.id)
    enqueue_on_commit(session, runtime.tasks, "publishing.send", outbound_id=outbound.id)
    runtime.publish_on_commit(session, {"type": "request", "request_id": request.id})
    return outbound


def do_retry_outbound(session: Session, runtime: Runtime, who: Principal, outbound_id: int) -> None:
    """An operator sends a failed (or unknown) message again, having judged it did not arrive."""
    outbound = session.get(OutboundMessage, outbound_id)
    if outbound is None or outbound.request_id is None:
        raise NotVisible(f"outbound {outbound_id}")
    access(session, who, ServiceRequest, outbound.request_id, "request.reply", visible_by="request.view")
    if outbound.state not in (DeliveryState.FAILED, DeliveryState.UNKNOWN):
        raise ActionError("not_retryable", f"message {outbound_id} is {outbound.state}")
    before = outbound.state
    outbound.state, outbound.attempts = DeliveryState.QUEUED, 0
    outbound.error, outbound.error_kind = "", None
    audit.record(session, "reply.retried", "outbound", outbound.id, by=who, before=str(before))
    enqueue_on_commit(session, runtime.tasks, "publishing.send", outbound_id=outbound.id)
    runtime.publish_on_commit(session, {"type": "request", "request_id": outbound.request_id})


def claim(runtime: Runtime, outbound_id: int) -> bool:
    """Atomically move a row from queued/retry to sending; False if someone else has it."""
    with runtime.sessions.begin() as session:
        result = session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == outbound_id, OutboundMessage.state.in_(RETRY_STATES))
            .values(state=DeliveryState.SENDING, attempts=OutboundMessage.attempts + 1, claimed_at=utcnow())
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
        except Exception as exc:  # the hub broke, perhaps after the platform acted: never resend
            log.exception("sending outbound %s failed inside the hub", outbound.id)
            _settle(
                session, outbound, DeliveryState.FAILED, ErrorKind.INTERNAL, f"{type(exc).__name__}: {exc}"
            )
        else:
            _sent(session, outbound, ref)
        if outbound.request_id is not None:
            runtime.publish_on_commit(session, {"type": "request", "request_id": outbound.request_id})
        session.commit()
        return outbound.state


def _deliver(runtime: Runtime, account: Account, outbound: OutboundMessage) -> SentRef:
    with connected(runtime, account) as adapter:
        if outbound.kind == OutboundKind.REPLY:
            return replier(adapter).reply(ReplyTarget(**outbound.target), outbound.text)
        if outbound.kind == OutboundKind.POST:
            return publisher(adapter).publish_post(outbound.text)
        return publisher(adapter).send_direct_message(str(outbound.target["user_uid"]), outbound.text)


def _sent(session: Session, outbound: OutboundMessage, ref: SentRef) -> None:
    outbound.state = DeliveryState.SENT
    outbound.platform_id = ref.platform_id
    outbound.sent_text = ref.text
    outbound.sent_at = utcnow()
    outbound.error, outbound.error_kind = "", None
    audit.record(session, "reply.sent", "outbound", outbound.id, platform_id=ref.platform_id)


def _settle(
    session: Session, outbound: OutboundMessage, state: DeliveryState, kind: ErrorKind, error: str
) -> None:
    outbound.state, outbound.error_kind, outbound.error = state, kind, error[:500]
    audit.record(
        session,
        "reply.failed",
        "outbound",
        outbound.id,
        error=outbound.error,
        state=str(state),
        kind=str(kind),
    )


def _failed(session: Session, account: Account, outbound: OutboundMessage, exc: PlatformError) -> None:
    kind = _kind_of(exc)
    if isinstance(exc, Rejected | NotFound | Unsupported):
        state = DeliveryState.FAILED
    elif outbound.attempts >= MAX_ATTEMPTS:
        state, kind = DeliveryState.FAILED, ErrorKind.GAVE_UP
    else:
        state = DeliveryState.RETRY
    if isinstance(exc, TokenExpired):
        account.health = Health.NEEDS_REAUTH
        account.health_detail = str(exc)[:500]
    elif isinstance(exc, RateLimited):
        account.health = Health.RATE_LIMITED
        account.rate_limited_until = exc.reset_at
    _settle(session, outbound, state, kind, str(exc))
    log.warning("sending outbound %s failed: %s", outbound.id, exc)


def _kind_of(exc: PlatformError) -> ErrorKind:
    for cls, kind in (
        (TokenExpired, ErrorKind.TOKEN_EXPIRED),
        (RateLimited, ErrorKind.RATE_LIMITED),
        (NotFound, ErrorKind.NOT_FOUND),
        (Unsupported, ErrorKind.UNSUPPORTED),
        (Rejected, ErrorKind.REJECTED),
    ):
        if isinstance(exc, cls):
            return kind
    return ErrorKind.UNAVAILABLE


def sweep_interrupted(runtime: Runtime, now: datetime | None = None) -> list[int]:
    """Rows stuck in ``sending`` past :data:`SENDING_TIMEOUT` (their sender died) become
    ``unknown``: the platform may have the message, so only a person may send it again."""
    cutoff = (now or utcnow()) - SENDING_TIMEOUT
    with runtime.sessions.begin() as session:
        stuck = list(
            session.scalars(
                select(OutboundMessage)
                .where(
                    OutboundMessage.state == DeliveryState.SENDING,
                    or_(OutboundMessage.claimed_at.is_(None), OutboundMessage.claimed_at < cutoff),
                )
                .order_by(OutboundMessage.id)
                .limit(500)
            )
        )
        for outbound in stuck:
            _settle(
                session,
                outbound,
                DeliveryState.UNKNOWN,
                ErrorKind.INTERRUPTED,
                "sending was interrupted; check on the platform whether it arrived",
            )
            if outbound.request_id is not None:
                runtime.publish_on_commit(session, {"type": "request", "request_id": outbound.request_id})
        return [o.id for o in stuck]


def due_for_retry(session: Session, limit: int = 100, now: datetime | None = None) -> list[int]:
    """Rows to try again: RETRY after a backoff that grows with attempts, and QUEUED ones whose
    task was lost (:data:`QUEUED_TIMEOUT`), skipping unhealthy accounts."""
    now = now or utcnow()
    rows = session.execute(
        select(OutboundMessage.id, OutboundMessage.attempts, OutboundMessage.created_at)
        .join(Account, Account.id == OutboundMessage.account_id)
        .where(
            or_(
                OutboundMessage.state == DeliveryState.RETRY,
                and_(
                    OutboundMessage.state == DeliveryState.QUEUED,
                    OutboundMessage.created_at < now - QUEUED_TIMEOUT,
                ),
            ),
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
