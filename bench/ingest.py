"""End-to-end intake per second on PostgreSQL with real Celery workers, beside a bare batched INSERT.

    .venv/bin/python bench/ingest.py [--n 100000] [--accounts 4] [--workers 2] [--walk-pages N]

Creates a throw-away database on the machine's PostgreSQL (HUB_TEST_PG, default
postgresql://postgres@127.0.0.1:5432/postgres) and a dedicated Redis database for the
broker: the first of databases 15, 14, ... 8 of HUB_BENCH_REDIS (default redis://127.0.0.1:6379)
that no other run of this bench holds (a lock key claims it; it is flushed before and after,
so two runs on one machine never share a queue), then:

1. seeds organizations, operators and N managed Weibo accounts, each also created in a
   simulator running in this process (quotas raised: the bench measures the hub, not them);
2. starts ``servicehub worker`` (production mode, Celery, Redis broker) and warms it up
   with one item per account and source, which also gives every poll cursor a position;
3. floods the simulator through ``/_sim/burst`` with N items in the traffic generator's mix
   of corpus texts (mentions, comments, private messages; complaints, questions, spam,
   emoji-only noise...), spread over the accounts;
4. starts the clock and enqueues ``listener.poll_due`` every half second until every item
   is stored, every kept one is routed to a request and every request has an assignment
   (an assignee, or a recorded "no one available");
5. stops the workers and inserts the same rows again (new platform ids) with a bare
   SQLAlchemy Core ``INSERT`` executemany of ``--insert-batch`` rows per transaction
   (the driver pipelines the rows), timing only the inserts and commits.

The measured window starts once the flood sits in the simulator: a real platform has the
items before the hub asks. The bench exits by itself after ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import Table, create_engine, func, insert, select, text, update

from bench.cpu import CpuMeter
from bench.harness import claimed_broker, machine, scratch_database, start_workers, stop_workers
from servicehub.adapters.simulator import SimConfig, SimulatorThread, run_simulator_in_thread
from servicehub.adapters.simulator.corpus import ACCOUNT
from servicehub.adapters.simulator.traffic import TrafficPlanner
from servicehub.core import migrate
from servicehub.core.db import utcnow
from servicehub.core.models import Message, PollCursor
from servicehub.core.roles import ensure_default_roles
from servicehub.core.runtime import Runtime, build_runtime
from servicehub.core.settings import load_settings
from servicehub.core.tasks import SyncRunner
from servicehub.core.users import create_user, ensure_org
from servicehub.accounts.registration import register_account

APP_KEY, APP_SECRET, SECRET = "bench-app", "bench-app-secret", "bench-secret"
KIND_SHARE = {"mention": 5, "comment": 3, "message": 2}  # of every 10 flooded items
SAME_TEXT = 10  # customers per burst call saying the same thing (an outage: many say it)
OPERATORS_PER_ACCOUNT = 3
WORKER_LOG = Path(tempfile.gettempdir()) / f"hub-bench-ingest-worker-{os.getpid()}.log"


def hub_env(
    url: str, broker: str, sim_url: str, data_dir: str, args: argparse.Namespace, max_pages: int
) -> dict[str, str]:
    """Production settings through HUB_* variables, as a deployment would set them."""
    return {
        "HUB_SETTINGS": str(Path(data_dir) / "absent.toml"),
        "HUB_HUB__MODE": "production",
        "HUB_HUB__DATA_DIR": data_dir,
        "HUB_HUB__SECRET_KEY": SECRET,
        "HUB_DATABASE__URL": url,
        "HUB_TASKS__BACKEND": "celery",
        "HUB_TASKS__BROKER_URL": broker,
        "HUB_REDIS__URL": broker,
        "HUB_LISTENER__POLL_INTERVAL_SECONDS": "0.5",
        "HUB_LISTENER__HOURLY_BUDGET": "1000000",
        "HUB_PLATFORMS__WEIBO__API_BASE": sim_url,
        "HUB_PLATFORMS__WEIBO__APP_KEY": APP_KEY,
        "HUB_PLATFORMS__WEIBO__APP_SECRET": APP_SECRET,
        "HUB_PLATFORMS__WEIBO__PAGE_SIZE": str(args.page_size),
        "HUB_PLATFORMS__WEIBO__MAX_PAGES": str(max_pages),
        "HUB_PLATFORMS__WECHAT__API_BASE": sim_url,
    }


def seed(runtime: Runtime, sim: httpx.Client, accounts: int) -> list[tuple[str, str]]:
    """Operators and accounts in the hub and the simulator; returns (uid, screen name) pairs."""
    made: list[tuple[str, str]] = []
    with runtime.sessions.begin() as s:
        ensure_default_roles(s)
        org = ensure_org(s, "总部客服中心")
        for index in range(accounts):
            uid, name = str(1902538100 + index), f"联通客服{index + 1}"
            issued = post(
                sim, "/_sim/accounts", uid=uid, screen_name=name, app_key=APP_KEY, app_secret=APP_SECRET
            )
            operators = tuple(
                create_user(s, f"op{index}_{k}", "bench-password", org=org, roles=["operator"]).id
                for k in range(OPERATORS_PER_ACCOUNT)
            )
            register_account(
                s,
                runtime,
                platform="weibo",
                platform_uid=uid,
                display_name=name,
                access_token=issued["access_token"],
                expires_at=None,
                org=org,
                operator_ids=operators,
            )
            made.append((uid, name))
    return made


def post(client: httpx.Client, path: str, **body: Any) -> Any:
    response = client.post(path, json=body)
    response.raise_for_status()
    return response.json()


def corpus_texts(seed_: int, customers: int, per_kind: int) -> dict[str, list[str]]:
    """Texts from the simulator's traffic generator, by the burst kind that carries them."""
    kinds = {"mention": "mention", "comment_mention": "mention", "comment": "comment", "message": "message"}
    texts: dict[str, list[str]] = {k: [] for k in KIND_SHARE}
    planner = TrafficPlanner(seed_, customers)
    while min(len(v) for v in texts.values()) < per_kind:
        event = planner.next_event()
        kind = kinds.get(event.kind)
        if kind is not None and len(texts[kind]) < per_kind:
            texts[kind].append(event.text)
    return texts


def flood_plan(n: int, accounts: list[tuple[str, str]]) -> Counter[tuple[str, str]]:
    """How many items of each kind each account receives (n in all)."""
    plan: Counter[tuple[str, str]] = Counter()
    slots = [(uid, kind) for uid, _ in accounts for kind, share in KIND_SHARE.items() for _ in range(share)]
    for index in range(n):
        plan[slots[index % len(slots)]] += 1
    return plan


def flood(sim: httpx.Client, accounts: list[tuple[str, str]], n: int, seed_: int, customers: int) -> None:
    """N items through ``/_sim/burst``, interleaved across accounts and kinds."""
    plan = flood_plan(n, accounts)
    names = dict(accounts)
    texts = corpus_texts(seed_, customers, per_kind=max(1, n // SAME_TEXT // len(KIND_SHARE) + 1))
    used: Counter[str] = Counter()
    while plan:
        for key in sorted(plan):
            uid, kind = key
            count = min(SAME_TEXT, plan[key])
            pool = texts[kind]
            raw = pool[used[kind] % len(pool)]
            used[kind] += 1
            if kind == "mention":
                body = raw.replace(ACCOUNT, names[uid])
            else:
                body = raw.replace(f"@{ACCOUNT}", "").replace(ACCOUNT, "").strip() or "[微笑]"
            body = body.replace("{", "(").replace("}", ")")  # no accidental ``{i}`` templates
            post(sim, "/_sim/burst", account_uid=uid, n=count, kind=kind, text=body, push=False)
            plan[key] -= count
            if plan[key] <= 0:
                del plan[key]


class Poller(threading.Thread):
    """Enqueues ``listener.poll_due`` every ``every`` seconds, as beat would (faster)."""

    def __init__(self, runtime: Runtime, every: float = 0.5) -> None:
        super().__init__(name="poll-trigger", daemon=True)
        self.runtime, self.every, self.stopped = runtime, every, threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.runtime.tasks.enqueue("listener.poll_due")
            self.stopped.wait(self.every)


def progress(runtime: Runtime, expected: int) -> tuple[int, int, int]:
    """(messages stored, kept messages not yet routed, requests without any assignment).

    The later counts are only taken once the earlier ones are complete, so that watching
    costs the database little while the hub works.
    """
    with runtime.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Message)).scalar_one()
        if stored < expected:
            return stored, -1, -1
        unrouted = conn.execute(
            select(func.count()).where(Message.keep.is_(True), Message.routed.is_(False))
        ).scalar_one()
        if unrouted:
            return stored, unrouted, -1
        unassigned = conn.execute(
            text(
                "SELECT count(*) FROM service_requests r WHERE NOT EXISTS "
                "(SELECT 1 FROM assignments a WHERE a.request_id = r.id)"
            )
        ).scalar_one()
    return stored, unrouted, unassigned


def wait_until_done(
    runtime: Runtime, expected: int, timeout: float, worker: subprocess.Popen[bytes]
) -> float:
    """Seconds from now until all ``expected`` messages are stored, routed and assigned."""
    start = time.perf_counter()
    last_report = start
    while True:
        stored, unrouted, unassigned = progress(runtime, expected)
        now = time.perf_counter()
        if stored >= expected and unrouted == 0 and unassigned == 0:
            return now - start
        if now - start > timeout:
            raise SystemExit(
                f"TIMEOUT after {timeout:.0f} s: {stored}/{expected} stored, {unrouted} kept but unrouted, "
                f"{unassigned} requests without an assignment"
            )
        if worker.poll() is not None:
            raise SystemExit(f"the Celery worker exited with status {worker.returncode}")
        if now - last_report >= 10:
            later = "routing and assigning" if unrouted >= 0 else "not yet counted"
            print(f"  ... {now - start:5.1f} s: {stored:,} stored, {max(unrouted, 0):,} unrouted ({later})")
            last_report = now
        time.sleep(0.5)


def outcome(runtime: Runtime) -> str:
    with runtime.engine.connect() as conn:
        kept, dropped = conn.execute(
            text("SELECT count(*) FILTER (WHERE keep), count(*) FILTER (WHERE NOT keep) FROM messages")
        ).one()
        requests, assigned = conn.execute(
            text("SELECT count(*), count(assignee_id) FROM service_requests")
        ).one()
        reasons = conn.execute(
            text("SELECT drop_reason, count(*) FROM messages WHERE NOT keep GROUP BY 1 ORDER BY 2 DESC")
        ).all()
    why = ", ".join(f"{r or '?'} {c:,}" for r, c in reasons)
    return (
        f"kept {kept:,}, dropped {dropped:,} ({why}); {requests:,} requests, {assigned:,} with an assignee, "
        f"{requests - assigned:,} recorded as no one available"
    )


def bare_insert(runtime: Runtime, batch: int) -> tuple[int, float]:
    """Insert every stored message again (new platform ids), ``batch`` rows per executemany and commit.

    Only the INSERT and its COMMIT are timed, not reading the rows back. The connection is
    a plain SQLAlchemy one, without the hub's session settings (``POSTGRES_SESSION``
    re-plans every run of a statement, which slows a prepared executemany down).
    """
    table = cast(Table, Message.__table__)
    columns = [c for c in table.columns if c.name != "id"]
    rows_done, spent, after = 0, 0.0, 0
    engine = create_engine(runtime.engine.url)
    with engine.connect() as conn:
        last = conn.execute(select(func.max(table.c.id))).scalar_one() or 0
        conn.commit()
        while True:
            chunk = conn.execute(
                select(table.c.id, *columns)
                .where(table.c.id > after, table.c.id <= last)
                .order_by(table.c.id)
                .limit(batch)
            ).all()
            if not chunk:
                break
            after = chunk[-1].id
            rows = [
                {c.name: getattr(r, c.name) for c in columns} | {"platform_id": f"b{r.platform_id}"}
                for r in chunk
            ]
            start = time.perf_counter()
            conn.execute(insert(table), rows)  # executemany: the driver pipelines the row inserts
            conn.commit()
            spent += time.perf_counter() - start
            rows_done += len(rows)
    engine.dispose()
    return rows_done, spent


def hub_runtime(env: dict[str, str]) -> Runtime:
    """The bench's own runtime: the workers' settings, tasks sent to the same broker."""
    runtime = build_runtime(load_settings(env=env))
    return runtime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="items to flood (default 100,000)")
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (prefork pool)")
    parser.add_argument("--page-size", type=int, default=200, help="Weibo page size (the API allows 200)")
    parser.add_argument(
        "--walk-pages",
        type=int,
        default=0,
        help="pages one poll may walk; the next poll continues below (default: enough for the whole backlog)",
    )
    parser.add_argument("--insert-batch", type=int, default=1000, help="rows per bare INSERT batch")
    parser.add_argument("--customers", type=int, default=0, help="simulated customers (default n/10)")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--repeat", type=int, default=1, help="whole runs (fresh database each); medians shown"
    )
    args = parser.parse_args()

    print(machine())
    customers = args.customers or max(80, args.n // 10)
    per_source = max(math.ceil(args.n * share / 10 / args.accounts) for share in KIND_SHARE.values())
    max_pages = args.walk_pages or math.ceil(per_source / args.page_size) + 5
    mix = ", ".join(f"{kind} {share}0%" for kind, share in KIND_SHARE.items())
    print(
        f"flood: {args.n:,} items over {args.accounts} accounts ({mix}), "
        f"{customers:,} customers; {args.workers} Celery worker processes; page size {args.page_size}, "
        f"walk cap {max_pages} pages"
    )
    results = []
    for number in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"run {number} of {args.repeat}")
        results.append(run(args, customers, max_pages))
    if args.repeat > 1:
        rates, bares = sorted(r for r, _ in results), sorted(b for _, b in results)
        ratios = sorted(r / b for r, b in results)
        print(
            f"median of {args.repeat} runs: {statistics.median(rates):,.0f} messages/s "
            f"(range {rates[0]:,.0f}-{rates[-1]:,.0f}); bare INSERT {statistics.median(bares):,.0f} rows/s; "
            f"ratio {statistics.median(ratios):.2f} (range {ratios[0]:.2f}-{ratios[-1]:.2f})"
        )
    return 0


def run(args: argparse.Namespace, customers: int, max_pages: int) -> tuple[float, float]:
    """One whole run in a fresh database and broker: (messages/s, bare INSERT rows/s)."""
    sim_handle: SimulatorThread | None = None
    worker: subprocess.Popen[bytes] | None = None
    poller: Poller | None = None
    with (
        claimed_broker() as broker,
        scratch_database("hub_bench_ingest") as url,
        tempfile.TemporaryDirectory(prefix="hub-bench-") as data_dir,
    ):
        runtime: Runtime | None = None
        try:
            sim_handle = run_simulator_in_thread(
                "127.0.0.1", 0, seed=args.seed, config=SimConfig(seed=args.seed, customers=customers)
            )
            sim = httpx.Client(base_url=sim_handle.base_url, timeout=60)
            post(sim, "/_sim/limits", user_per_hour=10**9, ip_per_hour=10**9)
            env = hub_env(url, broker, sim_handle.base_url, data_dir, args, max_pages)
            runtime = hub_runtime(env)
            migrate.upgrade(runtime.engine)
            setup = build_runtime(
                load_settings(env={**env, "HUB_TASKS__BACKEND": "inprocess"}), tasks=SyncRunner()
            )
            accounts = seed(setup, sim, args.accounts)
            setup.close()
            worker = start_workers(env, args.workers, WORKER_LOG)
            poller = Poller(runtime)
            # Warm-up: one item per account and kind; workers load their models, cursors get a position.
            for uid, _ in accounts:
                for kind in KIND_SHARE:
                    post(
                        sim,
                        "/_sim/burst",
                        account_uid=uid,
                        n=1,
                        kind=kind,
                        text="你好，请问宽带什么时候能修好？",
                        push=False,
                    )
            warm = len(accounts) * len(KIND_SHARE)
            poller.start()
            wait_until_done(runtime, warm, 120, worker)
            poller.stopped.set()
            poller.join()
            started = time.perf_counter()
            flood(sim, accounts, args.n, args.seed, customers)
            print(f"flooded the simulator in {time.perf_counter() - started:.1f} s (not measured)")
            with runtime.sessions.begin() as s:
                s.execute(update(PollCursor).values(next_poll_at=utcnow(), interval_seconds=0.5))
            poller = Poller(runtime)
            meter = CpuMeter(worker_group=worker.pid)
            meter.start()
            poller.start()
            elapsed = wait_until_done(runtime, warm + args.n, args.timeout, worker)
            poller.stopped.set()
            meter.stop()
            rate = args.n / elapsed
            print(f"end-to-end intake: {args.n:,} items in {elapsed:.1f} s = {rate:,.0f} messages/s")
            print(f"  {outcome(runtime)}")
            print(f"  {meter.report(elapsed, args.n)}")
            stop_workers(worker)
            rows, spent = bare_insert(runtime, args.insert_batch)
            bare = rows / spent
            print(
                f"bare batched INSERT of the same {rows:,} rows "
                f"({args.insert_batch} rows per executemany and commit): "
                f"{spent:.1f} s = {bare:,.0f} rows/s"
            )
            print(
                f"ratio: intake runs at {rate / bare:.2f} of the bare INSERT rate (target >= 0.33); "
                f"target 2,000 messages/s: {'met' if rate >= 2000 else 'NOT met'}"
            )
        except BaseException:
            if WORKER_LOG.exists():
                tail = WORKER_LOG.read_text(errors="replace").splitlines()[-40:]
                print(f"--- last lines of {WORKER_LOG} ---", *tail, sep="\n")
            raise
        finally:
            if poller is not None:
                poller.stopped.set()
            if worker is not None:
                stop_workers(worker)
            if sim_handle is not None:
                sim_handle.stop()
            if runtime is not None:
                runtime.close()
    return rate, bare


if __name__ == "__main__":
    raise SystemExit(main())
