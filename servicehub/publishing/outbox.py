"""The outbox: every reply, post, DM, SMS, MMS and e-mail is a row first, then sent at most once.

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
person deciding it did not arrive. A retried row the other side provably had (a delivery
report said it did not reach the phone) gets a new send key, so it is a new send there.

How each kind is sent is one table, :data:`CHANNELS`: platform kinds through the
account's adapter, SMS/MMS/e-mail through ``servicehub.contact`` (named by module, as
publishing imports no sibling feature package), each with the permission that queues or
retries it.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from servicehub.accounts.adapters import connected
from servicehub.adapters.base import Adapter, ReplyTarget, SentRef, publisher, replier
from servicehub.adapters.errors import (
    NotFound,
    PlatformError,
    RateLimited,
    Rejected,
    TokenExpired,
    Unconfirmed,
    Unsupported,
)
from servicehub.core import audit, metrics
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


Deliver = Callable[[Runtime, Account, OutboundMessage], SentRef]


def _via_adapter(send: Callable[[Adapter, OutboundMessage], SentRef]) -> Deliver:
    def deliver(runtime: Runtime, account: Account, outbound: OutboundMessage) -> SentRef:
        with connected(runtime, account) as adapter:
            return send(adapter, outbound)

    return deliver


@dataclass(frozen=True)
class Channel:
    """How one kind of row is sent, who may queue or retry it, and how it is audited."""

    deliver: Deliver | str  # a function, or "module:function" of a package publishing may not import
    function: str
    on_platform: bool  # through the account's adapter: its failures say something about the account
    audit: str  # "<audit>.sent", "<audit>.failed", "<audit>.retried"


CONTACT = "servicehub.contact.channels"
CHANNELS: dict[OutboundKind, Channel] = {
    OutboundKind.REPLY: Channel(
        _via_adapter(lambda a, o: replier(a).reply(ReplyTarget(**o.target), o.text)),
        "request.reply",
        True,
        "reply",
    ),
    OutboundKind.POST: Channel(
        _via_adapter(lambda a, o: publisher(a).publish_post(o.text)), "publish", True, "reply"
    ),
    OutboundKind.DIRECT_MESSAGE: Channel(
        _via_adapter(lambda a, o: publisher(a).send_direct_message(str(o.target["user_uid"]), o.text)),
        "publish",
        True,
        "reply",
    ),
    OutboundKind.SMS: Channel(f"{CONTACT}:send_sms", "customer.contact", False, "contact"),
    OutboundKind.MMS: Channel(f"{CONTACT}:send_sms", "customer.contact", False, "contact"),
    OutboundKind.EMAIL: Channel(f"{CONTACT}:send_email", "customer.contact", False, "contact"),
}
OFF_PLATFORM = tuple(kind for kind, channel in CHANNELS.items() if not channel.on_platform)


@cache
def _named(path: str) -> Deliver:
    module, _, name = path.partition(":")
    found: Deliver = getattr(importlib.import_module(module), name)
    return found


def deliverer(kind: OutboundKind) -> Deliver:
    deliver = CHANNELS[kind].deliver
    return _named(deliver) if isinstance(deliver, str) else deliver


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
        send_key=key,
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
    _tell(session, runtime, outbound)
    return outbound


def _tell(session: Session, runtime: Runtime, outbound: OutboundMessage) -> None:
    """The request page of ``outbound`` learns of its change once committed."""
    if outbound.request_id is not None:
        runtime.publish_on_commit(
            session, {"type": "request", "request_id": outbound.request_id, "account_id": outbound.account_id}
        )


def do_retry_outbound(
    session: Session, runtime: Runtime, who: Principal, outbound_id: int, *, request_id: int | None = None
) -> None:
    """An operator sends a failed (or unknown) message again, having judged it did not arrive.

    ``request_id``, when given, is the request the operator is looking at: a row of another
    request is missing there.
    """
    outbound = session.get(OutboundMessage, outbound_id)
    if outbound is None or outbound.request_id is None or request_id not in (None, outbound.request_id):
        raise NotVisible(f"outbound {outbound_id}")
    channel = CHANNELS[outbound.kind]
    access(session, who, ServiceRequest, outbound.request_id, channel.function, visible_by="request.view")
    if outbound.state not in (DeliveryState.FAILED, DeliveryState.UNKNOWN):
        raise ActionError("not_retryable", f"message {outbound_id} is {outbound.state}")
    before = outbound.state
    if outbound.platform_id is not None:  # the other side had it: this is a new send there
        outbound.send_key = f"{outbound.idempotency_key}.{secrets.token_hex(4)}"
        outbound.platform_id, outbound.delivered_at = None, None
    outbound.state, outbound.attempts = DeliveryState.QUEUED, 0
    outbound.error, outbound.error_kind = "", None
    audit.record(session, f"{channel.audit}.retried", "outbound", outbound.id, by=who, before=str(before))
    enqueue_on_commit(session, runtime.tasks, "publishing.send", outbound_id=outbound.id)
    _tell(session, runtime, outbound)


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
    """Send one outbox row through its channel (see :data:`CHANNELS`). Safe to call twice."""
    if not claim(runtime, outbound_id):
        return None
    with runtime.sessions() as session:
        outbound = session.get(OutboundMessage, outbound_id)
        account = session.get(Account, outbound.account_id) if outbound else None
        if outbound is None or account is None:
            return None
        try:
            ref = deliverer(outbound.kind)(runtime, account, outbound)
        except PlatformError as exc:
            _failed(session, account, outbound, exc)
        except Exception as exc:  # the hub broke, perhaps after the platform acted: never resend
            log.exception("sending outbound %s failed inside the hub", outbound.id)
            _settle(
                session, outbound, DeliveryState.FAILED, ErrorKind.INTERNAL, f"{type(exc).__name__}: {exc}"
            )
        else:
            _sent(session, outbound, ref)
        _tell(session, runtime, outbound)
        session.commit()
        return outbound.state


def _sent(session: Session, outbound: OutboundMessage, ref: SentRef) -> None:
    outbound.state = DeliveryState.SENT
    outbound.platform_id = ref.platform_id
    outbound.sent_text = ref.text
    outbound.sent_at = utcnow()
    outbound.error, outbound.error_kind = "", None
    audit.record(
        session, f"{CHANNELS[outbound.kind].audit}.sent", "outbound", outbound.id, platform_id=ref.platform_id
    )


def _settle(
    session: Session, outbound: OutboundMessage, state: DeliveryState, kind: ErrorKind, error: str
) -> None:
    outbound.state, outbound.error_kind, outbound.error = state, kind, error[:500]
    audit.record(
        session,
        f"{CHANNELS[outbound.kind].audit}.failed",
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
    elif isinstance(exc, Unconfirmed):
        state = DeliveryState.UNKNOWN
    elif outbound.attempts >= MAX_ATTEMPTS:
        state, kind = DeliveryState.FAILED, ErrorKind.GAVE_UP
    else:
        state = DeliveryState.RETRY
    if CHANNELS[outbound.kind].on_platform:  # an SMS gateway's trouble says nothing of the account
        _account_health(account, exc)
    _settle(session, outbound, state, kind, str(exc))
    via = account.platform if CHANNELS[outbound.kind].on_platform else str(outbound.kind)
    metrics.count_on_commit(session, "outbox_failures", {(via, str(kind)): 1})
    log.warning("sending outbound %s failed: %s", outbound.id, exc)


def _account_health(account: Account, exc: PlatformError) -> None:
    if isinstance(exc, TokenExpired):
        account.health = Health.NEEDS_REAUTH
        account.health_detail = str(exc)[:500]
    elif isinstance(exc, RateLimited):
        account.health = Health.RATE_LIMITED
        account.rate_limited_until = exc.reset_at


def _kind_of(exc: PlatformError) -> ErrorKind:
    for cls, kind in (
        (Unconfirmed, ErrorKind.UNCONFIRMED),
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
            _tell(session, runtime, outbound)
        return [o.id for o in stuck]


def due_for_retry(session: Session, limit: int = 100) -> list[int]:
    """Rows to try again: RETRY after a backoff that grows with attempts, skipping platform
    rows of unhealthy accounts (an SMS or e-mail does not wait for the account's token)."""
    now = utcnow()
    rows = session.execute(
        select(OutboundMessage.id, OutboundMessage.attempts, OutboundMessage.created_at)
        .join(Account, Account.id == OutboundMessage.account_id)
        .where(
            OutboundMessage.state == DeliveryState.RETRY,
            or_(
                OutboundMessage.kind.in_(OFF_PLATFORM),
                and_(
                    Account.health != Health.NEEDS_REAUTH,
                    or_(Account.rate_limited_until.is_(None), Account.rate_limited_until <= now),
                ),
            ),
        )
        .order_by(OutboundMessage.id)
        .limit(limit)
    )
    return [
        oid
        for oid, attempts, created in rows
        if created + timedelta(seconds=5 * 2**attempts) <= now or attempts == 0
    ]
