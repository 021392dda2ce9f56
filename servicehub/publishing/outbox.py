"""The outbox: every reply, post and DM is a row first, then sent at most once.

``do_queue_reply`` validates and writes the row (with an idempotency key, so a double-click
or a retried form post adds nothing) and queues ``publishing.send`` after commit.
``send_outbound`` claims the row with an atomic state change before calling the platform,
so two workers never send the same row. Every attempt ends in a state a person can act on:

- sent, with the platform's id;
- failed, with ``error_kind`` saying why -- a platform refusal (a closed reply window is
  one: final, shown with its reason, pausing nothing), or the hub itself failing while
  sending (never resent on its own: the call may have gone out);
- retry, after an outage, a rate limit or a refused token, with back-off;
- unknown, when the sender was interrupted mid-send (a killed worker): the sweep
  (``sweep_interrupted``) finds such rows and leaves them for an operator to check.

A send whose answer was lost (a timeout after the request left, a 5xx, an unreadable
answer) may have reached the platform. The row is marked ``in_doubt`` and, before anything
is sent again, the platform is read back for it (the adapter's ``SentLookup``): found, it
is sent (with that id); not there, it is sent again; the platform cannot be read back, it
is unknown for a person to check. A "repeated content" refusal of such a resend means the
first try went through. So a reply is posted at most once, and never shown as failed when
it was delivered.

A rate limit pauses what it names (``accounts.pauses``): the account's writes, or the whole
account; replies wait while it lasts, without calling the platform. A refused token parks
the replies of its account; when a later call succeeds (an operator's new reply, a probe of
the oldest parked one every ``PROBE_EVERY``, re-entered credentials) the account is healthy
again and the parked replies go out.

An operator may retry a failed or unknown message (``do_retry_outbound``): that is the
person deciding it did not arrive.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from servicehub.accounts.adapters import connected
from servicehub.accounts.pauses import WRITES, paused, record_limit, writes_paused_until
from servicehub.adapters.base import (
    Adapter,
    ReplyTarget,
    SentLookup,
    SentRef,
    publisher,
    replier,
    sent_lookup,
)
from servicehub.adapters.errors import (
    AcceptedLater,
    MalformedPayload,
    NeverSent,
    NotFound,
    PlatformError,
    RateLimited,
    Rejected,
    Repeated,
    TokenExpired,
    Unavailable,
    Unsupported,
    WindowClosed,
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
# How often the oldest reply parked on an account whose token was refused is tried again, to
# find out whether the platform takes the account's calls again.
PROBE_EVERY = timedelta(minutes=10)
# A write that lost its answer is looked for among writes made since it was queued, less this
# (the platform's clock may run a little behind ours).
CLOCK_SLACK = timedelta(minutes=2)


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
    outbound.error, outbound.error_kind, outbound.in_doubt = "", None, False
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
        waiting = writes_paused_until(session, account, utcnow())
        if waiting is not None:  # a limit on the account's writes: wait without calling
            outbound.attempts -= 1
            _settle(
                session,
                outbound,
                DeliveryState.RETRY,
                ErrorKind.RATE_LIMITED,
                f"the account's writes wait for a platform limit until {waiting.isoformat()}",
            )
        else:
            _attempt(session, runtime, account, outbound)
        if outbound.request_id is not None:
            runtime.publish_on_commit(session, {"type": "request", "request_id": outbound.request_id})
        session.commit()
        return outbound.state


def _attempt(session: Session, runtime: Runtime, account: Account, outbound: OutboundMessage) -> None:
    """One try: settle a doubtful earlier try first, then send; every end is recorded."""
    try:
        with connected(runtime, account) as adapter:
            if outbound.in_doubt and _reconciled(session, adapter, account, outbound):
                return
            try:
                ref = _deliver(adapter, outbound)
            except PlatformError as exc:
                _failed(session, adapter, account, outbound, exc)
                return
    except PlatformError as exc:  # the adapter could not even be built (no credentials...)
        _failed(session, None, account, outbound, exc)
        return
    except Exception as exc:  # the hub broke, perhaps after the platform acted: never resend
        log.exception("sending outbound %s failed inside the hub", outbound.id)
        _settle(session, outbound, DeliveryState.FAILED, ErrorKind.INTERNAL, f"{type(exc).__name__}: {exc}")
        return
    _sent(session, account, outbound, ref)


def _target(outbound: OutboundMessage) -> ReplyTarget:
    """Where the row's write goes, as the adapter's lookup takes it."""
    if outbound.kind == OutboundKind.REPLY:
        return ReplyTarget(**outbound.target)
    if outbound.kind == OutboundKind.POST:
        return ReplyTarget(kind="post")
    return ReplyTarget(kind="private_message", user_uid=str(outbound.target["user_uid"]))


def _deliver(adapter: Adapter, outbound: OutboundMessage) -> SentRef:
    ip = outbound.rip
    if outbound.kind == OutboundKind.REPLY:
        return replier(adapter).reply(ReplyTarget(**outbound.target), outbound.text, client_ip=ip)
    if outbound.kind == OutboundKind.POST:
        return publisher(adapter).publish_post(outbound.text, client_ip=ip)
    return publisher(adapter).send_direct_message(
        str(outbound.target["user_uid"]), outbound.text, client_ip=ip
    )


def _lookup(adapter: Adapter | None) -> SentLookup | None:
    if adapter is None:
        return None
    try:
        return sent_lookup(adapter)
    except Unsupported:
        return None


def _find(adapter: Adapter, outbound: OutboundMessage) -> SentRef | None:
    """The row's write as the platform shows it, or None; raises when it cannot be read back."""
    lookup = _lookup(adapter)
    if lookup is None:
        raise Unsupported("the platform cannot read back what was sent")
    return lookup.find_sent(_target(outbound), outbound.text, outbound.created_at - CLOCK_SLACK)


def _reconciled(session: Session, adapter: Adapter, account: Account, outbound: OutboundMessage) -> bool:
    """Settle an earlier try that may have arrived; True when nothing is left to send."""
    try:
        found = _find(adapter, outbound)
    except (Unsupported, Rejected, NotFound) as exc:  # cannot be read back: a person checks
        _unknown(session, outbound, exc)
        return True
    except PlatformError as exc:  # the read failed this time; try again later, still in doubt
        _failed(session, adapter, account, outbound, exc)
        return True
    if found is not None:
        log.info(
            "outbound %s: an earlier try had arrived (%s); not sending again", outbound.id, found.platform_id
        )
        _sent(session, account, outbound, found, reconciled=True)
        return True
    return False


def _unknown(session: Session, outbound: OutboundMessage, exc: PlatformError) -> None:
    _settle(
        session,
        outbound,
        DeliveryState.UNKNOWN,
        ErrorKind.AMBIGUOUS,
        f"the answer to an earlier try was lost and the platform cannot be read back to check: {exc}",
    )


def _sent(
    session: Session, account: Account, outbound: OutboundMessage, ref: SentRef, *, reconciled: bool = False
) -> None:
    outbound.state = DeliveryState.SENT
    outbound.platform_id = ref.platform_id or None
    outbound.sent_text = ref.text or outbound.text
    outbound.sent_at = utcnow()
    outbound.error, outbound.error_kind, outbound.in_doubt = "", None, False
    audit.record(
        session, "reply.sent", "outbound", outbound.id, platform_id=ref.platform_id, reconciled=reconciled
    )
    _recovered(session, account)


def _recovered(session: Session, account: Account) -> None:
    """A call went through: an account the platform had refused is healthy again (its
    pollers resume, its parked replies go out with the next retry sweep)."""
    limit_over = account.rate_limited_until is None or account.rate_limited_until <= utcnow()
    if account.health == Health.RATE_LIMITED and limit_over:
        account.health, account.health_detail, account.rate_limited_until = Health.OK, "", None
    if account.health != Health.NEEDS_REAUTH:
        return
    account.health, account.health_detail = Health.OK, ""
    audit.record(session, "account.recovered", "account", account.id)


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


def _may_have_arrived(exc: PlatformError) -> bool:
    """The write may have been carried out: its answer was lost or unreadable."""
    return isinstance(exc, Unavailable | MalformedPayload) and not isinstance(exc, NeverSent)


def _failed(
    session: Session, adapter: Adapter | None, account: Account, outbound: OutboundMessage, exc: PlatformError
) -> None:
    if isinstance(exc, AcceptedLater):  # taken, published shortly: sent, with no id yet
        _sent(session, account, outbound, SentRef(platform_id="", text=outbound.text))
        return
    if isinstance(exc, Repeated) and outbound.in_doubt:
        # The platform refuses the text as a repeat of what this account just posted: the
        # earlier try arrived. Name it if the platform shows it, else keep it without an id.
        try:
            found = _find(adapter, outbound) if adapter is not None else None
        except PlatformError:
            found = None
        _sent(
            session, account, outbound, found or SentRef(platform_id="", text=outbound.text), reconciled=True
        )
        return
    kind = _kind_of(exc)
    waits = isinstance(exc, TokenExpired | RateLimited)  # on the account, not on this message
    if _may_have_arrived(exc):
        outbound.in_doubt = True
        if _lookup(adapter) is None:  # nothing can tell later whether it arrived
            _unknown(session, outbound, exc)
            return
    if isinstance(exc, Rejected | NotFound | Unsupported):  # a closed reply window too: final
        state = DeliveryState.FAILED
    elif outbound.attempts >= MAX_ATTEMPTS and not waits:
        if outbound.in_doubt:
            _unknown(session, outbound, exc)
            return
        state, kind = DeliveryState.FAILED, ErrorKind.GAVE_UP
    else:
        state = DeliveryState.RETRY
    if isinstance(exc, TokenExpired):
        account.health = Health.NEEDS_REAUTH
        account.health_detail = str(exc)[:500]
    elif isinstance(exc, RateLimited):
        record_limit(session, account, exc, narrow=WRITES)
    _settle(session, outbound, state, kind, str(exc))
    log.warning("sending outbound %s failed: %s", outbound.id, exc)


def _kind_of(exc: PlatformError) -> ErrorKind:
    for cls, kind in (
        (WindowClosed, ErrorKind.WINDOW_CLOSED),
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


def due_for_retry(session: Session, limit: int = 100) -> list[int]:
    """Rows to try again: RETRY after a backoff that grows with attempts, skipping accounts
    that wait (a refused token, a limit on the account or its writes) -- except, every
    :data:`PROBE_EVERY`, the oldest reply parked on an account whose token was refused: if the
    platform takes it, the account is healthy again and the rest follow."""
    now = utcnow()
    rows = session.execute(
        select(OutboundMessage.id, OutboundMessage.attempts, OutboundMessage.created_at)
        .join(Account, Account.id == OutboundMessage.account_id)
        .where(
            OutboundMessage.state == DeliveryState.RETRY,
            Account.health != Health.NEEDS_REAUTH,
            or_(Account.rate_limited_until.is_(None), Account.rate_limited_until <= now),
            ~paused(OutboundMessage.account_id, WRITES, now),
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
        .where(OutboundMessage.state == DeliveryState.RETRY, Account.health == Health.NEEDS_REAUTH)
        .group_by(OutboundMessage.account_id)
    )
    return [
        oldest for _, oldest, tried in session.execute(parked) if tried is None or tried + PROBE_EVERY <= now
    ]
