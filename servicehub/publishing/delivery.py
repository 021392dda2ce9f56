"""One try at sending an outbox row, and how every way it can end is recorded.

A platform write whose answer was lost (a timeout after the request left, a 5xx, an
unreadable answer) may have reached the platform. The row is marked ``in_doubt`` and,
before anything is sent again, the platform is read back for it (the adapter's
``SentLookup``): found, it is sent (with that id); not there, it is sent again; the
platform cannot be read back, it is ``unknown`` for a person to check. A "repeated content"
refusal of such a resend means the first try went through; "accepted, published shortly"
is sent. An SMS or e-mail whose answer was lost after the gateway may have taken it is
``unknown`` too (``Unconfirmed``; the contact channels ask the gateway first where they can).

A rate limit pauses what it names (``accounts.pauses``); a refused token parks the
account's replies until a later call succeeds, when the account is healthy again. A
failure inside the hub is ``failed`` and never resent on its own: the call may have gone out.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from servicehub.accounts.adapters import connected
from servicehub.accounts.pauses import record_limit
from servicehub.adapters.base import Adapter, SentLookup, SentRef, sent_lookup
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
    Unconfirmed,
    Unsupported,
    WindowClosed,
)
from servicehub.core import audit, metrics
from servicehub.core.db import utcnow
from servicehub.core.models import Account, DeliveryState, ErrorKind, Health, OutboundKind, OutboundMessage
from servicehub.core.runtime import Runtime
from servicehub.publishing.channels import CHANNELS, deliverer, target_of
from servicehub.publishing.tracking import follow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# A write that lost its answer is looked for among writes made since it was queued, less this
# (the platform's clock may run a little behind ours).
CLOCK_SLACK = timedelta(minutes=2)


def attempt(session: Session, runtime: Runtime, account: Account, row: OutboundMessage) -> None:
    """One try: settle a doubtful earlier try first, then send; every end is recorded."""
    channel = CHANNELS[row.kind]
    adapter: Adapter | None = None
    try:
        if channel.write is None:
            ref = deliverer(channel.deliver)(runtime, account, row)
        else:
            with connected(runtime, account) as adapter:
                if row.in_doubt and not channel.keyed and _reconciled(session, adapter, account, row):
                    return
                ref = channel.write(runtime, adapter, row)
    except PlatformError as exc:
        failed(session, adapter, account, row, exc)
        return
    except Exception as exc:  # the hub broke, perhaps after the other side acted: never resend
        log.exception("sending outbound %s failed inside the hub", row.id)
        settle(session, row, DeliveryState.FAILED, ErrorKind.INTERNAL, f"{type(exc).__name__}: {exc}")
        return
    sent(session, account, row, ref)


def _lookup(adapter: Adapter | None) -> SentLookup | None:
    if adapter is None:
        return None
    try:
        return sent_lookup(adapter)
    except Unsupported:
        return None


def _find(adapter: Adapter, row: OutboundMessage) -> SentRef | None:
    """The row's write as the platform shows it, or None; raises when it cannot be read back."""
    lookup = _lookup(adapter)
    if lookup is None:
        raise Unsupported("the platform cannot read back what was sent")
    since = row.created_at - CLOCK_SLACK
    return lookup.find_sent(target_of(row), row.text, since)


def _reconciled(session: Session, adapter: Adapter, account: Account, row: OutboundMessage) -> bool:
    """Settle an earlier try that may have arrived; True when nothing is left to send."""
    try:
        found = _find(adapter, row)
    except (Unsupported, Rejected, NotFound) as exc:  # cannot be read back: a person checks
        _unknown(session, row, exc)
        return True
    except PlatformError as exc:  # the read failed this time; try again later, still in doubt
        failed(session, adapter, account, row, exc)
        return True
    if found is not None:
        log.info("outbound %s: an earlier try had arrived (%s); not sending again", row.id, found.platform_id)
        sent(session, account, row, found, reconciled=True)
        return True
    return False


def _unknown(session: Session, row: OutboundMessage, exc: PlatformError) -> None:
    settle(
        session,
        row,
        DeliveryState.UNKNOWN,
        ErrorKind.AMBIGUOUS,
        f"the answer to an earlier try was lost and the platform cannot be read back to check: {exc}",
    )


def sent(
    session: Session, account: Account, row: OutboundMessage, ref: SentRef, *, reconciled: bool = False
) -> None:
    row.state = DeliveryState.SENT
    row.platform_id = ref.platform_id or None
    row.sent_text = ref.text or row.text
    row.sent_at = utcnow()
    row.error, row.error_kind, row.in_doubt = "", None, False
    channel = CHANNELS[row.kind]
    audit.record(
        session,
        f"{channel.audit}.sent",
        "outbound",
        row.id,
        platform_id=ref.platform_id,
        reconciled=reconciled,
    )
    if channel.on_platform:
        _recovered(session, account)
    if row.kind == OutboundKind.POST and row.platform_id:
        follow(session, account, row)


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


def settle(session: Session, row: OutboundMessage, state: DeliveryState, kind: ErrorKind, error: str) -> None:
    row.state, row.error_kind, row.error = state, kind, error[:500]
    audit.record(
        session,
        f"{CHANNELS[row.kind].audit}.failed",
        "outbound",
        row.id,
        error=row.error,
        state=str(state),
        kind=str(kind),
    )


def _may_have_arrived(exc: PlatformError) -> bool:
    """The write may have been carried out: its answer was lost or unreadable."""
    return isinstance(exc, Unavailable | MalformedPayload) and not isinstance(exc, NeverSent)


def failed(
    session: Session, adapter: Adapter | None, account: Account, row: OutboundMessage, exc: PlatformError
) -> None:
    channel = CHANNELS[row.kind]
    if isinstance(exc, AcceptedLater):  # taken, published shortly: sent, with no id yet
        sent(session, account, row, SentRef(platform_id="", text=row.text))
        return
    if isinstance(exc, Repeated) and row.in_doubt:
        # The platform refuses the text as a repeat of what this account just posted: the
        # earlier try arrived. Name it if the platform shows it, else keep it without an id.
        try:
            found = _find(adapter, row) if adapter is not None else None
        except PlatformError:
            found = None
        sent(session, account, row, found or SentRef(platform_id="", text=row.text), reconciled=True)
        return
    kind = kind_of(exc)
    waits = isinstance(exc, TokenExpired | RateLimited)  # on the account, not on this message
    if channel.on_platform and _may_have_arrived(exc):
        row.in_doubt = True
        if not channel.keyed and _lookup(adapter) is None:  # nothing can tell later whether it arrived
            _unknown(session, row, exc)
            return
    if isinstance(exc, Unconfirmed):  # the gateway may have it: a person decides
        state = DeliveryState.UNKNOWN
    elif isinstance(exc, Rejected | NotFound | Unsupported):  # a closed reply window too: final
        state = DeliveryState.FAILED
    elif row.attempts >= MAX_ATTEMPTS and not waits:
        if row.in_doubt:
            _unknown(session, row, exc)
            return
        state, kind = DeliveryState.FAILED, ErrorKind.GAVE_UP
    else:
        state = DeliveryState.RETRY
    if channel.on_platform:  # an SMS gateway's trouble says nothing of the account
        if isinstance(exc, TokenExpired):
            account.health = Health.NEEDS_REAUTH
            account.health_detail = str(exc)[:500]
        elif isinstance(exc, RateLimited):
            record_limit(session, account, exc, narrow=channel.pauses)
    settle(session, row, state, kind, str(exc))
    via = account.platform if channel.on_platform else str(row.kind)
    metrics.count_on_commit(session, "outbox_failures", {(via, str(kind)): 1})
    log.warning("sending outbound %s failed: %s", row.id, exc)


def kind_of(exc: PlatformError) -> ErrorKind:
    for cls, kind in (
        (Unconfirmed, ErrorKind.UNCONFIRMED),
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
