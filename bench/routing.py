"""Assignments per second with concurrent assigners on PostgreSQL, against baselines from the same run.

    .venv/bin/python bench/routing.py [--requests 10000] [--assigners 4] [--batch 50]

Creates a throw-away database on the machine's PostgreSQL (HUB_TEST_PG, default
postgresql://postgres@127.0.0.1:5432/postgres), seeds operators and NEW requests, then
measures, each from the same starting state:

1. a bare batched UPDATE of the same rows (the floor: what the database alone costs);
2. one assigner process running ``assign_backlog`` (plans, row locks, loads, explanations);
3. N assigner processes at once (SKIP LOCKED claims, user-row locks), checking afterwards
   that every request was assigned exactly once and no capacity was exceeded.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, func, insert, select, update

from bench.harness import machine, scratch_database
from servicehub.core import migrate
from servicehub.core.models import (
    Account,
    AccountOperator,
    Assignment,
    AuditEvent,
    Customer,
    Organization,
    RequestState,
    Role,
    ServiceRequest,
    User,
    user_roles,
)
from servicehub.core.roles import ensure_default_roles
from servicehub.core.runtime import Runtime, build_runtime
from servicehub.core.settings import load_settings
from servicehub.core.tasks import SyncRunner

OPERATORS = 24
ACCOUNTS = 4


def runtime_for(url: str) -> Runtime:
    env = {
        "HUB_SETTINGS": "/nonexistent.toml",
        "HUB_DATABASE__URL": url,
        "HUB_HUB__SECRET_KEY": "bench-secret",
        "HUB_HUB__DATA_DIR": "/tmp/hub-bench",
        "HUB_DATABASE__POOL_SIZE": "2",
    }
    return build_runtime(load_settings(env=env), tasks=SyncRunner())


def seed(runtime: Runtime, requests: int) -> None:
    with runtime.sessions.begin() as s:
        roles = ensure_default_roles(s)
        org = Organization(name="总部", kind="in_house")
        s.add(org)
        s.flush()
        accounts = [
            Account(
                platform="weibo",
                platform_uid=str(1000 + i),
                display_name=f"账号{i}",
                operated_by_org_id=org.id,
                listening={},
            )
            for i in range(ACCOUNTS)
        ]
        s.add_all(accounts)
        users = [
            User(
                username=f"op{i}",
                display_name=f"客服{i}",
                password_hash="-",
                org_id=org.id,
                capacity=10**6,
                shifts=[],
            )
            for i in range(OPERATORS)
        ]
        s.add_all(users)
        s.flush()
        operator_role = s.scalars(select(Role.id).where(Role.name == roles["operator"].name)).one()
        s.execute(insert(user_roles), [{"user_id": u.id, "role_id": operator_role} for u in users])
        # Each account is served by half the operators, overlapping: pools share people.
        s.execute(
            insert(AccountOperator),
            [
                {"account_id": a.id, "user_id": u.id}
                for n, a in enumerate(accounts)
                for k, u in enumerate(users)
                if (k + n) % 2 == 0
            ],
        )
        customer_ids = list(
            s.scalars(
                insert(Customer).returning(Customer.id),
                [{"display_name": f"c{i}", "tags": []} for i in range(500)],
            )
        )
        s.execute(
            insert(ServiceRequest),
            [
                {
                    "account_id": accounts[i % ACCOUNTS].id,
                    "customer_id": customer_ids[i % 500],
                    "thread_key": f"t{i}",
                    "priority": i % 4,
                    "subject": "咨询",
                    "message_count": 1,
                }
                for i in range(requests)
            ],
        )


def reset(runtime: Runtime) -> None:
    with runtime.sessions.begin() as s:
        s.execute(delete(Assignment))
        s.execute(delete(AuditEvent))
        s.execute(update(ServiceRequest).values(assignee_id=None, state=RequestState.NEW))
        s.execute(update(User).values(last_assigned_at=None))
    with runtime.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


def bare_update(runtime: Runtime, batch: int) -> float:
    with runtime.sessions() as s:
        ids = list(s.scalars(select(ServiceRequest.id).order_by(ServiceRequest.id)))
        users = list(s.scalars(select(User.id)))
    start = time.perf_counter()
    for n in range(0, len(ids), batch):
        with runtime.sessions.begin() as s:
            chunk = ids[n : n + batch]
            s.execute(
                update(ServiceRequest)
                .where(ServiceRequest.id.in_(chunk))
                .values(assignee_id=users[n // batch % len(users)], state=RequestState.ASSIGNED)
            )
    return time.perf_counter() - start


def _assigner(url: str, batch: int, go: mp.synchronize.Event, out: mp.Queue[int]) -> None:
    from servicehub.routing.assign import assign_backlog

    runtime = runtime_for(url)
    with runtime.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    go.wait()
    out.put(assign_backlog(runtime, batch=batch))
    runtime.close()


def assigners(url: str, count: int, batch: int) -> tuple[float, int]:
    ctx = mp.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_assigner, args=(url, batch, go, out)) for _ in range(count)]
    for p in procs:
        p.start()
    time.sleep(3.0)  # let every process import and connect before the clock starts
    start = time.perf_counter()
    go.set()
    total = sum(out.get() for _ in procs)
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join()
    return elapsed, total


def verify(runtime: Runtime, requests: int) -> None:
    with runtime.sessions() as s:
        unassigned = s.scalar(select(func.count()).where(ServiceRequest.assignee_id.is_(None)))
        per_request = Counter(s.scalars(select(Assignment.request_id).where(Assignment.user_id.is_not(None))))
    if unassigned or len(per_request) != requests or set(per_request.values()) != {1}:
        raise SystemExit(
            f"WRONG: {unassigned} unassigned, {len(per_request)} assigned, "
            f"max assignments per request {max(per_request.values(), default=0)}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--assigners", type=int, default=4)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    print(machine())
    print(
        f"{args.requests} requests, {OPERATORS} operators over {ACCOUNTS} accounts, batches of {args.batch}"
    )
    with scratch_database("hub_bench_routing") as url:
        measure(args, url)
    return 0


def measure(args: argparse.Namespace, url: str) -> None:
    runtime = runtime_for(url)
    try:
        migrate.upgrade(runtime.engine)
        seed(runtime, args.requests)
        reset(runtime)
        bare = bare_update(runtime, args.batch)
        print(f"baseline, bare batched UPDATE of the same rows:  {args.requests / bare:10,.0f} rows/s")
        reset(runtime)
        one, n1 = assigners(url, 1, args.batch)
        verify(runtime, args.requests)
        print(f"baseline, 1 assigner process:                    {n1 / one:10,.0f} assignments/s")
        reset(runtime)
        many, n = assigners(url, args.assigners, args.batch)
        verify(runtime, args.requests)
        rate = n / many
        print(
            f"{args.assigners} concurrent assigner processes:                {rate:10,.0f} assignments/s "
            f"({rate / (n1 / one):.2f}x one assigner, {rate / (args.requests / bare):.2f}x bare UPDATE); "
            "every request assigned exactly once"
        )
    finally:
        runtime.close()


if __name__ == "__main__":
    raise SystemExit(main())
