"""What part of an account waits for a platform limit, and until when.

A rate limit names what it stops (``adapters.errors.LimitScope``): the one API that met it,
every write, or the whole account. The hub pauses exactly that and nothing more:

- the whole account: its ``health`` becomes ``rate_limited`` until ``rate_limited_until``
  (no source is polled, nothing is sent);
- every write: an :class:`~servicehub.core.models.AccountPause` of scope ``writes`` (replies
  wait, polling goes on);
- one API: a pause of scope ``source:<name>`` for the polled source that met it (the other
  sources go on), or ``writes`` when a send met it.

The wait is what the platform said (``retry_after``, relative seconds), counted from this
database's clock, never from a guess at when the platform's hour ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session

from servicehub.adapters.errors import LimitScope, RateLimited
from servicehub.core.db import utcnow
from servicehub.core.models import Account, AccountPause, Health

WRITES = "writes"
MASS_SENDS = "writes:mass"  # a mass send's own daily quota: replies go on meanwhile
DEFAULT_WAIT = timedelta(minutes=15)  # a limit that said nothing about its reset


def source_scope(source: str) -> str:
    return f"source:{source}"


def until_of(exc: RateLimited, now: datetime | None = None) -> datetime:
    """When the limit ends: ``retry_after`` from now, else the platform's absolute time."""
    now = now or utcnow()
    if exc.retry_after is not None:
        return now + timedelta(seconds=exc.retry_after)
    if exc.reset_at is not None:
        return exc.reset_at
    return now + DEFAULT_WAIT


def pause(session: Session, account: Account, scope: str, until: datetime, exc: RateLimited) -> None:
    """Pause ``scope`` of ``account`` until ``until`` (replacing an earlier pause of it)."""
    row = session.get(AccountPause, (account.id, scope))
    if row is None:
        row = AccountPause(account_id=account.id, scope=scope)
        session.add(row)
    row.until, row.code, row.detail = until, exc.code, str(exc)[:500]


def record_limit(session: Session, account: Account, exc: RateLimited, *, narrow: str) -> datetime:
    """Pause what ``exc`` names; ``narrow`` is the scope a call-sized limit stops (the polled
    source, or ``writes`` for a send). Returns when the pause ends."""
    until = until_of(exc)
    if exc.scope == LimitScope.ACCOUNT:
        account.health = Health.RATE_LIMITED
        account.rate_limited_until = until
        account.health_detail = str(exc)[:500]
    else:
        pause(session, account, WRITES if exc.scope == LimitScope.WRITES else narrow, until, exc)
    return until


def paused(account_id: Any, scope: Any, now: datetime) -> ColumnElement[bool]:
    """SQL: ``scope`` of the account is paused at ``now`` (for the pollers' and senders' queries)."""
    return exists(
        select(AccountPause.account_id).where(
            and_(AccountPause.account_id == account_id, AccountPause.scope == scope, AccountPause.until > now)
        )
    )


def writes_paused_until(
    session: Session, account: Account, now: datetime, scope: str = WRITES
) -> datetime | None:
    """When the account may send again, if it may not now (whole account, or the writes of
    ``scope``: its writes, or one kind of write with a quota of its own such as mass sends)."""
    ends = []
    if account.rate_limited_until is not None and account.rate_limited_until > now:
        ends.append(account.rate_limited_until)
    row = session.get(AccountPause, (account.id, scope))
    if row is not None and row.until > now:
        ends.append(row.until)
    return max(ends) if ends else None


def active_pauses(session: Session, account_ids: list[int], now: datetime) -> dict[int, list[AccountPause]]:
    """Account id -> its pauses in force (the accounts page shows them)."""
    found: dict[int, list[AccountPause]] = {}
    if not account_ids:
        return found
    rows = session.scalars(
        select(AccountPause)
        .where(AccountPause.account_id.in_(account_ids), AccountPause.until > now)
        .order_by(AccountPause.scope)
    )
    for row in rows:
        found.setdefault(row.account_id, []).append(row)
    return found
