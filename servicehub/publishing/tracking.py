"""Engagement tracking: how each sent post is received, sampled often at first, then less.

A post is sampled at the intervals of :data:`SCHEDULE` by its age (every minute in its first
ten minutes, ... every twelve hours in its first week) and then no more. The reads are the
cheap kind: Weibo's ``statuses/count`` takes up to 100 ids in one call, so an account's
posts are read together -- when any one is due, those due within half their own interval
come along, filling the call instead of each costing one later.

Tracking is the lowest budget tier (``accounts.budget``): it reads only while the account's
hourly budget is above the reserve kept for service polling, and a rate limit met while
tracking pauses tracking alone (scope :data:`TRACKING`) -- the service pollers meet a real
account-wide limit on their own calls, and no storm in these reads can stop them.

When a post's repost count rises, its reposts are read (``listener.take_reposts``) and go
through the normal filters and routing like any mention; comments on it arrive with the
account's ``comments_to_me`` polling. Samples land in ``engagement_snapshots``, which the
monitoring view and the publishing analytics read; each batch sampled tells the open monitor
pages of its publications (a live ``publication`` event on commit).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from servicehub.accounts.adapters import connected
from servicehub.accounts.budget import budget_for, may_poll
from servicehub.accounts.pauses import pause, paused, until_of
from servicehub.adapters import registry
from servicehub.adapters.base import EngagementCount, EngagementReader, engagement_reader
from servicehub.adapters.errors import PlatformError, RateLimited
from servicehub.core.db import utcnow
from servicehub.core.models import Account, EngagementSnapshot, Health, OutboundMessage, TrackedPost
from servicehub.core.runtime import Runtime
from servicehub.core.tasks import enqueue_on_commit

log = logging.getLogger(__name__)

TRACKING = "tracking"  # the pause scope of tracking reads
TIER = 2  # analytics reads: the lowest budget tier
BATCH = 100  # ids per statuses/count call
LEASE = timedelta(minutes=2)  # a claimed post is not due again before this (see _claim)
# The first sample: soon, so whoever just published sees the first reactions counted.
FIRST_SAMPLE = timedelta(seconds=30)
# (age below which, sample every): a post is followed for a week.
SCHEDULE: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(minutes=10), timedelta(minutes=1)),
    (timedelta(hours=1), timedelta(minutes=5)),
    (timedelta(hours=6), timedelta(minutes=15)),
    (timedelta(days=1), timedelta(hours=1)),
    (timedelta(days=3), timedelta(hours=3)),
    (timedelta(days=7), timedelta(hours=12)),
)


def interval(age: timedelta) -> timedelta | None:
    """How long until a post of this age is sampled again (None: no longer followed)."""
    for below, every in SCHEDULE:
        if age < below:
            return every
    return None


def follow(session: Session, account: Account, row: OutboundMessage) -> None:
    """Start following a post just sent, where the platform can count its reactions."""
    if not registry.capable(account.platform, EngagementReader) or row.platform_id is None:
        return
    if session.get(TrackedPost, row.id) is not None:
        return
    sent_at = row.sent_at or utcnow()
    session.add(
        TrackedPost(
            outbound_id=row.id,
            account_id=account.id,
            platform_id=row.platform_id,
            sent_at=sent_at,
            next_at=sent_at + FIRST_SAMPLE,
        )
    )


@dataclass
class TrackReport:
    calls: int = 0  # engagement reads made
    sampled: int = 0  # post samples taken
    skipped_accounts: int = 0  # due but not read (budget, pause, health)


def track_due(runtime: Runtime, now: datetime | None = None) -> TrackReport:
    """Sample every account's due posts once; what cannot be read now stays due."""
    now = now or utcnow()
    report = TrackReport()
    with runtime.sessions() as session:
        account_ids = list(
            session.scalars(select(TrackedPost.account_id).where(TrackedPost.next_at <= now).distinct())
        )
    for account_id in account_ids:
        _track_account(runtime, account_id, now, report)
    return report


def _readable(session: Session, account: Account, now: datetime) -> bool:
    if account.credentials is None or account.health == Health.NEEDS_REAUTH:
        return False
    if account.rate_limited_until is not None and account.rate_limited_until > now:
        return False
    return not session.scalar(select(paused(account.id, TRACKING, now)))


def batches(posts: list[TrackedPost], now: datetime) -> list[list[TrackedPost]]:
    """The reads to make: every due post, joined by those sampled before and due within half
    their interval, due ones first, in calls of :data:`BATCH`; a call holding no due post is
    not made."""
    chosen = []
    for post in posts:
        assert post.next_at is not None
        every = interval(now - post.sent_at) or timedelta(0)
        # a post not yet sampled waits for its first time (a sample of a post seconds old says
        # nothing, and would put off the first telling one by a whole interval)
        ahead = every / 2 if post.samples else timedelta(0)
        if post.next_at <= now + ahead:
            chosen.append(post)
    chosen.sort(key=lambda p: (p.next_at or now, p.outbound_id))
    calls = [chosen[i : i + BATCH] for i in range(0, len(chosen), BATCH)]
    return [c for c in calls if any(p.next_at is not None and p.next_at <= now for p in c)]


def _track_account(runtime: Runtime, account_id: int, now: datetime, report: TrackReport) -> None:
    budget = budget_for(runtime)
    per_hour = runtime.settings.listener.hourly_budget
    with runtime.sessions() as session:
        account = session.get(Account, account_id)
        if account is None or not _readable(session, account, now):
            report.skipped_accounts += 1
            return
        posts = list(
            session.scalars(
                select(TrackedPost)
                .where(TrackedPost.account_id == account_id, TrackedPost.next_at.is_not(None))
                .order_by(TrackedPost.next_at)
                .limit(BATCH * 10)
            )
        )
        for batch in batches(posts, now):
            if not may_poll(budget, account_id, tier=TIER, per_hour=per_hour):
                report.skipped_accounts += 1
                break
            if not _claim(session, batch, now):
                continue  # another worker's round has these posts
            try:
                with connected(runtime, account) as adapter:
                    budget.spend(account_id)
                    report.calls += 1
                    counts = engagement_reader(adapter).engagement([p.platform_id for p in batch])
            except RateLimited as exc:
                pause(session, account, TRACKING, until_of(exc, now), exc)
                session.commit()
                log.info("tracking of account %s paused by a rate limit: %s", account_id, exc)
                return
            except PlatformError as exc:
                log.info("tracking of account %s failed this time: %s", account_id, exc)
                return
            report.sampled += record_samples(session, runtime, batch, counts, now)
            session.commit()


def _claim(session: Session, batch: list[TrackedPost], now: datetime) -> bool:
    """Take the batch's posts for this round: each still due when we read it (unchanged
    ``next_at``) moves on by :data:`LEASE`, so an overlapping round of another worker reads
    none of them, and a round that dies leaves them due again soon."""
    claimed = session.execute(
        update(TrackedPost)
        .where(
            or_(
                *[
                    and_(TrackedPost.outbound_id == p.outbound_id, TrackedPost.next_at == p.next_at)
                    for p in batch
                ]
            )
        )
        .values(next_at=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != len(batch):  # type: ignore[attr-defined]
        session.rollback()
        return False
    session.commit()
    return True


def record_samples(
    session: Session, runtime: Runtime, batch: list[TrackedPost], counts: list[EngagementCount], now: datetime
) -> int:
    """Store one sample per post read; a post the platform no longer shows is no longer followed."""
    by_id = {c.platform_id: c for c in counts}
    for post in batch:
        count = by_id.get(post.platform_id)
        if count is None:  # deleted on the platform
            post.next_at = None
            continue
        session.add(
            EngagementSnapshot(
                outbound_id=post.outbound_id,
                sampled_at=now,
                reposts=count.reposts,
                comments=count.comments,
                likes=count.likes,
            )
        )
        if count.reposts > post.reposts:
            enqueue_on_commit(session, runtime.tasks, "listener.take_reposts", outbound_id=post.outbound_id)
        post.reposts, post.comments, post.likes = count.reposts, count.comments, count.likes
        post.samples += 1
        every = interval(now - post.sent_at)
        post.next_at = None if every is None else now + every
    _tell(session, runtime, [p.outbound_id for p in batch])
    return len(by_id)


def _tell(session: Session, runtime: Runtime, outbound_ids: list[int]) -> None:
    """One live event naming the publications whose posts were sampled: their monitor pages
    redraw the counts (a sample changes no row those pages would otherwise hear about)."""
    publication_ids = sorted(
        {
            i
            for i in session.scalars(
                select(OutboundMessage.publication_id).where(OutboundMessage.id.in_(outbound_ids))
            )
            if i is not None
        }
    )
    if publication_ids:
        runtime.publish_on_commit(session, {"type": "publication", "publication_ids": publication_ids})
