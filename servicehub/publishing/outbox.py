"""The outbox: every reply, post, DM, SMS, MMS and e-mail is a row first, then sent at most once.

``do_queue_reply`` validates and writes the row (with an idempotency key, so a double-click
or a retried form post adds nothing) and queues ``publishing.send`` after commit.
``send_outbound`` claims the row with an atomic state change before calling anyone, so two
workers never send the same row, and makes one try (``publishing.delivery``). Every try ends
in a state a person can act on:

- sent, with the platform's (or gateway's) id -- also when a try whose answer was lost is
  found on the platform afterwards;
- failed, with ``error_kind`` saying why -- a refusal (a closed reply window is one: final,
  shown with its reason, pausing nothing), or the hub itself failing while sending (never
  resent on its own: the call may have gone out);
- retry, after an outage, a rate limit or a refused token, with back-off;
- unknown, when nobody can tell whether it arrived: the sender was interrupted mid-send
  (``sweep_interrupted`` settles such rows), or the answer was lost and the other side
  cannot be read back.

An operator may retry a failed or unknown message (``do_retry_outbound``): that is the
person deciding it did not arrive. A retried row the other side provably had (a delivery
report said it did not reach the phone) gets a new send key, so it is a new send there.
How each kind is sent, and who may queue or retry it, is ``publishing.channels``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from servicehub.accounts.pauses import MASS_SENDS, WRITES, paused, writes_paused_until
from servicehub.adapters.base import ReplyTarget
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
    Publication,
    RequestState,
    ServiceRequest,
)
from servicehub.core.permissions import NotVisible, Principal, access
from servicehub.core.runtime import Runtime
from servicehub.core.tasks import enqueue_on_commit
from servicehub.publishing.channels import CHANNELS, OFF_PLATFORM
from servicehub.publishing.delivery import MAX_ATTEMPTS, attempt, settle
from servicehub.publishing.text import checked_text

__all__ = [
    "MAX_ATTEMPTS",
    "PROBE_EVERY",
    "claim",
    "do_queue_reply",
    "do_retry_outbound",
    "due_for_retry",
    "send_outbound",
    "sweep_interrupted",
]

RETRY_STATES = (DeliveryState.QUEUED, DeliveryState.RETRY)
# A send that has not finished after this long was interrupted (every platform call times
# out well before: adapters use 10 s timeouts and a few retries).
SENDING_TIMEOUT = timedelta(minutes=5)
# How often the oldest reply parked on an account whose token was refused is tried again, to
# find out whether the platform takes the account's calls again.
PROBE_EVERY = timedelta(minutes=10)
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
    returns the row queued the first time. The row remembers where ``who`` wrote it from
    (Weibo wants the writer's IP with every write).
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
        rip=who.ip or None,
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
    if outbound.publication_id is not None:
        runtime.publish_on_commit(session, {"type": "publication", "publication_id": outbound.publication_id})


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
    outbound.error, outbound.error_kind, outbound.in_doubt = "", None, False
    audit.record(session, f"{channel.audit}.retried", "outbound", outbound.id, by=who, before=str(before))
    enqueue_on_commit(session, runtime.tasks, "publishing.send", outbound_id=outbound.id)
    _tell(session, runtime, outbound)


def do_retry_target(
    session: Session, runtime: Runtime, who: Principal, outbound_id: int, *, publication_id: int | None = None
) -> OutboundMessage:
    """Send one failed or unknown target of a publication again. Unlike a reply's retry, the
    platform is read back first (``in_doubt``): whether the earlier try arrived is checked,
    not assumed, so a retry after a crash never posts twice.

    ``publication_id``, when given, is the publication the person is looking at: a target of
    another publication is missing there."""
    outbound = session.get(OutboundMessage, outbound_id)
    elsewhere = outbound is not None and publication_id not in (None, outbound.publication_id)
    if outbound is None or outbound.publication_id is None or elsewhere:
        raise NotVisible(f"outbound {outbound_id}")
    access(session, who, Publication, outbound.publication_id, "publish")
    if outbound.state not in (DeliveryState.FAILED, DeliveryState.UNKNOWN):
        raise ActionError("not_retryable", f"message {outbound_id} is {outbound.state}")
    if outbound.error_kind == ErrorKind.WINDOW_CLOSED and outbound.attempts == 0:
        raise ActionError("not_retryable", "the customer is outside the platform's window")
    before = outbound.state
    outbound.in_doubt = outbound.in_doubt or outbound.attempts > 0
    outbound.state, outbound.attempts = DeliveryState.QUEUED, 0
    outbound.error, outbound.error_kind = "", None
    audit.record(session, "publish.retried", "outbound", outbound.id, by=who, before=str(before))
    enqueue_on_commit(session, runtime.tasks, "publishing.send", outbound_id=outbound.id)
    runtime.publish_on_commit(session, {"type": "publication", "publication_id": outbound.publication_id})
    return outbound


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
    """Send one outbox row through its channel (see ``publishing.channels``). Safe to call twice."""
    if not claim(runtime, outbound_id):
        return None
    with runtime.sessions() as session:
        outbound = session.get(OutboundMessage, outbound_id)
        account = session.get(Account, outbound.account_id) if outbound else None
        if outbound is None or account is None:
            return None
        waiting = (
            writes_paused_until(session, account, utcnow(), CHANNELS[outbound.kind].pauses)
            if CHANNELS[outbound.kind].on_platform
            else None
        )
        if waiting is not None:  # a limit on the account's writes: wait without calling
            outbound.attempts -= 1
            settle(
                session,
                outbound,
                DeliveryState.RETRY,
                ErrorKind.RATE_LIMITED,
                f"the account's writes wait for a platform limit until {waiting.isoformat()}",
            )
        else:
            attempt(session, runtime, account, outbound)
        _tell(session, runtime, outbound)
        session.commit()
        return outbound.state


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
            if outbound.publication_id is not None and CHANNELS[outbound.kind].on_platform:
                # A publication's target is read back before it is sent again (or sent
                # again under its own key): no one needs to check it by hand.
                outbound.in_doubt = True
                settle(
                    session,
                    outbound,
                    DeliveryState.RETRY,
                    ErrorKind.INTERRUPTED,
                    "sending was interrupted; the platform is checked before it is sent again",
                )
            else:
                settle(
                    session,
                    outbound,
                    DeliveryState.UNKNOWN,
                    ErrorKind.INTERRUPTED,
                    "sending was interrupted; check on the platform whether it arrived",
                )
            _tell(session, runtime, outbound)
        return [o.id for o in stuck]


def due_for_retry(session: Session, limit: int = 100, now: datetime | None = None) -> list[int]:
    """Rows to try again: RETRY after a backoff that grows with attempts, and QUEUED ones whose
    task was lost (:data:`QUEUED_TIMEOUT`), skipping platform rows of accounts that wait (a
    refused token, a limit on the account or its writes; an SMS or e-mail does not wait for
    them) -- except, every :data:`PROBE_EVERY`, the oldest reply parked on an account whose
    token was refused: if the platform takes it, the account is healthy again and the rest
    follow."""
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
            or_(
                OutboundMessage.kind.in_(OFF_PLATFORM),
                and_(
                    Account.health != Health.NEEDS_REAUTH,
                    or_(Account.rate_limited_until.is_(None), Account.rate_limited_until <= now),
                    ~paused(OutboundMessage.account_id, WRITES, now),
                    or_(
                        OutboundMessage.kind != OutboundKind.MASS,
                        ~paused(OutboundMessage.account_id, MASS_SENDS, now),
                    ),
                ),
            ),
        )
        .order_by(OutboundMessage.id)
        .limit(limit)
    )
    due = [
        oid
        for oid, attempts, created in rows
        if created + timedelta(seconds=5 * 2**attempts) <= now or attempts == 0
    ]
    return due + _probes(session, now)


def _probes(session: Session, now: datetime) -> list[int]:
    """The oldest parked reply of each account whose token was refused, unless one of its
    replies was tried within :data:`PROBE_EVERY`."""
    parked = (
        select(
            OutboundMessage.account_id,
            func.min(OutboundMessage.id).label("oldest"),
            func.max(OutboundMessage.claimed_at).label("tried"),
        )
        .join(Account, Account.id == OutboundMessage.account_id)
        .where(
            OutboundMessage.state == DeliveryState.RETRY,
            OutboundMessage.kind.not_in(OFF_PLATFORM),
            Account.health == Health.NEEDS_REAUTH,
        )
        .group_by(OutboundMessage.account_id)
    )
    return [
        oldest for _, oldest, tried in session.execute(parked) if tried is None or tried + PROBE_EVERY <= now
    ]
