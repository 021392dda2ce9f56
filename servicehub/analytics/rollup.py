"""Keeping the rollup tables current: find what changed, recompute the buckets it touches.

A bucket is one account's local day (a month for fan activity). A run

1. reads what changed since the last run, a few minutes back (``[analytics]
   reread_minutes``) so a row committed late is not missed: new messages (by id), messages
   restored from review (their audit events), service requests (by ``updated_at``; a
   request whose team changed re-buckets its messages), requests whose SLA came due
   unanswered, follower snapshots, posts and their engagement snapshots;
2. recomputes each touched bucket from its source rows -- delete, aggregate, insert -- so
   reading a row twice, or running twice, changes nothing (idempotent), and a later fix to
   a source row (a restore, a transfer, a reopening) is counted the next time its bucket
   is touched;
3. moves the watermarks only after the buckets are written.

One run at a time: a PostgreSQL advisory lock (a thread lock on SQLite); a run that finds
the lock taken leaves the work to the one holding it. :func:`rebuild` empties every
rollup and recomputes all buckets (``servicehub analytics-rebuild``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Date, and_, delete, func, insert, literal, literal_column, or_, select
from sqlalchemy.orm import Session

from servicehub.adapters import registry
from servicehub.analytics import histogram
from servicehub.analytics.business import working_minutes
from servicehub.analytics.clock import Calendar, month_of, next_month, runs
from servicehub.analytics.interactions import FOLLOW, UNFOLLOW, follows_by_event, interaction, tie
from servicehub.analytics.terms import terms
from servicehub.core.bulk import insert_rows
from servicehub.core.db import is_postgres, utcnow
from servicehub.core.lookup import chunks, one_of
from servicehub.core.models import (
    OPEN_STATES,
    Account,
    AnalyticsWatermark,
    AuditEvent,
    CustomerIdentity,
    EngagementSnapshot,
    FanMonthly,
    FanMonthlyAll,
    FansDaily,
    FollowerSnapshot,
    KeywordDaily,
    KeywordMonthly,
    Message,
    MessageDaily,
    OutboundKind,
    OutboundMessage,
    PostFact,
    RequestFact,
    ServiceDaily,
    ServiceMonthly,
    ServiceRequest,
    TieDaily,
    User,
)
from servicehub.core.runtime import Runtime

log = logging.getLogger(__name__)

LOCK_KEY = 7_115_015  # pg advisory lock of the rollup
CHUNK_DAYS = 31
READ_BATCH = 20_000
KEEP_POSITIONS = 24
ROLLUP_TABLES = (
    "analytics_message_daily",
    "analytics_keyword_daily",
    "analytics_keyword_monthly",
    "analytics_tie_daily",
    "analytics_fan_monthly",
    "analytics_fan_monthly_all",
    "analytics_request_facts",
    "analytics_service_daily",
    "analytics_service_monthly",
    "analytics_fans_daily",
    "analytics_post_facts",
)
ALL_TEAMS = 0  # KeywordDaily.team_id of a day's keywords over all of its messages
TEAM_KEYWORDS = 30  # keywords kept per team and day

_local_lock = threading.Lock()

Days = dict[int, set[date]]  # account id -> local days


@dataclass
class RollupReport:
    ran: bool = True
    message_days: int = 0
    service_days: int = 0
    fan_days: int = 0
    requests: int = 0
    posts: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        if not self.ran:
            return "another rollup run holds the lock; nothing done"
        return (
            f"{self.message_days} message days, {self.service_days} service days, {self.fan_days} fan days, "
            f"{self.requests} requests, {self.posts} posts recomputed in {self.seconds:.1f} s"
        )


@dataclass
class _Dirty:
    messages: Days = field(default_factory=lambda: defaultdict(set))
    service: Days = field(default_factory=lambda: defaultdict(set))
    fans: Days = field(default_factory=lambda: defaultdict(set))


# -- locking and watermarks ------------------------------------------------------------------


@contextmanager
def run_lock(runtime: Runtime, *, wait: bool) -> Iterator[bool]:
    """Hold the rollup lock for the block; yields False (without waiting) when it is taken."""
    if runtime.engine.dialect.name != "postgresql":
        got = _local_lock.acquire(blocking=wait)
        try:
            yield got
        finally:
            if got:
                _local_lock.release()
        return
    with runtime.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if wait:
            conn.execute(select(func.pg_advisory_lock(LOCK_KEY)))
            got = True
        else:
            got = bool(conn.execute(select(func.pg_try_advisory_lock(LOCK_KEY))).scalar_one())
        try:
            yield got
        finally:
            if got:
                conn.execute(select(func.pg_advisory_unlock(LOCK_KEY)))


def _mark(session: Session, name: str) -> AnalyticsWatermark:
    mark = session.get(AnalyticsWatermark, name)
    if mark is None:
        mark = AnalyticsWatermark(name=name, value=0, at=None, recent=[])
        session.add(mark)
    return mark


def _id_low(mark: AnalyticsWatermark, now: datetime, reread: timedelta) -> int:
    """Where to read an id stream from: the position it had ``reread`` ago (or the oldest known)."""
    positions = [(datetime.fromisoformat(t), int(v)) for t, v in (mark.recent or [])]
    if not positions:
        return int(mark.value or 0)
    settled = [(t, v) for t, v in positions if t <= now - reread]
    return max(settled)[1] if settled else min(v for _, v in positions)


def _remember(mark: AnalyticsWatermark, now: datetime, value: int, reread: timedelta) -> None:
    positions = [(datetime.fromisoformat(t), int(v)) for t, v in (mark.recent or [])]
    if not positions:  # where the first run started, as if long ago: the next runs re-read from it
        positions.append((now - reread - timedelta(seconds=1), int(mark.value or 0)))
    positions.append((now, value))
    settled = [p for p in positions if p[0] <= now - reread]
    keep = ([max(settled)] if settled else []) + [p for p in positions if p[0] > now - reread]
    mark.recent = [[t.isoformat(), v] for t, v in keep[-KEEP_POSITIONS:]]
    mark.value = value
    mark.updated_at = now


# -- the run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Roll:
    runtime: Runtime
    cal: Calendar
    now: datetime
    reread: timedelta
    keywords_per_day: int


def _roll(runtime: Runtime, now: datetime | None) -> _Roll:
    cfg = runtime.settings.analytics
    return _Roll(
        runtime,
        Calendar.named(cfg.timezone),
        now or utcnow(),
        timedelta(minutes=cfg.reread_minutes),
        cfg.keywords_per_day,
    )


def run(runtime: Runtime, now: datetime | None = None) -> RollupReport:
    """Bring every rollup up to date with what changed since the last run."""
    started = time.perf_counter()
    with run_lock(runtime, wait=False) as got:
        if not got:
            return RollupReport(ran=False)
        roll = _roll(runtime, now)
        dirty = _Dirty()
        marks: dict[str, int] = {}
        with runtime.sessions() as session:
            marks["messages"] = _changed_messages(session, roll, dirty)
            marks["restores"] = _restored_messages(session, roll, dirty)
            marks["snapshots"] = _new_snapshots(session, roll, dirty)
            marks["engagement"], post_ids = _changed_engagement(session, roll)
            marks["posts"], more = _unfinished_posts(session)
        post_ids |= more
        requests = _refresh_requests(runtime, roll, dirty)
        report = _recompute(runtime, roll, dirty, sorted(post_ids))
        with runtime.sessions.begin() as session:
            for name in ("messages", "restores", "snapshots", "engagement"):
                _remember(_mark(session, name), roll.now, int(marks[name]), roll.reread)
            _mark(session, "posts").value = int(marks["posts"])
            _mark(session, "requests").at = roll.now
    report.requests = requests
    report.seconds = time.perf_counter() - started
    return report


def rebuild(runtime: Runtime, now: datetime | None = None) -> RollupReport:
    """Empty every rollup and recompute it from the source rows (waits for a running rollup)."""
    started = time.perf_counter()
    with run_lock(runtime, wait=True):
        roll = _roll(runtime, now)
        with runtime.sessions.begin() as session:
            for model in (
                MessageDaily,
                KeywordDaily,
                KeywordMonthly,
                TieDaily,
                FanMonthly,
                FanMonthlyAll,
                ServiceDaily,
                ServiceMonthly,
                FansDaily,
                PostFact,
            ):
                session.execute(delete(model))
            session.execute(delete(RequestFact))
            session.execute(delete(AnalyticsWatermark))
            tops = {
                "messages": session.scalar(select(func.max(Message.id))) or 0,
                "restores": session.scalar(select(func.max(AuditEvent.id))) or 0,
                "snapshots": session.scalar(select(func.max(FollowerSnapshot.id))) or 0,
                "engagement": session.scalar(select(func.max(EngagementSnapshot.id))) or 0,
            }
        dirty = _Dirty()
        requests = _refresh_requests(runtime, roll, dirty, everything=True)
        with runtime.sessions() as session:
            spans = session.execute(
                select(
                    Message.account_id, func.min(Message.created_at), func.max(Message.created_at)
                ).group_by(Message.account_id)
            ).all()
            for account_id, first, last in spans:
                day, end = roll.cal.day_of(first), roll.cal.day_of(last)
                while day <= end:
                    dirty.messages[account_id].add(day)
                    day += timedelta(days=1)
            taken = session.execute(select(FollowerSnapshot.account_id, FollowerSnapshot.taken_at)).all()
            for account_id, at in taken:
                dirty.fans[account_id].add(roll.cal.day_of(at))
            post_ids = list(
                session.scalars(select(OutboundMessage.id).where(OutboundMessage.kind == OutboundKind.POST))
            )
            oldest_open = _oldest_unfinished(session)
        report = _recompute(runtime, roll, dirty, post_ids)
        with runtime.sessions.begin() as session:
            for name, value in tops.items():
                _remember(_mark(session, name), roll.now - roll.reread, int(value), roll.reread)
            _mark(session, "posts").value = oldest_open
            _mark(session, "requests").at = roll.now
    if runtime.engine.dialect.name == "postgresql":  # fresh tables: plan with their real sizes
        with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ROLLUP_TABLES:
                conn.exec_driver_sql(f"ANALYZE {table}")
    report.requests = requests
    report.seconds = time.perf_counter() - started
    return report


def _recompute(runtime: Runtime, roll: _Roll, dirty: _Dirty, post_ids: Sequence[int]) -> RollupReport:
    report = RollupReport()
    fan_months = {month_of(d) for days in dirty.messages.values() for d in days}
    for account_id, days in sorted(dirty.messages.items()):
        platform = _platform_of(runtime, account_id)
        for first, last in _chunked(days):
            with runtime.sessions.begin() as session:
                _recompute_messages(session, roll, account_id, first, last)
            report.message_days += (last - first).days + 1
        for month in sorted({month_of(d) for d in days}):
            with runtime.sessions.begin() as session:
                _recompute_fan_month(session, roll, account_id, month)
                _recompute_keyword_month(session, account_id, month)
        if platform is not None and follows_by_event(platform):
            dirty.fans[account_id] |= days
    for month in sorted(fan_months):
        with runtime.sessions.begin() as session:
            _recompute_fans_of_all(session, month)
    for account_id, days in sorted(dirty.service.items()):
        for first, last in _chunked(days):
            with runtime.sessions.begin() as session:
                _recompute_service(session, account_id, first, last)
            report.service_days += (last - first).days + 1
        for month in sorted({month_of(d) for d in days}):
            with runtime.sessions.begin() as session:
                _recompute_service_month(session, account_id, month)
    for account_id, days in sorted(dirty.fans.items()):
        platform = _platform_of(runtime, account_id)
        for first, last in _chunked(days):
            with runtime.sessions.begin() as session:
                _recompute_fans(session, roll, account_id, platform, first, last)
            report.fan_days += (last - first).days + 1
    for part in chunks(list(post_ids), 2000):
        with runtime.sessions.begin() as session:
            report.posts += _recompute_posts(session, roll, part)
    return report


def _chunked(days: Iterable[date]) -> list[tuple[date, date]]:
    pieces = []
    for first, last in runs(sorted(days)):
        while (last - first).days >= CHUNK_DAYS:
            pieces.append((first, first + timedelta(days=CHUNK_DAYS - 1)))
            first += timedelta(days=CHUNK_DAYS)
        pieces.append((first, last))
    return pieces


def _platform_of(runtime: Runtime, account_id: int) -> str | None:
    with runtime.sessions() as session:
        return session.scalar(select(Account.platform).where(Account.id == account_id))


# -- what changed ------------------------------------------------------------------------------


def _changed_messages(session: Session, roll: _Roll, dirty: _Dirty) -> int:
    """Days of messages stored since the last run (and ``reread`` before it); the top id."""
    low = _id_low(_mark(session, "messages"), roll.now, roll.reread)
    top = low
    while True:
        rows = session.execute(
            select(Message.id, Message.account_id, Message.created_at)
            .where(Message.id > top)
            .order_by(Message.id)
            .limit(READ_BATCH)
        ).all()
        if not rows:
            return top
        for _, account_id, created_at in rows:
            dirty.messages[account_id].add(roll.cal.day_of(created_at))
        top = rows[-1][0]


def _restored_messages(session: Session, roll: _Roll, dirty: _Dirty) -> int:
    """Days of messages whose verdict a reviewer changed (audited as ``message.restored``)."""
    low = _id_low(_mark(session, "restores"), roll.now, roll.reread)
    top = session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.id > low)) or low
    ids = [
        int(object_id)
        for object_id in session.scalars(
            select(AuditEvent.object_id).where(
                AuditEvent.id > low, AuditEvent.id <= top, AuditEvent.action == "message.restored"
            )
        )
        if str(object_id).isdigit()
    ]
    _add_message_days(session, roll, dirty, Message.id, ids)
    return int(top)


def _add_message_days(session: Session, roll: _Roll, dirty: _Dirty, column: Any, keys: Sequence[int]) -> None:
    for part in chunks(list(keys)):
        found = session.execute(
            select(Message.account_id, Message.created_at).where(one_of(session, column, part))
        )
        for account_id, created_at in found:
            dirty.messages[account_id].add(roll.cal.day_of(created_at))


def _new_snapshots(session: Session, roll: _Roll, dirty: _Dirty) -> int:
    low = _id_low(_mark(session, "snapshots"), roll.now, roll.reread)
    rows = session.execute(
        select(FollowerSnapshot.id, FollowerSnapshot.account_id, FollowerSnapshot.taken_at).where(
            FollowerSnapshot.id > low
        )
    ).all()
    for _, account_id, taken_at in rows:
        dirty.fans[account_id].add(roll.cal.day_of(taken_at))
    return max([low, *(r[0] for r in rows)])


def _changed_engagement(session: Session, roll: _Roll) -> tuple[int, set[int]]:
    low = _id_low(_mark(session, "engagement"), roll.now, roll.reread)
    rows = session.execute(
        select(EngagementSnapshot.id, EngagementSnapshot.outbound_id).where(EngagementSnapshot.id > low)
    ).all()
    return max([low, *(r[0] for r in rows)]), {r[1] for r in rows}


def _oldest_unfinished(session: Session) -> int:
    """The id from which posts may still change (queued, sending, retrying): where to look next."""
    pending = session.scalar(
        select(func.min(OutboundMessage.id)).where(
            OutboundMessage.kind == OutboundKind.POST,
            OutboundMessage.state.not_in(("sent", "failed")),
        )
    )
    if pending is not None:
        return int(pending)
    return int(session.scalar(select(func.max(OutboundMessage.id))) or 0) + 1


def _unfinished_posts(session: Session) -> tuple[int, set[int]]:
    """Posts created or still in flight since the last run; the new low-water mark."""
    low = int(_mark(session, "posts").value or 0)
    ids = set(
        session.scalars(
            select(OutboundMessage.id).where(
                OutboundMessage.id >= low, OutboundMessage.kind == OutboundKind.POST
            )
        )
    )
    return _oldest_unfinished(session), ids


# -- service requests -> facts -----------------------------------------------------------------

_REQUEST_COLUMNS = (
    ServiceRequest.id,
    ServiceRequest.account_id,
    ServiceRequest.team_id,
    ServiceRequest.assignee_id,
    ServiceRequest.state,
    ServiceRequest.created_at,
    ServiceRequest.updated_at,
    ServiceRequest.first_response_at,
    ServiceRequest.resolved_at,
    ServiceRequest.due_at,
)
_FACT_FIELDS = (
    "account_id",
    "team_id",
    "assignee_id",
    "created_at",
    "created_day",
    "responded_day",
    "first_response_minutes",
    "resolved_day",
    "resolution_minutes",
    "due_at",
    "sla_day",
    "sla_met",
    "is_open",
)
_FACT_DAYS = ("created_day", "responded_day", "resolved_day", "sla_day")


def request_fact(row: Any, shifts: Sequence[dict[str, Any]], cal: Calendar, now: datetime) -> dict[str, Any]:
    """How the service figures count one request (see :class:`RequestFact`)."""
    is_open = row.state in OPEN_STATES
    fact: dict[str, Any] = {
        "request_id": row.id,
        "account_id": row.account_id,
        "team_id": row.team_id,
        "assignee_id": row.assignee_id,
        "created_at": row.created_at,
        "created_day": cal.day_of(row.created_at),
        "responded_day": None,
        "first_response_minutes": None,
        "resolved_day": None,
        "resolution_minutes": None,
        "due_at": row.due_at,
        "sla_day": None,
        "sla_met": None,
        "is_open": is_open,
    }
    if row.first_response_at is not None:
        fact["responded_day"] = cal.day_of(row.first_response_at)
        fact["first_response_minutes"] = working_minutes(shifts, row.created_at, row.first_response_at)
    resolved_at = None if is_open else (row.resolved_at or row.updated_at)
    if resolved_at is not None:
        fact["resolved_day"] = cal.day_of(resolved_at)
        fact["resolution_minutes"] = working_minutes(shifts, row.created_at, resolved_at)
    answered = row.first_response_at or resolved_at
    if row.due_at is not None:
        if answered is not None and (answered <= row.due_at or row.due_at > now):
            fact["sla_day"], fact["sla_met"] = cal.day_of(answered), answered <= row.due_at
        elif answered is not None or row.due_at <= now:
            fact["sla_day"], fact["sla_met"] = cal.day_of(row.due_at), False
    return fact


def _refresh_requests(runtime: Runtime, roll: _Roll, dirty: _Dirty, *, everything: bool = False) -> int:
    """Recompute the facts of requests changed since the last run; mark the days they move."""
    with runtime.sessions() as session:
        since = None if everything else _mark(session, "requests").at
        if everything or since is None:
            ids: list[int] = list(session.scalars(select(ServiceRequest.id).order_by(ServiceRequest.id)))
        else:
            changed = select(ServiceRequest.id).where(ServiceRequest.updated_at >= since - roll.reread)
            due = select(RequestFact.request_id).where(
                RequestFact.sla_met.is_(None), RequestFact.due_at <= roll.now
            )
            ids = sorted(set(session.scalars(changed)) | set(session.scalars(due)))
        shifts = {uid: list(s or []) for uid, s in session.execute(select(User.id, User.shifts))}
    moved_team: list[int] = []
    for part in chunks(ids, 2000):
        with runtime.sessions.begin() as session:
            rows = session.execute(
                select(*_REQUEST_COLUMNS).where(one_of(session, ServiceRequest.id, part))
            ).all()
            old = {
                f.request_id: f
                for f in session.scalars(
                    select(RequestFact).where(one_of(session, RequestFact.request_id, part))
                )
            }
            fresh = []
            for row in rows:
                fact = request_fact(
                    row, shifts.get(row.assignee_id, []) if row.assignee_id else [], roll.cal, roll.now
                )
                before = old.get(row.id)
                if before is not None and all(getattr(before, k) == fact[k] for k in _FACT_FIELDS):
                    continue
                fresh.append(fact)
                for column in _FACT_DAYS:
                    for source in (fact, None if before is None else before.__dict__):
                        if source is not None and source.get(column) is not None:
                            dirty.service[fact["account_id"]].add(source[column])
                if (before.team_id if before is not None else None) != fact["team_id"]:
                    moved_team.append(row.id)
            if fresh:
                stale = [f["request_id"] for f in fresh if f["request_id"] in old]
                for piece in chunks(stale):
                    session.execute(delete(RequestFact).where(one_of(session, RequestFact.request_id, piece)))
                session.expunge_all()
                insert_rows(session, RequestFact, fresh)
    if moved_team and not everything:
        with runtime.sessions() as session:
            _add_message_days(session, roll, dirty, Message.request_id, moved_team)
    return len(ids)


# -- recomputing buckets ---------------------------------------------------------------------


def _local_day(session: Session, column: Any, offset: timedelta) -> ColumnElement[str]:
    """SQL: the local day (``YYYY-MM-DD``) of a UTC timestamp column, at a constant offset."""
    seconds = int(offset.total_seconds())
    if is_postgres(session):
        shifted = column + literal_column(f"interval '{seconds} seconds'")
        return func.to_char(shifted, "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column, f"{seconds:+d} seconds")


def _recompute_messages(session: Session, roll: _Roll, account_id: int, first: date, last: date) -> None:
    """Message counts, keywords and ties of one account's days ``first`` .. ``last``."""
    start, end = roll.cal.span(first, last)
    in_days = and_(MessageDaily.account_id == account_id, MessageDaily.day >= first, MessageDaily.day <= last)
    session.execute(delete(MessageDaily).where(in_days))
    session.execute(
        delete(KeywordDaily).where(
            KeywordDaily.account_id == account_id, KeywordDaily.day >= first, KeywordDaily.day <= last
        )
    )
    session.execute(
        delete(TieDaily).where(TieDaily.account_id == account_id, TieDaily.day >= first, TieDaily.day <= last)
    )
    kind = interaction()
    counts: list[dict[str, Any]] = []
    for piece_start, piece_end, offset in roll.cal.constant_offsets(start, end):
        day = _local_day(session, Message.created_at, offset)
        sentiment = func.coalesce(Message.sentiment_label, "")
        reason = func.coalesce(Message.drop_reason, "")
        found = session.execute(
            select(day, ServiceRequest.team_id, kind, sentiment, reason, func.count())
            .select_from(Message)
            .outerjoin(ServiceRequest, ServiceRequest.id == Message.request_id)
            .where(
                Message.account_id == account_id,
                Message.created_at >= piece_start,
                Message.created_at < piece_end,
            )
            .group_by(day, ServiceRequest.team_id, kind, sentiment, reason)
        ).all()
        counts.extend(
            {
                "day": date.fromisoformat(d),
                "account_id": account_id,
                "team_id": team,
                "interaction": what,
                "sentiment": feeling or "",
                "drop_reason": why or "",
                "messages": n,
            }
            for d, team, what, feeling, why, n in found
        )
    insert_rows(session, MessageDaily, counts)
    _words_and_ties(session, roll, account_id, start, end)


def _words_and_ties(session: Session, roll: _Roll, account_id: int, start: datetime, end: datetime) -> None:
    """Keywords per (day, team) and ties between customers, from the kept messages' texts."""
    tie_kind, tie_uid = tie()
    stmt = (
        select(
            Message.created_at,
            Message.customer_id,
            Message.platform,
            Message.text,
            ServiceRequest.team_id,
            tie_kind,
            tie_uid,
        )
        .select_from(Message)
        .outerjoin(ServiceRequest, ServiceRequest.id == Message.request_id)
        .where(
            Message.account_id == account_id,
            Message.created_at >= start,
            Message.created_at < end,
            Message.keep.is_(True),
        )
    )
    words: Counter[tuple[date, int, str]] = Counter()
    pending: list[tuple[date, int, str, str, str, str]] = []  # day, source, platform, kind, by, key
    for created_at, customer_id, platform, text, team_id, kind, uid in session.execute(
        stmt.execution_options(yield_per=5000)
    ):
        day = roll.cal.day_of(created_at)
        for word in terms(text or ""):
            words[(day, ALL_TEAMS, word)] += 1
            if team_id is not None:
                words[(day, team_id, word)] += 1
        if customer_id is None:
            continue
        named: set[tuple[str, str, str]] = set()
        if kind is not None and uid:
            named.add((str(kind), "uid", str(uid)))
        for means, name in registry.text_ties(platform, text or ""):
            named.add((means, "name", name))
        pending.extend((day, customer_id, platform, means, by, key) for means, by, key in named)
    rows: list[dict[str, Any]] = []
    by_bucket: dict[tuple[date, int], list[tuple[int, str]]] = defaultdict(list)
    for (day, team_id, word), n in words.items():
        by_bucket[(day, team_id)].append((n, word))
    for (day, team_id), found in by_bucket.items():
        found.sort(key=lambda item: (-item[0], item[1]))
        keep = roll.keywords_per_day if team_id == ALL_TEAMS else TEAM_KEYWORDS
        rows.extend(
            {"day": day, "account_id": account_id, "team_id": team_id, "keyword": word, "messages": n}
            for n, word in found[:keep]
        )
    insert_rows(session, KeywordDaily, rows)
    insert_rows(session, TieDaily, _resolved_ties(session, account_id, pending))


def _resolved_ties(
    session: Session, account_id: int, pending: list[tuple[date, int, str, str, str, str]]
) -> list[dict[str, Any]]:
    """Ties whose other end is a known customer (by platform uid or screen name), counted."""
    if not pending:
        return []
    uids = {(p, key) for _, _, p, _, by, key in pending if by == "uid"}
    names = {(p, key) for _, _, p, _, by, key in pending if by == "name"}
    customer_of: dict[tuple[str, str, str], int] = {}
    for platform in {p for p, _ in uids | names}:
        wanted = [key for p, key in uids if p == platform]
        for part in chunks(wanted):
            for uid, cid in session.execute(
                select(CustomerIdentity.platform_uid, CustomerIdentity.customer_id).where(
                    CustomerIdentity.platform == platform,
                    one_of(session, CustomerIdentity.platform_uid, part),
                )
            ):
                customer_of[(platform, "uid", uid)] = cid
        wanted = [key for p, key in names if p == platform]
        for part in chunks(wanted):
            for name, cid in session.execute(
                select(CustomerIdentity.screen_name, CustomerIdentity.customer_id).where(
                    CustomerIdentity.platform == platform, one_of(session, CustomerIdentity.screen_name, part)
                )
            ):
                customer_of[(platform, "name", name)] = cid
    ties: Counter[tuple[date, int, int, str]] = Counter()
    for day, source, platform, means, by, key in pending:
        target = customer_of.get((platform, by, key))
        if target is not None and target != source:
            ties[(day, source, target, means)] += 1
    return [
        {
            "day": day,
            "account_id": account_id,
            "source_customer_id": source,
            "target_customer_id": target,
            "kind": means,
            "ties": n,
        }
        for (day, source, target, means), n in ties.items()
    ]


def _recompute_fan_month(session: Session, roll: _Roll, account_id: int, month: date) -> None:
    start, end = roll.cal.start_of(month), roll.cal.start_of(next_month(month))
    session.execute(delete(FanMonthly).where(FanMonthly.account_id == account_id, FanMonthly.month == month))
    found = session.execute(
        select(
            Message.customer_id,
            func.count(),
            func.count().filter(Message.sentiment_label == "positive"),
            func.count().filter(Message.sentiment_label == "negative"),
        )
        .where(
            Message.account_id == account_id,
            Message.created_at >= start,
            Message.created_at < end,
            Message.keep.is_(True),
            Message.customer_id.is_not(None),
            Message.kind != "event",
        )
        .group_by(Message.customer_id)
    ).all()
    followers: dict[int, int] = {}
    for part in chunks([cid for cid, *_ in found]):
        for cid, count in session.execute(
            select(CustomerIdentity.customer_id, func.max(CustomerIdentity.followers_count))
            .where(one_of(session, CustomerIdentity.customer_id, part))
            .group_by(CustomerIdentity.customer_id)
        ):
            followers[int(cid)] = int(count or 0)
    insert_rows(
        session,
        FanMonthly,
        [
            {
                "month": month,
                "account_id": account_id,
                "customer_id": cid,
                "interactions": n,
                "positive": pos,
                "negative": neg,
                "followers": followers.get(int(cid or 0), 0),
            }
            for cid, n, pos, neg in found
        ],
    )


def _recompute_service(session: Session, account_id: int, first: date, last: date) -> None:
    """Service figures of one account's days from the request facts that touch them."""
    between = [getattr(RequestFact, c).between(first, last) for c in _FACT_DAYS]
    facts = session.execute(
        select(
            RequestFact.team_id,
            RequestFact.assignee_id,
            RequestFact.created_day,
            RequestFact.responded_day,
            RequestFact.first_response_minutes,
            RequestFact.resolved_day,
            RequestFact.resolution_minutes,
            RequestFact.sla_day,
            RequestFact.sla_met,
        ).where(RequestFact.account_id == account_id, or_(*between))
    )
    keyed: dict[tuple[date, int | None, int | None], dict[str, Any]] = {}

    def bucket(day: date, fact: Any) -> dict[str, Any]:
        key = (day, fact.team_id, fact.assignee_id)
        if key not in keyed:
            keyed[key] = {
                "received": 0,
                "responded": 0,
                "resolved": 0,
                "sla_due": 0,
                "sla_met": 0,
                "frt": [],
                "res": [],
            }
        return keyed[key]

    def inside(day: date | None) -> bool:
        return day is not None and first <= day <= last

    for fact in facts:
        if inside(fact.created_day):
            bucket(fact.created_day, fact)["received"] += 1
        if inside(fact.responded_day) and fact.responded_day is not None:
            b = bucket(fact.responded_day, fact)
            b["responded"] += 1
            b["frt"].append(fact.first_response_minutes or 0)
        if inside(fact.resolved_day) and fact.resolved_day is not None:
            b = bucket(fact.resolved_day, fact)
            b["resolved"] += 1
            b["res"].append(fact.resolution_minutes or 0)
        if inside(fact.sla_day) and fact.sla_day is not None:
            b = bucket(fact.sla_day, fact)
            b["sla_due"] += 1
            b["sla_met"] += 1 if fact.sla_met else 0
    session.execute(
        delete(ServiceDaily).where(
            ServiceDaily.account_id == account_id, ServiceDaily.day >= first, ServiceDaily.day <= last
        )
    )
    rows = [
        {
            "day": day,
            "account_id": account_id,
            "team_id": team_id,
            "assignee_id": assignee_id,
            "received": b["received"],
            "responded": b["responded"],
            "resolved": b["resolved"],
            "sla_due": b["sla_due"],
            "sla_met": b["sla_met"],
            "first_response_hist": histogram.pack(histogram.of(b["frt"])),
            "resolution_hist": histogram.pack(histogram.of(b["res"])),
        }
        for (day, team_id, assignee_id), b in keyed.items()
    ]
    insert_rows(session, ServiceDaily, rows)


def _recompute_fans_of_all(session: Session, month: date) -> None:
    """A month's fan activity over every account (``FanMonthly`` summed per customer)."""
    session.execute(delete(FanMonthlyAll).where(FanMonthlyAll.month == month))
    summed = (
        select(
            literal(month, Date()),
            FanMonthly.customer_id,
            func.sum(FanMonthly.interactions),
            func.sum(FanMonthly.positive),
            func.sum(FanMonthly.negative),
            func.max(FanMonthly.followers),
        )
        .where(FanMonthly.month == month)
        .group_by(FanMonthly.customer_id)
    )
    columns = ["month", "customer_id", "interactions", "positive", "negative", "followers"]
    session.execute(insert(FanMonthlyAll).from_select(columns, summed))


def _recompute_keyword_month(session: Session, account_id: int, month: date) -> None:
    """A month's keywords: the sum of its days' (each day keeps its most frequent words)."""
    end = next_month(month) - timedelta(days=1)
    session.execute(
        delete(KeywordMonthly).where(KeywordMonthly.account_id == account_id, KeywordMonthly.month == month)
    )
    total = func.sum(KeywordDaily.messages)
    summed = (
        select(literal(month, Date()), literal(account_id), KeywordDaily.team_id, KeywordDaily.keyword, total)
        .where(KeywordDaily.account_id == account_id, KeywordDaily.day >= month, KeywordDaily.day <= end)
        .group_by(KeywordDaily.team_id, KeywordDaily.keyword)
    )
    session.execute(
        insert(KeywordMonthly).from_select(["month", "account_id", "team_id", "keyword", "messages"], summed)
    )


def _recompute_service_month(session: Session, account_id: int, month: date) -> None:
    """A month's service figures per team and assignee: its days added up, histograms merged."""
    from servicehub.analytics.service import COUNTED, rows_of

    end = next_month(month) - timedelta(days=1)
    session.execute(
        delete(ServiceMonthly).where(ServiceMonthly.account_id == account_id, ServiceMonthly.month == month)
    )
    found = session.execute(
        select(
            ServiceDaily.day,
            ServiceDaily.team_id,
            ServiceDaily.assignee_id,
            *(getattr(ServiceDaily, c) for c in COUNTED),
            ServiceDaily.first_response_hist,
            ServiceDaily.resolution_hist,
        ).where(ServiceDaily.account_id == account_id, ServiceDaily.day >= month, ServiceDaily.day <= end)
    ).all()
    rows = rows_of(found)
    groups, keys = rows.keys(list(zip(rows.teams, rows.assignees, strict=True)))
    n = len(keys)
    if n == 0:
        return
    counts = [np.bincount(groups, weights=rows.counts[:, i], minlength=n) for i in range(len(COUNTED))]
    first = rows.first_response.grouped(groups, n)
    resolution = rows.resolution.grouped(groups, n)
    insert_rows(
        session,
        ServiceMonthly,
        [
            {
                "month": month,
                "account_id": account_id,
                "team_id": team_id,
                "assignee_id": assignee_id,
                **{name: int(np.rint(counts[c][i])) for c, name in enumerate(COUNTED)},
                "first_response_hist": histogram.pack(first[i]),
                "resolution_hist": histogram.pack(resolution[i]),
            }
            for i, (team_id, assignee_id) in enumerate(keys)
        ],
    )


def _recompute_fans(
    session: Session, roll: _Roll, account_id: int, platform: str | None, first: date, last: date
) -> None:
    """Followers at each day's end, fans gained and lost, of one account's days."""
    start, end = roll.cal.span(first, last)
    session.execute(
        delete(FansDaily).where(
            FansDaily.account_id == account_id, FansDaily.day >= first, FansDaily.day <= last
        )
    )
    gained: Counter[date] = Counter()
    lost: Counter[date] = Counter()
    by_event = platform is not None and follows_by_event(platform)
    if by_event:
        for day, what, n in session.execute(
            select(MessageDaily.day, MessageDaily.interaction, func.sum(MessageDaily.messages))
            .where(
                MessageDaily.account_id == account_id,
                MessageDaily.day >= first,
                MessageDaily.day <= last,
                MessageDaily.interaction.in_((FOLLOW, UNFOLLOW)),
            )
            .group_by(MessageDaily.day, MessageDaily.interaction)
        ):
            (gained if what == FOLLOW else lost)[day] += int(n)
    before = session.execute(
        select(FollowerSnapshot.followers)
        .where(FollowerSnapshot.account_id == account_id, FollowerSnapshot.taken_at < start)
        .order_by(FollowerSnapshot.taken_at.desc(), FollowerSnapshot.id.desc())
        .limit(1)
    ).scalar()
    shots = session.execute(
        select(FollowerSnapshot.taken_at, FollowerSnapshot.followers, FollowerSnapshot.new_followers)
        .where(
            FollowerSnapshot.account_id == account_id,
            FollowerSnapshot.taken_at >= start,
            FollowerSnapshot.taken_at < end,
        )
        .order_by(FollowerSnapshot.taken_at, FollowerSnapshot.id)
    ).all()
    end_of: dict[date, int] = {}
    seen_new: Counter[date] = Counter()
    start_of: dict[date, int | None] = {}
    previous = before
    for taken_at, followers, new in shots:
        day = roll.cal.day_of(taken_at)
        start_of.setdefault(day, previous if previous is not None else followers)
        end_of[day] = followers
        seen_new[day] += new or 0
        previous = followers
    for day, count in end_of.items():
        if day in gained or day in lost:
            continue  # the day's follow events count; snapshots only where there are none
        gained[day] = seen_new[day]
        lost[day] = max(0, seen_new[day] - (count - (start_of[day] or count)))
    rows = [
        {
            "day": day,
            "account_id": account_id,
            "followers": end_of.get(day),
            "gained": gained[day],
            "lost": lost[day],
        }
        for day in sorted(set(end_of) | set(gained) | set(lost))
    ]
    insert_rows(session, FansDaily, rows)


def _recompute_posts(session: Session, roll: _Roll, ids: Sequence[int]) -> int:
    """Post facts (with the latest engagement snapshot) of the given outbound ids."""
    session.execute(delete(PostFact).where(one_of(session, PostFact.outbound_id, ids)))
    posts = session.execute(
        select(
            OutboundMessage.id,
            OutboundMessage.account_id,
            OutboundMessage.target,
            OutboundMessage.sent_at,
            Account.platform,
        )
        .join(Account, Account.id == OutboundMessage.account_id)
        .where(
            one_of(session, OutboundMessage.id, ids),
            OutboundMessage.kind == OutboundKind.POST,
            OutboundMessage.state == "sent",
            OutboundMessage.sent_at.is_not(None),
        )
    ).all()
    latest: dict[int, tuple[int, int, int]] = {}
    for outbound_id, reposts, comments, likes in session.execute(
        select(
            EngagementSnapshot.outbound_id,
            EngagementSnapshot.reposts,
            EngagementSnapshot.comments,
            EngagementSnapshot.likes,
        )
        .where(one_of(session, EngagementSnapshot.outbound_id, [p.id for p in posts] or [0]))
        .order_by(EngagementSnapshot.outbound_id, EngagementSnapshot.sampled_at, EngagementSnapshot.id)
    ):
        latest[outbound_id] = (reposts, comments, likes)
    rows = []
    for post in posts:
        local = post.sent_at.astimezone(roll.cal.tz)
        reposts, comments, likes = latest.get(post.id, (0, 0, 0))
        category = (post.target or {}).get("category") if isinstance(post.target, dict) else None
        rows.append(
            {
                "outbound_id": post.id,
                "account_id": post.account_id,
                "platform": post.platform,
                "category": str(category or "")[:40],
                "sent_at": post.sent_at,
                "day": local.date(),
                "hour": local.hour,
                "weekday": local.weekday(),
                "reposts": reposts,
                "comments": comments,
                "likes": likes,
            }
        )
    insert_rows(session, PostFact, rows)
    return len(rows)
