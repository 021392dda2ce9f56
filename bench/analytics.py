# ruff: noqa: E501 -- the generating SQL reads better unwrapped
"""Analytics dashboards over millions of messages, beside the same figures from the raw rows.

    .venv/bin/python bench/analytics.py [--messages 10000000] [--days 365] [--accounts 20]
                                        [--database URL] [--keep] [--repeat 5]

Creates a throw-away database on the machine's PostgreSQL (HUB_TEST_PG) -- or uses
``--database`` (an existing bench database is reused as it is: no new rows, no rebuild unless
``--rebuild``) -- then:

1. seeds two companies, managers, three operators per account (a third of them with office
   hours), four teams and ``--accounts`` accounts (two WeChat, a fifth operated by a partner);
2. writes the rows with ``INSERT ... SELECT generate_series`` (secondary indexes and FK
   triggers off meanwhile, rebuilt after): customers with a heavy-tailed activity, service
   requests over ``--days`` days with response and resolution delays (all but the last two
   weeks' answered and resolved), 1-4 messages per
   request (mentions, reposts, comments, replies between fans, private messages; texts of
   the simulator's corpus), dropped spam, follow events, daily follower snapshots, posts and
   their engagement samples -- ``--messages`` messages in all;
3. rebuilds every rollup (``servicehub analytics-rebuild``'s code) and times it;
4. for each dashboard and two periods (the last 30 days by day, the last 12 months by
   month) times the dashboard as the workbench calls it (median of ``--repeat`` runs, as a
   manager and as a partner supervisor) and computes the same figures from the raw rows in
   the same run (SQL over messages / requests / posts and the hub's own definitions in
   Python: business hours, nearest-rank percentiles, jieba keywords), checks the two agree
   and prints both times and their ratio.

Target: each dashboard under 1 s and at least 50x faster than the raw computation.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, or_, select, text
from sqlalchemy.engine import Connection

from bench.harness import machine, scratch_database
from servicehub.adapters import registry
from servicehub.adapters.simulator import corpus
from servicehub.analytics import histogram
from servicehub.analytics.charts import Dashboard
from servicehub.analytics.clock import Calendar, Grain, bucket_of, month_of, next_month
from servicehub.analytics.dashboards import dashboard
from servicehub.analytics.filters import Filters
from servicehub.analytics.graph import GRAPH_FANS
from servicehub.analytics.interactions import INTERACTIONS, interaction, tie
from servicehub.analytics.publishing import Tally, best_hours
from servicehub.analytics.rollup import rebuild, request_fact
from servicehub.analytics.service import AGES
from servicehub.analytics.terms import terms
from servicehub.core import migrate
from servicehub.core.models import (
    Account,
    AccountOperator,
    AnalyticsWatermark,
    Message,
    OrgKind,
    ServiceRequest,
    Team,
    User,
)
from servicehub.core.permissions import Principal, principal_for
from servicehub.core.roles import ensure_default_roles
from servicehub.core.runtime import Runtime, build_runtime
from servicehub.core.settings import load_settings
from servicehub.core.tasks import SyncRunner
from servicehub.core.users import create_user, ensure_org

PASSWORD = "bench-password"
TEXTS = 3000
SHANGHAI = Calendar.named("Asia/Shanghai")
TABLES = ("messages", "service_requests", "customers", "customer_identities", "outbound_messages")


# -- the data ----------------------------------------------------------------------------------


def seed_people(runtime: Runtime, accounts: int) -> None:
    from argon2 import PasswordHasher

    from servicehub.core import security

    security._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)  # bench logins only
    with runtime.sessions.begin() as s:
        ensure_default_roles(s)
        hq = ensure_org(s, "总部客服中心")
        partner = ensure_org(s, "华信外包", OrgKind.PARTNER)
        create_user(s, "manager", PASSWORD, org=hq, roles=["manager"], display_name="王主管")
        create_user(s, "psup", PASSWORD, org=partner, roles=["partner_supervisor"], display_name="孙主管")
        teams = [Team(name=f"团队{i}", org_id=hq.id) for i in range(1, 5)]
        s.add_all(teams)
        for index in range(accounts):
            is_partner = index % 5 == 4
            wechat = index in (3, 11)
            org = partner if is_partner else hq
            account = Account(
                platform="wechat" if wechat else "weibo",
                platform_uid=f"{1902538100 + index}" if not wechat else f"gh_bench{index}",
                display_name=f"联通客服{index + 1}",
                operated_by_org_id=org.id,
                listening={},
            )
            s.add(account)
            s.flush()
            for slot in range(3):
                user = create_user(
                    s,
                    f"op{index}_{slot}",
                    PASSWORD,
                    org=org,
                    roles=["operator"],
                    display_name=f"客服{index}-{slot}",
                )
                if slot == 0:
                    user.shifts = [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}]
                s.add(AccountOperator(account_id=account.id, user_id=user.id))


def corpus_texts(seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pools = [
        (corpus.COMPLAINTS, "negative", 42),
        (corpus.QUESTIONS + corpus.MESSAGES, "neutral", 40),
        (corpus.PRAISE, "positive", 18),
    ]
    texts = []
    for pool, label, share in pools:
        for _ in range(TEXTS * share // 100):
            texts.append((corpus.fill(rng.choice(pool), rng).replace(corpus.ACCOUNT, "联通客服"), label))
    return texts


@contextmanager
def bulk_load(conn: Connection) -> Iterator[None]:
    """Secondary indexes and unique constraints off, FK triggers off; all back afterwards."""
    names = ", ".join(f"'{t}'" for t in TABLES)
    indexes = conn.execute(
        text(
            f"SELECT schemaname, indexname, indexdef FROM pg_indexes WHERE tablename IN ({names}) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
    ).all()
    uniques = conn.execute(
        text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            f"WHERE contype = 'u' AND conrelid::regclass::text IN ({names})"
        )
    ).all()
    for _, name, _ in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    for table, name, _ in uniques:
        conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    conn.execute(text("SET session_replication_role = replica"))
    try:
        yield
    finally:
        conn.execute(text("SET session_replication_role = DEFAULT"))
        started = time.perf_counter()
        for table, name, definition in uniques:
            conn.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
        for _, _, definition in indexes:
            conn.execute(text(definition))
        print(f"  indexes rebuilt in {time.perf_counter() - started:.0f} s")


def generate(runtime: Runtime, messages: int, days: int, seed: int) -> None:
    """All the rows, in SQL; about ``messages`` messages."""
    end = SHANGHAI.start_of(SHANGHAI.day_of(datetime.now(UTC)))
    start = end - timedelta(days=days)
    customers = max(1000, messages // 25)
    requests = max(100, round(messages * 0.94 / 2.5))
    with runtime.engine.connect() as conn:
        accounts = conn.execute(select(Account.id, Account.platform).order_by(Account.id)).all()
        n_accounts = len(accounts)
        conn.execute(text("CREATE TEMP TABLE bench_texts (id int PRIMARY KEY, text text, sentiment text)"))
        conn.execute(
            text("INSERT INTO bench_texts VALUES (:id, :text, :sentiment)"),
            [{"id": i + 1, "text": t, "sentiment": s} for i, (t, s) in enumerate(corpus_texts(seed))],
        )
        n_texts = conn.execute(text("SELECT count(*) FROM bench_texts")).scalar_one()
        conn.execute(
            text(
                "CREATE TEMP TABLE bench_ops AS SELECT o.account_id, "
                "row_number() OVER (PARTITION BY o.account_id ORDER BY o.user_id) - 1 AS slot, o.user_id "
                "FROM account_operators o"
            )
        )
        conn.execute(text("CREATE INDEX ON bench_ops (account_id, slot)"))
        conn.execute(text("CREATE TEMP TABLE bench_accounts AS SELECT id, platform FROM accounts"))
        teams = conn.execute(select(func.min(Team.id))).scalar_one()
        conn.execute(text("SELECT setseed(:s)"), {"s": (seed % 100) / 100})
        params = {
            "C": customers,
            "R": requests,
            "A": n_accounts,
            "T": n_texts,
            "start": start.replace(tzinfo=None),
            "span": days * 86400,
            "team0": teams,
            "now": end.replace(tzinfo=None),
        }
        with bulk_load(conn):
            started = time.perf_counter()
            conn.execute(
                text(
                    "INSERT INTO customers (id, display_name, tier, tags, created_at, updated_at) "
                    "SELECT g, '客户' || g, CASE WHEN g % 97 = 0 THEN 1 ELSE 0 END, '[]', :start, :start "
                    "FROM generate_series(1, :C) g"
                ),
                params,
            )
            conn.execute(
                text(
                    "INSERT INTO customer_identities (customer_id, platform, platform_uid, screen_name, "
                    "followers_count, updated_at) SELECT g, 'weibo', (1000000000 + g)::text, '客户' || g, "
                    "floor(power(10, random() * 5.5))::int, :start FROM generate_series(1, :C) g"
                ),
                params,
            )
            print(f"  {customers:,} customers in {time.perf_counter() - started:.0f} s")
            started = time.perf_counter()
            conn.execute(
                text(
                    """
                    INSERT INTO service_requests (id, account_id, customer_id, thread_key, state, priority,
                        subject, assignee_id, team_id, sentiment, message_count, created_at, updated_at,
                        last_message_at, due_at, first_response_at, resolved_at)
                    SELECT x.g, x.account_id, x.customer_id, 'b' || x.g,
                        CASE WHEN x.resolved < :now THEN 'resolved'
                             WHEN x.responded < :now THEN 'in_progress' ELSE 'assigned' END,
                        x.priority, '测试请求 ' || x.g, op.user_id,
                        CASE WHEN x.g % 10 < 3 THEN :team0 + x.g % 4 END, NULL, 1 + x.g % 4, x.created,
                        COALESCE(CASE WHEN x.resolved < :now THEN x.resolved END,
                                 CASE WHEN x.responded < :now THEN x.responded END, x.created),
                        x.created,
                        x.created + CASE WHEN x.priority = 2 THEN interval '120 minutes'
                                         ELSE interval '480 minutes' END,
                        CASE WHEN x.responded < :now THEN x.responded END,
                        CASE WHEN x.resolved < :now THEN x.resolved END
                    FROM (
                        SELECT y.*, CASE WHEN y.responded IS NOT NULL AND (y.r_resolve < 0.93 OR y.created < :now - interval '14 days')
                            THEN y.responded + (5 - ln(1 - random()) * 240) * interval '1 minute' END AS resolved
                        FROM (
                            SELECT y0.*, CASE WHEN y0.r_respond < 0.97 OR y0.created < :now - interval '14 days'
                                THEN y0.created + (1 - ln(1 - y0.r_wait)) * interval '35 minutes' END AS responded
                            FROM (
                                SELECT g, CASE WHEN random() < 0.85 THEN 1 + abs(hashint4(c0.customer_id)) % :A
                                              ELSE 1 + abs(hashint4(g)) % :A END AS account_id,
                                    c0.customer_id,
                                    CASE WHEN random() < 0.3 THEN 2 ELSE 1 END AS priority,
                                    :start + ((g - 1)::float8 / :R * :span + random() * 3600)
                                        * interval '1 second' AS created,
                                    random() AS r_respond, random() AS r_resolve, random() AS r_wait
                                FROM generate_series(1, :R) g,
                                    LATERAL (SELECT 1 + floor(:C * power(random(), 2.2))::int + 0 * g AS customer_id) c0
                            ) y0
                        ) y
                    ) x
                    JOIN bench_ops op ON op.account_id = x.account_id AND op.slot = x.g % 3
                    """
                ),
                params,
            )
            print(f"  {requests:,} requests in {time.perf_counter() - started:.0f} s")
            step = 1_000_000
            for low in range(1, requests + 1, step):
                started = time.perf_counter()
                conn.execute(
                    text(
                        """
                        INSERT INTO messages (platform, kind, platform_id, account_id, customer_id, author_uid,
                            author_name, text, created_at, received_at, thread_id, reply_target, raw, keep,
                            drop_reason, tags, sentiment, sentiment_label, duplicate_of, routed, request_id)
                        SELECT a.platform, y.kind, 'm' || r.id || '-' || k, r.account_id, r.customer_id,
                            (1000000000 + r.customer_id)::text, '客户' || r.customer_id, t.text,
                            r.created_at + (k - 1) * interval '11 minutes',
                            r.created_at + (k - 1) * interval '11 minutes' + interval '5 seconds',
                            't' || r.id, '{}', y.raw, true, NULL, '[]',
                            CASE t.sentiment WHEN 'negative' THEN 0.15 WHEN 'positive' THEN 0.85 ELSE 0.5 END,
                            t.sentiment, NULL, true, r.id
                        FROM service_requests r
                        JOIN bench_accounts a ON a.id = r.account_id
                        CROSS JOIN LATERAL generate_series(1, 1 + r.id % 4) k
                        JOIN bench_texts t ON t.id = 1 + abs(hashint4(r.id * 7 + k)) % :T
                        CROSS JOIN LATERAL (
                            SELECT CASE WHEN a.platform = 'wechat' THEN 'private_message'
                                        WHEN h < 45 THEN 'mention' WHEN h < 82 THEN 'comment'
                                        WHEN h < 90 THEN 'comment_mention' ELSE 'private_message' END AS kind,
                                   CASE WHEN a.platform = 'weibo' AND h >= 35 AND h < 45
                                        THEN json_build_object('retweeted_status', json_build_object('user',
                                             json_build_object('idstr', (1000000000 + 1 + floor(:C * power(random(), 2.2))::int)::text)))
                                        WHEN a.platform = 'weibo' AND h >= 72 AND h < 82
                                        THEN json_build_object('reply_comment', json_build_object('user',
                                             json_build_object('idstr', (1000000000 + 1 + floor(:C * power(random(), 2.2))::int)::text)))
                                        ELSE '{}'::json END AS raw
                            FROM (SELECT abs(hashint4(r.id * 13 + k)) % 100 AS h) hh
                        ) y
                        WHERE r.id BETWEEN :lo AND :hi
                        """
                    ),
                    {**params, "lo": low, "hi": min(requests, low + step - 1)},
                )
                print(
                    f"  messages of requests {low:,}-{min(requests, low + step - 1):,}: {time.perf_counter() - started:.0f} s"
                )
            started = time.perf_counter()
            extra = max(10, messages - conn.execute(text("SELECT count(*) FROM messages")).scalar_one())
            conn.execute(
                text(
                    """
                    INSERT INTO messages (platform, kind, platform_id, account_id, customer_id, author_uid,
                        author_name, text, created_at, received_at, thread_id, reply_target, raw, keep,
                        drop_reason, tags, sentiment, sentiment_label, duplicate_of, routed, request_id)
                    SELECT a.platform, CASE WHEN g % 6 = 0 THEN 'event' ELSE 'mention' END, 'x' || g, a.id,
                        1 + floor(:C * random())::int, (1000000000 + g)::text, '路人',
                        CASE WHEN g % 6 = 0 THEN '关注事件消息' ELSE '加微信领流量 100G 只要 9 元' END,
                        c.at, c.at, 'x' || g, '{}',
                        CASE WHEN g % 6 <> 0 THEN '{}'::json
                             WHEN a.platform = 'wechat' THEN json_build_object('Event',
                                  CASE WHEN g % 4 = 0 THEN 'unsubscribe' ELSE 'subscribe' END)
                             ELSE json_build_object('type', 'event', 'data', json_build_object('subtype',
                                  CASE WHEN g % 4 = 0 THEN 'unfollow' ELSE 'follow' END)) END,
                        false, CASE WHEN g % 6 = 0 THEN 'event' ELSE 'spam' END, '[]', NULL, NULL, NULL, true, NULL
                    FROM generate_series(1, :extra) g
                    JOIN bench_accounts a ON a.id = 1 + abs(hashint4(g * 31)) % :A,
                    LATERAL (SELECT :start + (random() * :span + 0 * g) * interval '1 second' AS at) c
                    """
                ),
                {**params, "extra": extra},
            )
            print(f"  {extra:,} dropped spam and follow events in {time.perf_counter() - started:.0f} s")
            conn.execute(
                text(
                    """
                    INSERT INTO outbound_messages (id, account_id, request_id, kind, target, text, idempotency_key,
                        state, platform_id, sent_text, error, attempts, created_by, created_at, sent_at)
                    SELECT 100000000 + g, a.id, NULL, 'post',
                        json_build_object('category', (ARRAY['服务公告','促销活动','资费说明','节日问候'])[1 + g % 4]),
                        '【服务公告】' || g, 'bench-post-' || g, 'sent', 'p' || g, '【服务公告】' || g, '', 1, NULL,
                        :start + (g::float8 / (:days * 6 * :A)) * :span * interval '1 second',
                        :start + (g::float8 / (:days * 6 * :A)) * :span * interval '1 second'
                    FROM generate_series(1, :days * 6 * :A) g
                    JOIN bench_accounts a ON a.id = 1 + g % :A AND a.platform = 'weibo'
                    """
                ),
                {**params, "days": days},
            )
        for table in (
            "customers",
            "customer_identities",
            "service_requests",
            "messages",
            "outbound_messages",
        ):
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
        conn.execute(
            text(
                "INSERT INTO engagement_snapshots (outbound_id, sampled_at, reposts, comments, likes) "
                "SELECT o.id, o.sent_at + h * interval '1 hour', floor(random() * 40 * h / 24)::int, "
                "floor(random() * 60 * h / 24)::int, floor(random() * 300 * h / 24)::int "
                "FROM outbound_messages o, generate_series(1, 24) h WHERE o.kind = 'post'"
            )
        )
        conn.execute(
            text(
                "INSERT INTO analytics_follower_snapshots (account_id, taken_at, followers, new_followers) "
                "SELECT a.id, :start + d * interval '1 day' + interval '1 hour', "
                "50000 + a.id * 1000 + d * 40 + floor(random() * 30)::int, 30 + floor(random() * 40)::int "
                "FROM bench_accounts a, generate_series(0, :days - 1) d WHERE a.platform = 'weibo'"
            ),
            {**params, "days": days},
        )
        conn.commit()
    with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        started = time.perf_counter()
        conn.execute(text("VACUUM ANALYZE"))
        print(f"  vacuum analyze in {time.perf_counter() - started:.0f} s")


# -- the raw side: the same figures from the rows themselves --------------------------------------


def local_day_sql() -> str:
    return "to_char(m.created_at + interval '8 hours', 'YYYY-MM-DD')"


def raw_trends(runtime: Runtime, filters: Filters) -> dict[str, Any]:
    """Kept interactions per bucket by kind and sentiment, and the top keywords, from messages."""
    start, end = SHANGHAI.span(filters.first, filters.last)
    index = {b: i for i, b in enumerate(_buckets(filters))}
    kinds = {k: [0] * len(index) for k in INTERACTIONS}
    feelings: dict[str, list[int]] = {s: [0] * len(index) for s in ("positive", "neutral", "negative", "")}
    with runtime.sessions() as s:
        day = func.to_char(Message.created_at + text("interval '8 hours'"), "YYYY-MM-DD")
        what = interaction()
        feeling = func.coalesce(Message.sentiment_label, "")
        rows = s.execute(
            select(day, what, feeling, func.count())
            .where(Message.keep.is_(True), Message.created_at >= start, Message.created_at < end)
            .group_by(day, what, feeling)
        ).all()
        for d, kind, label, n in rows:
            if kind in kinds:
                at = index[bucket_of(date.fromisoformat(d), filters.grain)]
                kinds[kind][at] += n
                feelings[label][at] += n
        words = _raw_words(s, filters)
        before = _raw_words(s, filters.previous())
    top = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    return {
        "kinds": kinds,
        "sentiments": {k: v for k, v in feelings.items() if k or any(v)},
        "keywords": [(w, n, before.get(w, 0)) for w, n in top],
    }


def _raw_words(s: Any, filters: Filters) -> Counter[str]:
    start, end = SHANGHAI.span(filters.first, filters.last)
    found: Counter[str] = Counter()
    rows = s.execute(
        select(Message.text)
        .where(Message.keep.is_(True), Message.created_at >= start, Message.created_at < end)
        .execution_options(yield_per=50_000)
    )
    for (body,) in rows:
        found.update(terms(body or ""))
    return found


def _buckets(filters: Filters) -> list[date]:
    from servicehub.analytics.clock import buckets

    return buckets(filters.first, filters.last, filters.grain)


def rolled_trends(board: Dashboard) -> dict[str, Any]:
    kinds = {s.name.rpartition(".")[2]: list(s.data) for s in board.charts[0].series}
    feelings = {s.name.rpartition(".")[2].replace("none", ""): list(s.data) for s in board.charts[1].series}
    words = [(r[0].value, r[1].value, r[2].value) for r in board.tables[0].rows]
    return {"kinds": kinds, "sentiments": feelings, "keywords": words}


def raw_service(runtime: Runtime, filters: Filters, now: datetime) -> dict[str, Any]:
    """Per bucket: received, resolved, medians / p90s, SLA; and the backlog -- from requests."""
    start, end = SHANGHAI.span(filters.first, filters.last)
    index = {b: i for i, b in enumerate(_buckets(filters))}
    n = len(index)
    received, resolved, due, met = [0] * n, [0] * n, [0] * n, [0] * n
    frt: list[list[int]] = [[] for _ in range(n)]
    ttr: list[list[int]] = [[] for _ in range(n)]
    ages = [0] * len(AGES)
    with runtime.sessions() as s:
        shifts = {uid: list(v or []) for uid, v in s.execute(select(User.id, User.shifts))}
        rows = s.execute(
            select(
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
            .where(
                ServiceRequest.created_at < end,
                or_(
                    ServiceRequest.created_at >= start,
                    ServiceRequest.first_response_at >= start,
                    ServiceRequest.resolved_at >= start,
                    ServiceRequest.updated_at >= start,
                    ServiceRequest.due_at >= start,
                    ServiceRequest.state.not_in(("resolved", "closed")),
                ),
            )
            .execution_options(yield_per=50_000)
        )
        for row in rows:
            fact = request_fact(
                row, shifts.get(row.assignee_id, []) if row.assignee_id else [], SHANGHAI, now
            )

            def at(day: date | None) -> int | None:
                if day is None or not filters.first <= day <= filters.last:
                    return None
                return index[bucket_of(day, filters.grain)]

            if (i := at(fact["created_day"])) is not None:
                received[i] += 1
            if (i := at(fact["responded_day"])) is not None:
                frt[i].append(fact["first_response_minutes"])
            if (i := at(fact["resolved_day"])) is not None:
                resolved[i] += 1
                ttr[i].append(fact["resolution_minutes"])
            if (i := at(fact["sla_day"])) is not None:
                due[i] += 1
                met[i] += 1 if fact["sla_met"] else 0
            if fact["is_open"]:
                hours = (now - row.created_at).total_seconds() / 3600
                for j, (bound, _) in enumerate(AGES):
                    if bound is None or hours < bound:
                        ages[j] += 1
                        break
    return {
        "received": received,
        "resolved": resolved,
        "frt_median": [histogram.nearest_rank(v, 0.5) for v in frt],
        "frt_p90": [histogram.nearest_rank(v, 0.9) for v in frt],
        "ttr_median": [histogram.nearest_rank(v, 0.5) for v in ttr],
        "ttr_p90": [histogram.nearest_rank(v, 0.9) for v in ttr],
        "sla": [round(100.0 * m / d, 1) if d else None for m, d in zip(met, due, strict=True)],
        "backlog": ages,
    }


def rolled_service(board: Dashboard) -> dict[str, Any]:
    volume, times, sla, backlog = (board.charts[i].series for i in range(4))
    return {
        "received": list(volume[0].data),
        "resolved": list(volume[1].data),
        "frt_median": list(times[0].data),
        "frt_p90": list(times[1].data),
        "ttr_median": list(times[2].data),
        "ttr_p90": list(times[3].data),
        "sla": list(sla[2].data),
        "backlog": list(backlog[0].data),
    }


def raw_fans(runtime: Runtime, filters: Filters) -> dict[str, Any]:
    """Top fans by interactions and by influence, from messages and identities."""
    first, last = (
        SHANGHAI.start_of(month_of(filters.first)),
        SHANGHAI.start_of(next_month(month_of(filters.last))),
    )
    with runtime.sessions() as s:
        where = "m.keep AND m.kind <> 'event' AND m.customer_id IS NOT NULL AND m.created_at >= :s AND m.created_at < :e"
        span = {"s": first.replace(tzinfo=None), "e": last.replace(tzinfo=None)}
        top = s.execute(
            text(
                f"SELECT m.customer_id, count(*) FROM messages m WHERE {where} "
                "GROUP BY m.customer_id ORDER BY count(*) DESC, m.customer_id LIMIT 20"
            ),
            span,
        ).all()
        influence = s.execute(
            text(
                f"SELECT m.customer_id, max(i.followers_count) FROM messages m JOIN customer_identities i "
                f"ON i.customer_id = m.customer_id WHERE {where} GROUP BY m.customer_id "
                "ORDER BY max(i.followers_count) DESC, m.customer_id LIMIT 20"
            ),
            span,
        ).all()
    return {"top": [(c, n) for c, n in top], "influence": [c for c, _ in influence]}


def rolled_fans(board: Dashboard) -> dict[str, Any]:
    top = next(t for t in board.tables if t.key == "fans-top-table")
    influence = next(t for t in board.tables if t.key == "fans-influence-table")
    return {
        "top": [(r[0].customer_id, r[1].value) for r in top.rows],
        "influence": [r[0].customer_id for r in influence.rows],
    }


def raw_graph(runtime: Runtime, filters: Filters, account_id: int) -> dict[str, Any]:
    """The account's top fans and the ties among them, from its messages (texts parsed here)."""
    first, last = (
        SHANGHAI.start_of(month_of(filters.first)),
        SHANGHAI.start_of(next_month(month_of(filters.last))),
    )
    start, end = SHANGHAI.span(filters.first, filters.last)
    with runtime.sessions() as s:
        fans = [
            c
            for (c,) in s.execute(
                text(
                    "SELECT customer_id FROM messages WHERE account_id = :a AND keep AND kind <> 'event' "
                    "AND customer_id IS NOT NULL AND created_at >= :s AND created_at < :e "
                    "GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT :n"
                ),
                {
                    "a": account_id,
                    "s": first.replace(tzinfo=None),
                    "e": last.replace(tzinfo=None),
                    "n": GRAPH_FANS,
                },
            )
        ]
        kind, uid = tie()
        rows = s.execute(
            select(Message.customer_id, Message.platform, Message.text, kind, uid).where(
                Message.account_id == account_id,
                Message.keep.is_(True),
                Message.created_at >= start,
                Message.created_at < end,
                Message.customer_id.in_(fans),
            )
        ).all()
        uids: dict[str, int] = dict(
            s.execute(
                text("SELECT platform_uid, customer_id FROM customer_identities WHERE customer_id = ANY(:c)"),
                {"c": fans},
            ).all()
        )
        names: dict[str, int] = dict(
            s.execute(
                text("SELECT screen_name, customer_id FROM customer_identities WHERE customer_id = ANY(:c)"),
                {"c": fans},
            ).all()
        )
    ties: Counter[tuple[int, int, str]] = Counter()
    for source, platform, body, means, target_uid in rows:
        named = set()
        if means and target_uid in uids:
            named.add((uids[target_uid], str(means)))
        for how, name in registry.text_ties(platform, body or ""):
            if name in names:
                named.add((names[name], how))
        for target, how in named:
            if target != source:
                ties[(source, target, how)] += 1
    return {"fans": sorted(fans), "ties": dict(sorted(ties.items()))}


def rolled_graph(board: Dashboard) -> dict[str, Any]:
    graph = board.charts[0].graph or {}
    fans = sorted(n["customer_id"] for n in graph.get("nodes", []) if n.get("customer_id"))
    ties = {
        (int(link["source"][1:]), int(link["target"][1:]), link["kind"]): link["value"]
        for link in graph.get("links", [])
        if link["kind"] in ("mention", "reply", "repost")
    }
    return {"fans": fans, "ties": dict(sorted(ties.items()))}


def raw_publishing(runtime: Runtime, filters: Filters) -> dict[str, Any]:
    start, end = SHANGHAI.span(filters.first, filters.last)
    index = {b: i for i, b in enumerate(_buckets(filters))}
    per = [Tally() for _ in index]
    by_hour: dict[int, Tally] = defaultdict(Tally)
    with runtime.sessions() as s:
        rows = s.execute(
            text(
                "SELECT o.sent_at, coalesce(e.reposts, 0) AS reposts, coalesce(e.comments, 0) AS comments, "
                "coalesce(e.likes, 0) AS likes FROM outbound_messages o LEFT JOIN LATERAL (SELECT reposts, comments, "
                "likes FROM engagement_snapshots x WHERE x.outbound_id = o.id ORDER BY x.sampled_at DESC, x.id DESC "
                "LIMIT 1) e ON true WHERE o.kind = 'post' AND o.state = 'sent' AND o.sent_at >= :s AND o.sent_at < :e"
            ),
            {"s": start.replace(tzinfo=None), "e": end.replace(tzinfo=None)},
        ).all()
    for sent_at, reposts, comments, likes in rows:
        local = sent_at.replace(tzinfo=UTC).astimezone(SHANGHAI.tz)
        row = SimpleNamespace(reposts=reposts, comments=comments, likes=likes)
        per[index[bucket_of(local.date(), filters.grain)]].add(row)
        by_hour[local.hour].add(row)
    return {
        "posts": [t.posts for t in per],
        "engagement": [t.engagement for t in per],
        "best_hours": best_hours(by_hour),
    }


def rolled_publishing(board: Dashboard) -> dict[str, Any]:
    series = board.charts[0].series
    posts = list(series[3].data)
    engagement = [sum(int(s.data[i] or 0) for s in series[:3]) for i in range(len(posts))]
    return {"posts": posts, "engagement": engagement, "best_hours": list(board.extra["best_hours"])}


# -- timing ------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    fn()  # warm: plans, caches
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def compare(rolled: dict[str, Any], raw: dict[str, Any]) -> str:
    wrong = [k for k in raw if rolled.get(k) != raw[k]]
    return "same figures" if not wrong else "DIFFERENT: " + ", ".join(wrong)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per dashboard (median shown)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--database", help="use this database (an existing bench database is reused)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the rollups of a reused database")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (prints its URL)")
    args = parser.parse_args()
    print(machine())
    print("load average (1, 5, 15 min) at the start: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    if args.database:
        holder: Any = nullcontext(args.database)
    elif args.keep:
        holder = nullcontext(_kept_database())
    else:
        holder = scratch_database("hub_bench_analytics")
    with holder as url:
        run(args, url)
    return 0


def _kept_database() -> str:
    import uuid

    import psycopg

    from bench.harness import ADMIN_URL

    name = f"hub_bench_analytics_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{ADMIN_URL.rpartition('/')[0]}/{name}"
    print(f"database (kept): {url}")
    return url


def run(args: argparse.Namespace, url: str) -> None:
    settings = load_settings(env={"HUB_SETTINGS": "/nonexistent-bench.toml", "HUB_DATABASE__URL": url})
    runtime = build_runtime(
        replace(settings, hub=replace(settings.hub, secret_key="bench")), tasks=SyncRunner()
    )
    migrate.upgrade(runtime.engine)
    with runtime.sessions() as s:
        existing = s.scalar(select(func.count()).select_from(Message)) or 0
    if existing == 0:
        print(
            f"generating about {args.messages:,} messages over {args.days} days and {args.accounts} accounts"
        )
        started = time.perf_counter()
        seed_people(runtime, args.accounts)
        generate(runtime, args.messages, args.days, args.seed)
        print(f"generated in {time.perf_counter() - started:.0f} s")
    with runtime.sessions() as s:
        counts = {
            t: s.scalar(text(f"SELECT count(*) FROM {t}"))
            for t in ("messages", "service_requests", "customers", "outbound_messages")
        }
        size = s.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()) + f"; database {size}")
    if existing == 0 or args.rebuild:
        started = time.perf_counter()
        report = rebuild(runtime, now=datetime.now(UTC))
        print(f"rollups rebuilt in {time.perf_counter() - started:.0f} s: {report}")
    with runtime.sessions() as s:
        rollup_rows = {
            t: s.scalar(text(f"SELECT count(*) FROM {t}"))
            for t in (
                "analytics_message_daily",
                "analytics_keyword_daily",
                "analytics_fan_monthly",
                "analytics_tie_daily",
                "analytics_request_facts",
                "analytics_service_daily",
                "analytics_post_facts",
            )
        }
        manager = principal_for(s.scalars(select(User).where(User.username == "manager")).one())
        psup = principal_for(s.scalars(select(User).where(User.username == "psup")).one())
        first_account = s.scalar(select(func.min(Account.id)).where(Account.platform == "weibo"))
        last_day = SHANGHAI.day_of(s.scalar(select(func.max(Message.created_at))) or datetime.now(UTC))
    print(
        "rollup rows: " + ", ".join(f"{t.removeprefix('analytics_')} {n:,}" for t, n in rollup_rows.items())
    )
    with runtime.sessions() as s:  # the rollups' "now": open SLAs are decided as of then
        now = s.scalar(
            select(AnalyticsWatermark.at).where(AnalyticsWatermark.name == "requests")
        ) or datetime.now(UTC)
    periods = {
        "last 30 days by day": Filters(first=last_day - timedelta(days=29), last=last_day, grain=Grain.DAY),
        "last 12 months by month": Filters(
            first=next_month(month_of(last_day).replace(year=last_day.year - 1)),
            last=last_day,
            grain=Grain.MONTH,
        ),
    }
    raws: dict[str, Callable[[Filters], dict[str, Any]]] = {
        "trends": lambda f: raw_trends(runtime, f),
        "service": lambda f: raw_service(runtime, f, now),
        "fans": lambda f: raw_fans(runtime, f),
        "graph": lambda f: raw_graph(runtime, f, int(first_account or 1)),
        "publishing": lambda f: raw_publishing(runtime, f),
    }
    rolled: dict[str, Callable[[Dashboard], dict[str, Any]]] = {
        "trends": rolled_trends,
        "service": rolled_service,
        "fans": rolled_fans,
        "graph": rolled_graph,
        "publishing": rolled_publishing,
    }
    worst = 0.0
    for label, filters in periods.items():
        print(f"\n{label} ({filters.first} .. {filters.last}, Asia/Shanghai):")
        print(
            f"  {'dashboard':<11} {'rollup (manager)':>17} {'rollup (partner)':>17} {'raw':>10} {'ratio':>8}  figures"
        )
        for name in ("fans", "graph", "trends", "publishing", "service"):
            scoped = replace(filters, account_ids=(int(first_account or 1),)) if name == "graph" else filters

            def board(who: Principal, f: Filters = scoped, n: str = name) -> Dashboard:
                with runtime.sessions() as s:
                    if n == "service":
                        from servicehub.analytics.service import service

                        return service(s, who, f, now=now)
                    return dashboard(s, who, n, f)

            fast, result = timed(lambda: board(manager), args.repeat)
            partner_time, _ = timed(lambda: board(psup), args.repeat)
            started = time.perf_counter()
            raw = raws[name](scoped)
            slow = time.perf_counter() - started
            worst = max(worst, fast)
            verdict = compare(rolled[name](result), raw)
            print(
                f"  {name:<11} {fast * 1000:>14.1f} ms {partner_time * 1000:>14.1f} ms {slow:>8.2f} s "
                f"{slow / fast:>7.0f}x  {verdict}"
            )
    print(f"\nslowest dashboard: {worst * 1000:.0f} ms (target < 1000 ms, >= 50x faster than raw)")
    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    runtime.close()


if __name__ == "__main__":
    raise SystemExit(main())
