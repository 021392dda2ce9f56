"""Polling one source of one account: lease, fetch since the cursor, intake, advance, route.

A lease (an atomic UPDATE on the cursor row) lets only one worker poll a source at a
time; the unique key in intake makes a second poll harmless anyway. The cursor moves in
the same transaction that stores the (last chunk of the) messages, so a crash between
fetch and commit leaves the old cursor and the next poll fetches the same items again --
no gap. Each chunk's new messages are routed in its own transaction (see
:mod:`servicehub.listener.store`).

Every source has a position from its first poll on. The first poll of a newly connected
account reaches back to a horizon (``[listener] first_connect_hours`` / ``_pages``), so
the backlog the operators inherit arrives; a first poll that finds the list empty records
"nothing before now" (``LIST_START``), so a burst before the next poll is walked back in
full instead of being taken for another first poll.

A platform limit pauses what it names (``accounts.pauses``): one source, or the whole
account. A source the app has no permission for is switched off once, with its reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import literal, or_, select, update
from sqlalchemy.orm import Session

from servicehub.accounts.adapters import connected
from servicehub.accounts.budget import budget_for, may_poll, paced_interval
from servicehub.accounts.pauses import paused, record_limit, source_scope
from servicehub.accounts.sources import SOURCE_ORDER, TIER, listened_sources, switch_off
from servicehub.adapters.base import LIST_START, FetchResult, Horizon, InboundItem, Source, source_fetcher
from servicehub.adapters.errors import (
    MalformedPayload,
    PermissionMissing,
    PlatformError,
    RateLimited,
    TokenExpired,
    Unavailable,
)
from servicehub.core import audit
from servicehub.core.db import utcnow
from servicehub.core.models import Account, Health, PollCursor
from servicehub.core.runtime import Runtime
from servicehub.listener.filtering import chain_for
from servicehub.listener.store import store_and_route

log = logging.getLogger(__name__)

# Items taken in (and routed) per transaction: big enough to amortize every statement,
# small enough that a burst's first requests reach operators while the rest is filtered.
INTAKE_CHUNK = 2000


@dataclass(frozen=True)
class PollOutcome:
    cursor_id: int
    fetched: int = 0
    stored: int = 0
    error: str = ""


def due_cursors(session: Session, now: datetime, limit: int = 100) -> list[int]:
    stmt = (
        select(PollCursor.id)
        .join(Account, Account.id == PollCursor.account_id)
        .where(
            PollCursor.next_poll_at <= now,
            or_(PollCursor.leased_until.is_(None), PollCursor.leased_until < now),
            Account.health != Health.NEEDS_REAUTH,
            or_(Account.rate_limited_until.is_(None), Account.rate_limited_until <= now),
            ~paused(PollCursor.account_id, literal("source:") + PollCursor.source, now),
        )
        .order_by(PollCursor.next_poll_at)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def take_lease(runtime: Runtime, cursor_id: int) -> bool:
    now = utcnow()
    until = now + timedelta(seconds=runtime.settings.listener.lease_seconds)
    with runtime.sessions.begin() as session:
        result = session.execute(
            update(PollCursor)
            .where(
                PollCursor.id == cursor_id,
                or_(PollCursor.leased_until.is_(None), PollCursor.leased_until < now),
            )
            .values(leased_until=until)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def poll_cursor(runtime: Runtime, cursor_id: int) -> PollOutcome:
    """Poll one (account, source) if its lease can be taken; safe to call twice.

    A failure inside the hub (not the platform's: a bug, a database fault) is caught here,
    logged with its traceback, and shown on the accounts page (the source's error and the
    account's intake error) until a poll succeeds; the source is tried again after the
    longest interval. Nothing the failed poll fetched is lost: its cursor did not move.
    """
    if not take_lease(runtime, cursor_id):
        return PollOutcome(cursor_id, error="leased by another worker")
    try:
        return _poll(runtime, cursor_id)
    except Exception as exc:
        log.exception("polling cursor %s failed inside the hub", cursor_id)
        _record_breakdown(runtime, cursor_id, exc)
        return PollOutcome(cursor_id, error=f"{type(exc).__name__}: {exc}")


def _poll(runtime: Runtime, cursor_id: int) -> PollOutcome:
    with runtime.sessions() as session:
        cursor = session.get(PollCursor, cursor_id)
        account = session.get(Account, cursor.account_id) if cursor else None
        if cursor is None or account is None:
            return PollOutcome(cursor_id, error="cursor gone")
        if cursor.source not in listened_sources(account):  # switched off: keep the cursor, don't poll
            _release(session, cursor, interval=runtime.settings.listener.max_interval_seconds)
            session.commit()
            return PollOutcome(cursor_id, error="switched off")
        budget = budget_for(runtime)
        per_hour = runtime.settings.listener.hourly_budget
        if not may_poll(budget, account.id, tier=TIER[Source(cursor.source)], per_hour=per_hour):
            wait = paced_interval(runtime.settings.listener.poll_interval_seconds, 3600.0, 0, 1, time.time())
            _release(session, cursor, interval=wait, error="hourly API budget spent", kind="budget")
            session.commit()
            return PollOutcome(cursor_id, error="budget")
        try:
            with connected(runtime, account) as adapter:
                fetch = source_fetcher(adapter, Source(cursor.source))
                result = None if fetch is None else _fetch(runtime, fetch, cursor)
        except PlatformError as exc:
            budget.spend(account.id)
            session.rollback()
            _record_failure(session, runtime, account, cursor, exc)
            session.commit()
            return PollOutcome(cursor_id, error=str(exc))
        if result is None:
            missing = f"{account.platform} has no {cursor.source} source"
            _release(session, cursor, interval=3600.0, error=missing, kind="unsupported")
            session.commit()
            return PollOutcome(cursor_id, error="unsupported source")
        remaining = budget.spend(account.id, max(result.pages, 1))
        stored = _store_in_chunks(session, runtime, account, cursor, result.items)
        _advance(cursor, result)
        _release(session, cursor, interval=_next_interval(runtime, cursor, len(result.items), remaining))
        if account.health != Health.OK:
            account.health, account.health_detail, account.rate_limited_until = Health.OK, "", None
        if account.intake_error:
            account.intake_error, account.intake_failed_at = "", None
        session.commit()
        return PollOutcome(cursor_id, fetched=len(result.items), stored=stored)


def first_connect_horizon(runtime: Runtime, now: datetime | None = None) -> Horizon:
    """How far back the first poll of a source reaches (``[listener] first_connect_*``)."""
    cfg = runtime.settings.listener
    return Horizon(
        not_before=(now or utcnow()) - timedelta(hours=cfg.first_connect_hours),
        max_pages=max(1, cfg.first_connect_pages),
    )


def _fetch(runtime: Runtime, fetch: Callable[..., FetchResult], cursor: PollCursor) -> FetchResult:
    if cursor.cursor is None and cursor.gap_max_id is None:  # the account's first connection
        return fetch(None, horizon=first_connect_horizon(runtime))
    return fetch(cursor.cursor, max_id=cursor.gap_max_id)


def _record_breakdown(runtime: Runtime, cursor_id: int, exc: Exception) -> None:
    """Show an intake failure inside the hub where an administrator looks (see poll_cursor)."""
    detail = f"{type(exc).__name__}: {exc}"[:500]
    with runtime.sessions.begin() as session:
        cursor = session.get(PollCursor, cursor_id)
        if cursor is None:
            return
        _release(
            session,
            cursor,
            interval=runtime.settings.listener.max_interval_seconds,
            error=detail,
            kind="internal",
        )
        account = session.get(Account, cursor.account_id)
        if account is not None:
            account.intake_error, account.intake_failed_at = detail, utcnow()


def _advance(cursor: PollCursor, result: FetchResult) -> None:
    """Move the cursor past what was fetched, never past a gap the walk left behind."""
    if cursor.gap_max_id is None:  # an ordinary walk from the newest item down
        if result.resume_max_id is None:
            # Never None after a poll: an empty list is a position too ("nothing before now").
            cursor.cursor = result.newest_id or cursor.cursor or LIST_START
        else:
            cursor.gap_newest, cursor.gap_max_id = result.newest_id, result.resume_max_id
    elif result.resume_max_id is not None:  # still inside the gap: continue lower next time
        cursor.gap_max_id = result.resume_max_id
    else:  # the gap is closed: everything up to the newest seen when it opened is stored
        cursor.cursor, cursor.gap_max_id, cursor.gap_newest = cursor.gap_newest, None, None


def _store_in_chunks(
    session: Session, runtime: Runtime, account: Account, cursor: PollCursor, items: Sequence[InboundItem]
) -> int:
    """Take in a walk oldest first, ``INTAKE_CHUNK`` items per transaction; returns how many were new.

    Every chunk but the last commits on its own (renewing the lease), so routing starts on
    the first thousand items of a large burst while the rest are still being filtered. The
    last chunk is left uncommitted: the caller moves the cursor in its transaction. A crash
    in between leaves the old cursor, and the next poll skips what was already stored.
    """
    oldest_first = list(reversed(items))
    chain = chain_for(session, runtime)
    stored = 0
    for start in range(0, max(len(oldest_first), 1), INTAKE_CHUNK):
        new = store_and_route(session, runtime, account, oldest_first[start : start + INTAKE_CHUNK], chain)
        stored += len(new.ids)
        if new.ids:
            runtime.publish_on_commit(session, {"type": "messages", "account_id": account.id})
        if start + INTAKE_CHUNK < len(oldest_first):
            lease = timedelta(seconds=runtime.settings.listener.lease_seconds)
            cursor.leased_until = utcnow() + lease
            session.commit()
    return stored


def _next_interval(runtime: Runtime, cursor: PollCursor, fetched: int, remaining: int) -> float:
    """Poll at the base rate while traffic flows, back off while quiet, and stretch the
    interval so what is left of the hour's budget lasts until the hour ends."""
    cfg = runtime.settings.listener
    paced = paced_interval(
        cfg.poll_interval_seconds, cfg.max_interval_seconds, remaining, len(SOURCE_ORDER), time.time()
    )
    if fetched:
        return paced
    return max(
        paced, min(cfg.max_interval_seconds, max(cfg.poll_interval_seconds, cursor.interval_seconds * 1.5))
    )


def _release(
    session: Session, cursor: PollCursor, *, interval: float, error: str = "", kind: str | None = None
) -> None:
    now = utcnow()
    cursor.interval_seconds = interval
    cursor.next_poll_at = now + timedelta(seconds=interval)
    cursor.last_polled_at = now
    cursor.leased_until = None
    cursor.last_error = error[:500]
    cursor.error_kind = kind if error else None


def _record_failure(
    session: Session, runtime: Runtime, account: Account, cursor: PollCursor, exc: PlatformError
) -> None:
    if isinstance(exc, TokenExpired):
        account.health = Health.NEEDS_REAUTH
        account.health_detail = str(exc)[:500]
        audit.record(session, "account.needs_reauth", "account", account.id, error=str(exc))
        _release(
            session,
            cursor,
            interval=runtime.settings.listener.poll_interval_seconds,
            error=str(exc),
            kind="token_expired",
        )
    elif isinstance(exc, RateLimited):
        # Only what the limit names waits: this source, or (a spent quota) the account.
        until = record_limit(session, account, exc, narrow=source_scope(cursor.source))
        _release(
            session,
            cursor,
            interval=max(1.0, (until - utcnow()).total_seconds()),
            error=str(exc),
            kind="rate_limited",
        )
    elif isinstance(exc, PermissionMissing):
        # The app may not read this source (Weibo direct_messages without the advanced
        # permission: 10014 on every poll). Stop asking, once, and say why on the accounts page.
        switch_off(account, cursor.source, "permission", str(exc))
        audit.record(
            session,
            "account.source_switched_off",
            "account",
            account.id,
            source=cursor.source,
            reason="permission",
            error=str(exc)[:300],
        )
        _release(
            session,
            cursor,
            interval=runtime.settings.listener.max_interval_seconds,
            error=str(exc),
            kind="permission",
        )
    elif isinstance(exc, Unavailable):
        backoff = min(runtime.settings.listener.max_interval_seconds, max(cursor.interval_seconds, 1.0) * 2)
        _release(session, cursor, interval=backoff, error=str(exc), kind="unavailable")
    else:
        kind = "malformed" if isinstance(exc, MalformedPayload) else "rejected"
        _release(
            session,
            cursor,
            interval=runtime.settings.listener.max_interval_seconds,
            error=str(exc),
            kind=kind,
        )
    log.warning("polling %s/%s failed: %s", account.display_name, cursor.source, exc)
