"""Follower snapshots: each account's follower count, read every hour within its API budget.

One call per account and run (the first, newest-first page of its followers, which also
carries the total), made only while the account's hourly budget is above the reserve the
lowest tier leaves to customer-facing polling (``accounts.budget.RESERVE[2]``). Fans on
that page not listed before count as new (the very first snapshot cannot tell, and says
so with ``new_followers`` None). The accounts an account follows are read the same way,
once a day, where the platform reveals them. Platforms whose adapter cannot list followers
(WeChat official accounts) are skipped: their fans are counted from follow events.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from servicehub.accounts.adapters import connected
from servicehub.accounts.budget import budget_for, may_poll
from servicehub.adapters import registry
from servicehub.adapters.base import FollowerPage, PlatformUser, fan_graph_reader, following_reader
from servicehub.adapters.errors import PlatformError
from servicehub.core.db import utcnow
from servicehub.core.models import Account, Followed, Follower, FollowerSnapshot, Health
from servicehub.core.runtime import Runtime

log = logging.getLogger(__name__)

TIER = 2  # analytics reads: the lowest budget tier
FOLLOWING_EVERY = timedelta(days=1)


def take_snapshots(runtime: Runtime, now: datetime | None = None) -> int:
    """Snapshot every account that can be read now; returns how many were taken."""
    now = now or utcnow()
    budget = budget_for(runtime)
    per_hour = runtime.settings.listener.hourly_budget
    with runtime.sessions() as session:
        accounts = list(
            session.scalars(
                select(Account).where(Account.credentials.is_not(None), Account.health != Health.NEEDS_REAUTH)
            )
        )
    taken = 0
    for account in accounts:
        if not registry.reads_followers(account.platform):
            continue
        if not may_poll(budget, account.id, tier=TIER, per_hour=per_hour):
            continue
        try:
            with connected(runtime, account) as adapter:
                budget.spend(account.id)
                page = fan_graph_reader(adapter).followers(0)
        except PlatformError as exc:
            log.info("follower snapshot of account %s skipped: %s", account.id, exc)
            continue
        with runtime.sessions.begin() as session:
            record_snapshot(session, account.id, page, now)
        taken += 1
        if (
            registry.reads_following(account.platform)
            and _following_due(runtime, account.id, now)
            and may_poll(budget, account.id, tier=TIER, per_hour=per_hour)
        ):
            _read_following(runtime, account, now)
    return taken


def record_snapshot(session: Session, account_id: int, page: FollowerPage, now: datetime) -> FollowerSnapshot:
    """Store one follower page: the count, the fans it lists, how many of them are new."""
    had_before = session.scalar(
        select(func.count()).select_from(FollowerSnapshot).where(FollowerSnapshot.account_id == account_id)
    )
    known = _upsert_users(session, Follower, account_id, page.users, now)
    new = len([u for u in page.users if u.uid not in known])
    snapshot = FollowerSnapshot(
        account_id=account_id, taken_at=now, followers=page.total, new_followers=new if had_before else None
    )
    session.add(snapshot)
    return snapshot


def _upsert_users(
    session: Session,
    model: type[Follower] | type[Followed],
    account_id: int,
    users: Sequence[PlatformUser],
    now: datetime,
) -> set[str]:
    """Insert or refresh the listed users; returns the uids that were known before."""
    uids = [u.uid for u in users]
    existing: dict[str, Any] = {
        row.platform_uid: row
        for row in session.scalars(
            select(model).where(model.account_id == account_id, model.platform_uid.in_(uids))
        ).all()
        if isinstance(row, Follower | Followed)
    }
    for user in users:
        row = existing.get(user.uid)
        if row is None:
            session.add(
                model(
                    account_id=account_id,
                    platform_uid=user.uid,
                    screen_name=user.screen_name[:120],
                    followers_count=user.followers_count,
                    first_seen_at=now,
                    last_seen_at=now,
                )
            )
        else:
            row.last_seen_at = now
            row.screen_name = user.screen_name[:120] or row.screen_name
            if user.followers_count is not None:
                row.followers_count = user.followers_count
    return set(existing)


def _following_due(runtime: Runtime, account_id: int, now: datetime) -> bool:
    with runtime.sessions() as session:
        last = session.scalar(
            select(func.max(Followed.last_seen_at)).where(Followed.account_id == account_id)
        )
    return last is None or last <= now - FOLLOWING_EVERY


def _read_following(runtime: Runtime, account: Account, now: datetime) -> None:
    try:
        with connected(runtime, account) as adapter:
            budget_for(runtime).spend(account.id)
            page = following_reader(adapter).following(0)
    except PlatformError as exc:
        log.info("followed accounts of account %s not read: %s", account.id, exc)
        return
    with runtime.sessions.begin() as session:
        _upsert_users(session, Followed, account.id, page.users, now)
        if page.next_cursor == 0:  # the whole list: who is not on it is no longer followed
            session.execute(
                delete(Followed).where(
                    Followed.account_id == account.id,
                    Followed.platform_uid.not_in([u.uid for u in page.users] or [""]),
                )
            )
