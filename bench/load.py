"""Operators under load: page latency of 100 operators over a million requests while intake runs.

    .venv/bin/python bench/load.py [--requests 1000000] [--operators 100] [--duration 120]

Creates a throw-away database on the machine's PostgreSQL (HUB_TEST_PG) and claims a Redis
database for the broker and the event bus (as bench/ingest.py does), then:

1. seeds organizations, ``--accounts`` Weibo accounts (each also created in a simulator
   process) with ``--operators`` operators spread over them, and one probe account whose
   only operator is the probe (below);
2. seeds the history in a few set-wise statements (``generate_series``): ``--requests``
   requests with one message and one assignment each, ``--open-share`` of them open and
   assigned to the operators of their account, the rest resolved or closed, and their
   customers; then VACUUM ANALYZE, as a database that has lived would be;
3. starts two ``servicehub web`` processes, a Celery worker (``--workers`` processes) and
   ``servicehub beat``, production mode, and lets the simulator feed ``--intake-rate``
   items a second (mentions and comments polled, private messages pushed) to every account;
4. logs every operator in and lets each click about once a second for ``--duration``
   seconds, round-robin over the two web processes: its queue (``/?view=mine``), the next
   page, the JSON list (``/api/requests?view=open``), a request page, and now and then a
   reply (JSON API); meanwhile the probe operator measures what an operator feels most:
   from a private message pushed to the hub, and from a mention appearing on the platform
   (found by polling), to the request shown as theirs (the page re-reads on each live event
   from ``/events``: the probe reads ``/api/requests/<id>`` of every request an event names);
5. prints p50/p95/p99 and errors per endpoint, the probe latencies, the CPU each role
   spent, the connections PostgreSQL opened during the window, and the buffers each page's
   queries read (EXPLAIN ANALYZE) beside the baseline of the same run: the old queue query
   (exact count of every visible request, OR keyset).

Polling runs at ``--poll-interval`` and does not back off while an account is quiet
(max interval = poll interval), so "one poll interval" is the same for every probe.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from bench.cpu import CpuMeter
from bench.harness import claimed_broker, machine, scratch_database, start_workers, stop_workers
from servicehub.accounts.registration import register_account
from servicehub.core import migrate
from servicehub.core.models import OPEN_STATES, Account, Customer, ServiceRequest, User
from servicehub.core.permissions import principal_for, restrict
from servicehub.core.roles import ensure_default_roles
from servicehub.core.runtime import Runtime, build_runtime
from servicehub.core.settings import load_settings
from servicehub.core.tasks import SyncRunner
from servicehub.core.users import create_user, ensure_org
from servicehub.routing.queue import list_requests
from servicehub.routing.requests import request_detail

APP_KEY, APP_SECRET, SECRET = "load-app", "load-app-secret", "load-bench-secret"
PASSWORD = "load-bench-password-7"
LOG_DIR = Path(tempfile.gettempdir())
ENDPOINTS = ("queue", "queue next page", "JSON list", "request page", "reply (JSON)")
IDS = re.compile(r'href="/requests/(\d+)"')
NEXT = re.compile(r'href="/\?view=mine&(?:amp;)?after=([0-9:]+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# -- processes ---------------------------------------------------------------------------------


def hub_env(url: str, broker: str, sim_url: str, data_dir: str, args: argparse.Namespace) -> dict[str, str]:
    return {
        "HUB_SETTINGS": str(Path(data_dir) / "absent.toml"),
        "HUB_HUB__MODE": "production",
        "HUB_HUB__DATA_DIR": data_dir,
        "HUB_HUB__SECRET_KEY": SECRET,
        "HUB_DATABASE__URL": url,
        "HUB_TASKS__BACKEND": "celery",
        "HUB_TASKS__BROKER_URL": broker,
        "HUB_REDIS__URL": broker,
        "HUB_LISTENER__POLL_INTERVAL_SECONDS": str(args.poll_interval),
        "HUB_LISTENER__MAX_INTERVAL_SECONDS": str(args.poll_interval),
        "HUB_LISTENER__HOURLY_BUDGET": "1000000",
        "HUB_PLATFORMS__WEIBO__API_BASE": sim_url,
        "HUB_PLATFORMS__WEIBO__APP_KEY": APP_KEY,
        "HUB_PLATFORMS__WEIBO__APP_SECRET": APP_SECRET,
        "HUB_PLATFORMS__WECHAT__API_BASE": sim_url,
    }


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        env={**os.environ, **env},
        cwd=env.get("HUB_HUB__DATA_DIR"),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def simulator(rate_limits: int) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The platform simulator in a process of its own (it would share the load client's GIL)."""
    port = free_port()
    log = LOG_DIR / f"hub-bench-load-sim-{os.getpid()}.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "servicehub.adapters.simulator",
            "--port",
            str(port),
            "--no-default-account",
            "--user-limit",
            str(rate_limits),
            "--comments-limit",
            str(rate_limits),
            "--ip-limit",
            str(rate_limits),
        ],
        stdout=subprocess.PIPE,
        stderr=log.open("wb"),
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    base_url = json.loads(proc.stdout.readline())["base_url"]
    try:
        yield base_url, proc
    finally:
        stop(proc)


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(httpx.TransportError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


# -- seeding -----------------------------------------------------------------------------------


@dataclass
class Seeded:
    accounts: list[tuple[int, str]]  # (hub id, platform uid), probe account last
    operators: list[str]
    probe: str
    probe_id: int
    probe_account: tuple[int, str]


def seed_people(runtime: Runtime, sim: httpx.Client, args: argparse.Namespace) -> Seeded:
    accounts: list[tuple[int, str]] = []
    operators: list[str] = []
    per_account = math.ceil(args.operators / args.accounts)
    with runtime.sessions.begin() as s:
        ensure_default_roles(s)
        org = ensure_org(s, "总部客服中心")
        for index in range(args.accounts + 1):
            probe = index == args.accounts
            uid = str(1902600000 + index)
            name = "联通客服探针" if probe else f"联通客服{index + 1}"
            issued = sim.post(
                "/_sim/accounts",
                json={"uid": uid, "screen_name": name, "app_key": APP_KEY, "app_secret": APP_SECRET},
            ).json()
            names = (
                ["probe"]
                if probe
                else [
                    f"op{k}"
                    for k in range(index * per_account, min(args.operators, (index + 1) * per_account))
                ]
            )
            users = [create_user(s, n, PASSWORD, org=org, roles=["operator"]) for n in names]
            for user in users:
                user.capacity = 1_000_000  # the history fills their queues; new requests still reach them
            account = register_account(
                s,
                runtime,
                platform="weibo",
                platform_uid=uid,
                display_name=name,
                access_token=issued["access_token"],
                expires_at=None,
                org=org,
                operator_ids=tuple(u.id for u in users),
            )
            accounts.append((account.id, uid))
            if not probe:
                operators += names
            else:
                probe_id = users[0].id
    return Seeded(accounts, operators, "probe", probe_id, accounts[-1])


# $names are filled in with integers and integer arrays (string.Template): no user input.
HISTORY = """
INSERT INTO customers (id, display_name, tier, tags, created_at, updated_at)
SELECT g, '客户' || g, (g % 20 = 0)::int * 2, '[]', now() - interval '400 days', now()
FROM generate_series(1, $customers) g;

INSERT INTO customer_identities
    (customer_id, platform, platform_uid, screen_name, followers_count, updated_at)
SELECT g, 'weibo', (5000000000 + g)::text, '客户' || g, g % 5000, now()
FROM generate_series(1, $customers) g;

CREATE TEMP TABLE seed_plan AS
SELECT g AS id,
       ($accounts)[1 + g % $n_accounts] AS account_id,
       1 + (g::bigint * 7919) % $customers AS customer_id,
       ($operators)[1 + (g % $n_accounts) * $per_account + (g / $n_accounts) % $per_account] AS assignee_id,
       CASE WHEN g % $open_every = 0 THEN (ARRAY['assigned', 'in_progress', 'waiting_customer'])[1 + g % 3]
            WHEN g % 3 = 0 THEN 'closed' ELSE 'resolved' END AS state,
       CASE WHEN g % 23 = 0 THEN 3 WHEN g % 7 = 0 THEN 2 WHEN g % 11 = 0 THEN 0 ELSE 1 END AS priority,
       now() - ($n - g) * interval '30 seconds' AS at
FROM generate_series(1, $n) g;

INSERT INTO service_requests (id, account_id, customer_id, thread_key, state, priority, subject, assignee_id,
    sentiment, escalation, furious, priority_reasons, message_count, created_at, updated_at, last_message_at,
    due_at, first_response_at, resolved_at)
SELECT id, account_id, customer_id, 'seed:' || id, state, priority,
       '第' || id || '号：宽带又断网了，报修两天没人来，请尽快处理', assignee_id,
       0.2, '[]', false, '[]', 1, at, at, at, at + interval '8 hours',
       CASE WHEN state IN ('resolved', 'closed') THEN at + interval '20 minutes' END,
       CASE WHEN state IN ('resolved', 'closed') THEN at + interval '2 hours' END
FROM seed_plan;

INSERT INTO messages (id, platform, kind, platform_id, account_id, customer_id, author_uid, author_name, text,
    created_at, received_at, thread_id, reply_target, raw, keep, tags, sentiment, sentiment_label, intent,
    escalation, routed, request_id)
SELECT id, 'weibo', 'mention', 'seed' || id, account_id, customer_id, (5000000000 + customer_id)::text,
       '客户' || customer_id, '第' || id || '号：宽带又断网了，报修两天没人来，请尽快处理', at, at,
       'seed' || id, json_build_object('kind', 'comment_status', 'status_id', (4900000000000000 + id)::text),
       '{}', true, '[]', 0.2, 'negative', 'complaint', '[]', true, id
FROM seed_plan;

INSERT INTO assignments (request_id, user_id, strategy, reason, created_at)
SELECT id, assignee_id, 'round_robin', '{}', at FROM seed_plan;

SELECT setval('customers_id_seq', $customers);
SELECT setval('customer_identities_id_seq', $customers);
SELECT setval('service_requests_id_seq', $n);
SELECT setval('messages_id_seq', $n)
"""


def seed_history(runtime: Runtime, seeded: Seeded, args: argparse.Namespace) -> None:
    with runtime.sessions() as s:
        operator_ids = {name: uid for name, uid in s.execute(select(User.username, User.id))}
    per_account = math.ceil(args.operators / args.accounts)
    # The operators of account k are per_account consecutive entries (short ones padded).
    flat: list[int] = []
    for index in range(args.accounts):
        names = seeded.operators[index * per_account : (index + 1) * per_account]
        ids = [operator_ids[n] for n in names]
        flat += [ids[k % len(ids)] for k in range(per_account)]
    sql = string.Template(HISTORY).substitute(
        n=int(args.requests),
        customers=max(1000, args.requests // 5),
        accounts=f"ARRAY{[int(a) for a, _ in seeded.accounts[:-1]]}",
        n_accounts=int(args.accounts),
        operators=f"ARRAY{[int(i) for i in flat]}",
        per_account=per_account,
        open_every=max(1, round(1 / args.open_share)),
    )
    with runtime.engine.begin() as conn:
        for statement in filter(str.strip, sql.split(";\n")):
            conn.exec_driver_sql(statement.replace("%", "%%"))
    with runtime.engine.connect() as conn:  # what autovacuum will have done in a database that lived
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


# -- the operators -----------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: dict[str, str] = field(default_factory=dict)

    def record(self, endpoint: str, seconds: float, ok: bool, detail: str = "") -> None:
        self.latencies[endpoint].append(seconds)
        if not ok:
            self.errors[endpoint] += 1
            self.samples.setdefault(endpoint, detail[:200])


class RoundRobin:
    def __init__(self, bases: list[str]) -> None:
        self.bases, self.turn = bases, 0

    def url(self, path: str) -> str:
        self.turn += 1
        return self.bases[self.turn % len(self.bases)] + path


async def login(client: httpx.AsyncClient, urls: RoundRobin, username: str) -> str:
    page = await client.get(urls.url("/login"))
    token = CSRF.search(page.text)
    assert token, "no CSRF token on the login page"
    done = await client.post(
        urls.url("/login"), data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    if done.status_code != 303:
        raise SystemExit(f"{username} could not log in: HTTP {done.status_code}")
    return token.group(1)


async def operator(
    client: httpx.AsyncClient,
    urls: RoundRobin,
    stats: Stats,
    until: float,
    reply_every: int,
    rng: random.Random,
) -> None:
    """One operator, logged in before the window (a shift starts with logging in, once)."""
    ids: list[int] = []
    after: str | None = None
    csrf = ""
    step = rng.randrange(4)
    await asyncio.sleep(rng.random())  # operators do not click in step
    next_at = time.monotonic()
    while time.monotonic() < until:
        kind = ("queue", "queue next page", "JSON list", "request page")[step % 4]
        step += 1
        path = "/?view=mine"
        if kind == "queue next page":
            if after is None:
                kind = "queue"
            else:
                path = f"/?view=mine&after={after}"
        elif kind == "JSON list":
            path = "/api/requests?view=open"
        elif kind == "request page":
            if not ids:
                kind = "queue"
            else:
                request_id = rng.choice(ids)
                path = f"/requests/{request_id}"
        started = time.perf_counter()
        try:
            response = await client.get(urls.url(path))
            ok = response.status_code == 200
            detail = f"HTTP {response.status_code} {path}"
        except httpx.HTTPError as exc:
            response, ok, detail = None, False, f"{type(exc).__name__} {path}"
        stats.record(kind, time.perf_counter() - started, ok, detail)
        if response is not None and ok:
            if kind in ("queue", "queue next page"):
                found = [int(i) for i in IDS.findall(response.text)]
                ids = found or ids
                more = NEXT.search(response.text)
                after = more.group(1) if more and kind == "queue" else None
            elif kind == "request page":
                token = CSRF.search(response.text)
                csrf = token.group(1) if token else csrf
                if csrf and rng.randrange(reply_every) == 0:
                    await reply(client, urls, stats, request_id, csrf)
        next_at += 0.8 + 0.4 * rng.random()
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        next_at = max(next_at, time.monotonic() - 1.0)  # a slow click does not cause a burst


async def reply(
    client: httpx.AsyncClient, urls: RoundRobin, stats: Stats, request_id: int, csrf: str
) -> None:
    path = f"/api/requests/{request_id}/reply"
    started = time.perf_counter()
    try:
        response = await client.post(
            urls.url(path),
            json={"text": "您好，已为您加急处理，请保持电话畅通。", "idempotency_key": uuid.uuid4().hex},
            headers={"X-CSRF-Token": csrf},
        )
        ok, detail = response.status_code == 202, f"HTTP {response.status_code} {response.text[:120]}"
    except httpx.HTTPError as exc:
        ok, detail = False, f"{type(exc).__name__}"
    stats.record("reply (JSON)", time.perf_counter() - started, ok, detail)


# -- what an operator feels: platform to screen ----------------------------------------------------


@dataclass
class Probe:
    urls: RoundRobin
    sim_url: str
    account_uid: str
    user_id: int
    client: httpx.AsyncClient | None = None
    waiting: dict[str, float] = field(default_factory=dict)  # marker -> when it reached the platform
    kinds: dict[str, str] = field(default_factory=dict)
    found: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    answers: list[float] = field(default_factory=list)  # how long the hub took to answer a push

    async def watch(self, until: float) -> None:
        """Follow ``/events`` as an open queue page does: on an event, re-read the queue (one
        read at a time; events arriving meanwhile cause one more read after it)."""
        assert self.client is not None
        dirty = asyncio.Event()
        reader = asyncio.create_task(self.reread(dirty, until))
        while time.monotonic() < until:
            with suppress(httpx.HTTPError):
                async with self.client.stream(
                    "GET", self.urls.url("/events"), timeout=httpx.Timeout(5, read=None)
                ) as stream:
                    async for line in stream.aiter_lines():
                        if time.monotonic() >= until:
                            break
                        if line.startswith("data: "):
                            dirty.set()
        reader.cancel()
        with suppress(asyncio.CancelledError):
            await reader

    async def reread(self, dirty: asyncio.Event, until: float) -> None:
        assert self.client is not None
        while time.monotonic() < until:
            await dirty.wait()
            dirty.clear()
            if not self.waiting:
                continue
            with suppress(httpx.HTTPError):
                response = await self.client.get(self.urls.url("/api/requests?view=mine"))
                if response.status_code != 200:
                    continue
                for row in response.json()["requests"]:
                    for marker in list(self.waiting):
                        if marker in row["subject"]:
                            self.found[self.kinds[marker]].append(time.monotonic() - self.waiting.pop(marker))

    async def send(self, until: float) -> None:
        """Alternately a pushed private message and a polled mention, every 1.5-2.5 s."""
        async with httpx.AsyncClient(base_url=self.sim_url, timeout=30) as sim:
            turn = 0
            while time.monotonic() < until - 10:  # the last probes still have time to arrive
                turn += 1
                marker = f"探针{turn:04d}"
                kind = "push" if turn % 2 else "poll"
                self.kinds[marker] = kind
                body = {
                    "account_uid": self.account_uid,
                    "text": f"{marker} 你好，我家宽带从昨晚开始断网，能帮忙看看吗？",
                    "screen_name": f"探针客户{turn}",  # a new conversation each time: a new request
                }
                self.waiting[marker] = started = time.monotonic()
                if kind == "push":  # the simulator pushes and waits for the hub's answer
                    await sim.post("/_sim/messages", json={**body, "push": True})
                    self.answers.append(time.monotonic() - started)
                else:  # on the platform now; the hub hears it when it next polls
                    await sim.post("/_sim/mentions", json=body)
                await asyncio.sleep(1.5 + random.random())


# -- where the time goes ---------------------------------------------------------------------------


def explained(session: Session, run: Callable[[], Any], show: bool = False) -> tuple[int, float]:
    """(buffers read, ms) over every statement ``run`` sends, by EXPLAIN (ANALYZE, BUFFERS);
    with ``show`` each statement's plan is printed too."""
    totals = [0, 0.0]
    conn = session.connection()

    def explain(_c: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            rows = cursor.connection.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, params)
            plan = rows.fetchone()[0][0]
            totals[0] += plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get("Shared Read Blocks", 0)
            totals[1] += plan["Execution Time"]
            if show:
                text = cursor.connection.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                print("    " + statement.replace("\n", " ")[:300])
                print("\n".join("      " + r[0] for r in text.fetchall()))

    event.listen(conn, "before_cursor_execute", explain)
    try:
        run()
    finally:
        event.remove(conn, "before_cursor_execute", explain)
    return int(totals[0]), float(totals[1])


def old_queue(session: Session, who: Any, view: str, after: str | None) -> None:
    """The queue query before this bench's change (baseline): exact count, OR keyset, IN states."""
    from sqlalchemy import and_, or_

    base = select(ServiceRequest)
    if view == "mine":
        base = base.where(ServiceRequest.assignee_id == who.user_id, ServiceRequest.state.in_(OPEN_STATES))
    else:
        base = base.where(ServiceRequest.state.in_(OPEN_STATES))
    base = restrict(base, who, "request.view", ServiceRequest)
    session.scalar(select(func.count()).select_from(base.subquery()))
    stmt = (
        base.with_only_columns(ServiceRequest, Customer.display_name, Account.display_name, User.display_name)
        .join(Customer, Customer.id == ServiceRequest.customer_id)
        .join(Account, Account.id == ServiceRequest.account_id)
        .outerjoin(User, User.id == ServiceRequest.assignee_id)
        .order_by(ServiceRequest.priority.desc(), ServiceRequest.id)
        .limit(51)
    )
    if after:
        p, i = (int(v) for v in after.split(":"))
        stmt = stmt.where(
            or_(ServiceRequest.priority < p, and_(ServiceRequest.priority == p, ServiceRequest.id > i))
        )
    session.execute(stmt).all()


def page_costs(runtime: Runtime, username: str, show: bool) -> list[str]:
    lines = []
    with runtime.sessions() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        who = principal_for(user)
        first = list_requests(s, who, "mine")
        deep_after = None
        page = first
        for _ in range(3):  # the fourth page of the operator's queue, if it has one
            if page.next_after is None:
                break
            deep_after = page.next_after
            page = list_requests(s, who, "mine", deep_after)
        some_id = first.rows[0].id if first.rows else 1
        cases: list[tuple[str, Callable[[], Any], Callable[[], Any] | None]] = [
            (
                "queue (mine), page 1",
                lambda: list_requests(s, who, "mine"),
                lambda: old_queue(s, who, "mine", None),
            ),
            (
                "queue (mine), a later page",
                lambda: list_requests(s, who, "mine", deep_after),
                lambda: old_queue(s, who, "mine", deep_after),
            ),
            (
                "JSON list (open)",
                lambda: list_requests(s, who, "open"),
                lambda: old_queue(s, who, "open", None),
            ),
            ("request page (detail read)", lambda: request_detail(s, who, some_id), None),
        ]
        for name, new, old in cases:
            buffers, ms = explained(s, new, show)
            line = f"  {name:28s} {buffers:6,d} buffers {ms:7.1f} ms"
            if old is not None:
                old_buffers, old_ms = explained(s, old)
                line += f"   (baseline, old query: {old_buffers:,d} buffers {old_ms:.1f} ms)"
            lines.append(line)
    return lines


class PgSampler(threading.Thread):
    """What PostgreSQL is busy with: every 0.1 s, the statements its backends of this
    database are running (pg_stat_statements is not loaded on a shared server here)."""

    def __init__(self, url: str) -> None:
        super().__init__(name="pg-sampler", daemon=True)
        self.url, self.stopped = url, threading.Event()
        self.samples, self.busy = Counter[str](), 0
        self.ticks = 0

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stopped.wait(0.1):
                rows = conn.execute(
                    "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'active' AND pid <> pg_backend_pid()"
                ).fetchall()
                self.ticks += 1
                self.busy += len(rows)
                for (query,) in rows:
                    self.samples[" ".join(query.split())[:150]] += 1

    def report(self) -> list[str]:
        self.stopped.set()
        self.join(5)
        ticks = max(self.ticks, 1)
        lines = [
            f"PostgreSQL backends busy on average: {self.busy / ticks:.2f}; the statements they ran most:"
        ]
        for query, n in self.samples.most_common(8):
            lines.append(f"  {100 * n / max(self.busy, 1):4.0f} %  {query}")
        return lines


# -- the run ------------------------------------------------------------------------------------------


@dataclass
class LoadMeter(CpuMeter):
    web_groups: tuple[int, ...] = ()
    other_groups: dict[int, str] = field(default_factory=dict)
    database: str = ""

    def role(self, pid: int, name: str, group: int) -> str:
        if group in self.web_groups:
            return "web processes"
        if group in self.other_groups:
            return self.other_groups[group]
        if name.startswith("postgres") and "autovacuum" not in name:  # ours, or someone else's
            return "PostgreSQL (this run)" if self.database in name else "PostgreSQL (other databases)"
        role = super().role(pid, name, group)
        return "load client" if role == "bench + simulator" else role


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] if ordered else math.nan


def report(stats: Stats, duration: float) -> None:
    head = ("requests", "per s", "p50 ms", "p95 ms", "p99 ms", "errors")
    print(f"{'endpoint':18s} " + " ".join(f"{h:>8s}" for h in head))
    for name in ENDPOINTS:
        values = stats.latencies.get(name, [])
        ms = [1000 * quantile(values, q) for q in (0.5, 0.95, 0.99)]
        print(
            f"{name:18s} {len(values):8,d} {len(values) / duration:8.1f} "
            + " ".join(f"{v:8.0f}" for v in ms)
            + f" {stats.errors.get(name, 0):8d}"
        )
    for name, sample in stats.samples.items():
        print(f"  first error of {name}: {sample}")


async def drive(
    seeded: Seeded, bases: list[str], sim_url: str, args: argparse.Namespace
) -> tuple[Stats, Probe, float]:
    stats = Stats()
    rng = random.Random(args.seed)
    probe = Probe(RoundRobin(bases), sim_url, seeded.probe_account[1], seeded.probe_id)
    clients = [httpx.AsyncClient(timeout=30, follow_redirects=False) for _ in seeded.operators]
    gate = asyncio.Semaphore(4)  # logging in hashes a password (Argon2): not 100 at once

    async def log_in(client: httpx.AsyncClient, name: str) -> None:
        async with gate:
            await login(client, RoundRobin(bases), name)

    async with httpx.AsyncClient(timeout=30) as probe_client:
        probe.client = probe_client
        await log_in(probe_client, seeded.probe)
        await asyncio.gather(*(log_in(c, n) for c, n in zip(clients, seeded.operators, strict=True)))
        started = time.monotonic()
        until = started + args.duration + 1.0  # the operators stagger their first click by up to 1 s
        tasks = [
            operator(client, RoundRobin(bases), stats, until, args.reply_every, random.Random(rng.random()))
            for client in clients
        ]
        await asyncio.gather(*tasks, probe.watch(until + 5), probe.send(until))
        elapsed = time.monotonic() - started
    for client in clients:
        await client.aclose()
    return stats, probe, elapsed


def run(args: argparse.Namespace) -> None:
    procs: list[subprocess.Popen[bytes]] = []
    with (
        claimed_broker() as broker,
        scratch_database("hub_bench_load") as url,
        tempfile.TemporaryDirectory(prefix="hub-bench-load-") as data_dir,
        simulator(10**9) as (sim_url, _sim_proc),
    ):
        sim = httpx.Client(base_url=sim_url, timeout=60)
        env = hub_env(url, broker, sim_url, data_dir, args)
        setup = build_runtime(
            load_settings(env={**env, "HUB_TASKS__BACKEND": "inprocess"}), tasks=SyncRunner()
        )
        try:
            migrate.upgrade(setup.engine)
            seeded = seed_people(setup, sim, args)
            started = time.perf_counter()
            seed_history(setup, seeded, args)
            with setup.engine.connect() as conn:
                size = conn.exec_driver_sql(
                    "SELECT pg_size_pretty(pg_database_size(current_database()))"
                ).scalar()
            print(
                f"seeded {args.requests:,} requests ({args.open_share:.0%} open) with their messages, "
                f"assignments and {max(1000, args.requests // 5):,} customers "
                f"in {time.perf_counter() - started:.0f} s; database {size}"
            )
            ports = [free_port() for _ in range(args.web)]
            for number, port in enumerate(ports):
                procs.append(
                    spawn(
                        [sys.executable, "-m", "servicehub.cli", "web"],
                        {**env, "HUB_WEB__PORT": str(port)},
                        LOG_DIR / f"hub-bench-load-web{number}-{os.getpid()}.log",
                    )
                )
            bases = [f"http://127.0.0.1:{p}" for p in ports]
            worker = start_workers(env, args.workers, LOG_DIR / f"hub-bench-load-worker-{os.getpid()}.log")
            procs.append(worker)
            beat = spawn(
                [sys.executable, "-m", "servicehub.cli", "beat"],
                env,
                LOG_DIR / f"hub-bench-load-beat-{os.getpid()}.log",
            )
            procs.append(beat)
            for base in bases:
                wait_for(f"{base}/healthz")
            for account_id, uid in seeded.accounts:  # private messages are pushed to the hub
                sim.post(
                    "/_sim/callbacks",
                    json={"account_uid": uid, "url": f"{bases[0]}/push/weibo/{account_id}", "verify": True},
                ).raise_for_status()
            sim.post(
                "/_sim/traffic",
                json={"rate": args.intake_rate, "accounts": [uid for _, uid in seeded.accounts[:-1]]},
            ).raise_for_status()
            time.sleep(args.poll_interval * 2)  # every cursor has polled once: intake is steady
            with setup.engine.connect() as conn:
                sessions_before = conn.exec_driver_sql(
                    "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
                ).scalar_one()
                stored_before = conn.exec_driver_sql("SELECT count(*) FROM messages").scalar_one()
            meter = LoadMeter(worker_group=worker.pid)
            meter.web_groups = tuple(p.pid for p in procs[: args.web])
            meter.other_groups = {beat.pid: "beat", _sim_proc.pid: "simulator"}
            meter.database = url.rpartition("/")[2]
            meter.start()
            sampler = PgSampler(url)
            sampler.start()
            stats, probe, elapsed = asyncio.run(drive(seeded, bases, sim_url, args))
            meter.stop()
            sim.post("/_sim/traffic", json={"rate": 0}).raise_for_status()
            with setup.engine.connect() as conn:
                sessions_after = conn.exec_driver_sql(
                    "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
                ).scalar_one()
                stored = conn.exec_driver_sql("SELECT count(*) FROM messages").scalar_one() - stored_before
            clicks = sum(len(v) for v in stats.latencies.values())
            print(
                f"{len(seeded.operators)} operators over {args.web} web processes for {elapsed:.0f} s: "
                f"{clicks:,} requests ({clicks / elapsed:.0f}/s); "
                f"intake meanwhile stored {stored:,} messages ({stored / elapsed:.1f}/s)"
            )
            report(stats, elapsed)
            for kind, target in (("push", 2.0), ("poll", args.poll_interval + 1.0)):
                values = probe.found.get(kind, [])
                sent = sum(1 for k in probe.kinds.values() if k == kind)
                what = "pushed private message" if kind == "push" else "polled mention"
                print(
                    f"platform -> operator's screen ({what}): {len(values)}/{sent} seen, "
                    f"p50 {quantile(values, 0.5):.2f} s, p95 {quantile(values, 0.95):.2f} s, "
                    f"max {max(values, default=math.nan):.2f} s (target p95 < {target:.1f} s)"
                )
            print(
                f"  the hub answered the pushes in p50 {quantile(probe.answers, 0.5):.2f} s, "
                f"p95 {quantile(probe.answers, 0.95):.2f} s (routed and assigned before answering)"
            )
            print(f"  {meter.report(elapsed, max(clicks, 1)).replace('ms/msg', 'ms/request')}")
            for line in sampler.report():
                print(line)
            print(
                f"PostgreSQL connections opened during the window: {sessions_after - sessions_before} "
                f"(pool size {setup.settings.database.pool_size} per process, web threads capped to it)"
            )
            print("what one page's queries read (EXPLAIN ANALYZE, after the load; an operator's view):")
            for line in page_costs(setup, seeded.operators[0], args.plans):
                print(line)
        except BaseException:
            for log in sorted(LOG_DIR.glob(f"hub-bench-load-*-{os.getpid()}.log")):
                tail = log.read_text(errors="replace").splitlines()[-15:]
                print(f"--- last lines of {log} ---", *tail, sep="\n")
            raise
        finally:
            for number, proc in reversed(list(enumerate(procs))):
                if number == args.web:
                    stop_workers(proc)  # the Celery worker: a warm shutdown first
                else:
                    stop(proc)
            setup.close()
            sim.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--operators", type=int, default=100)
    parser.add_argument("--accounts", type=int, default=10, help="managed accounts the operators share")
    parser.add_argument("--open-share", type=float, default=0.02, help="share of the history still open")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load")
    parser.add_argument("--web", type=int, default=2, help="workbench processes")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--intake-rate", type=float, default=5.0, help="simulated customer items per second")
    parser.add_argument("--poll-interval", type=float, default=3.0)
    parser.add_argument("--reply-every", type=int, default=8, help="one request page in N ends in a reply")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--plans", action="store_true", help="print the query plans of the page reads")
    args = parser.parse_args()
    print(machine())
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} (1, 5, 15 min)")
    run(args)
    print(f"load average after:  {' '.join(f'{v:.2f}' for v in os.getloadavg())} (1, 5, 15 min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
