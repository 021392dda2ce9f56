# ruff: noqa: E501 -- the report lines read better unwrapped
"""Engagement tracking's API cost: calls per tracked post per hour, beside the naive figure.

    .venv/bin/python bench/tracking.py [--posts 500] [--accounts 4] [--minutes 60]

Starts the platform simulator, connects ``--accounts`` Weibo accounts to a hub on a scratch
PostgreSQL database, gives them ``--posts`` posts in all (made on the simulator, tracked by
the hub as sent publications) and runs the hub's tracking task every 20 s of a simulated
hour (``track_due(now=...)``, every call a real ``statuses/count`` over HTTP). Two shapes:

- ``fresh``: every post went out in the hour before (a campaign day: the costly case, each
  post on its every-minute-then-every-5-minutes schedule);
- ``steady``: post ages spread evenly over the week a post is followed.

For each it prints the calls the hub made and the samples it took, per post and hour, beside
the naive way -- one ``statuses/count`` call per post per sample, each post read exactly when
its schedule says -- and checks the hub's count against the calls the simulator answered.
The hub takes more samples than the schedule asks (a post due soon rides along in a call
made anyway), for far fewer calls.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import delete

from bench.harness import machine, scratch_database
from servicehub.accounts.registration import register_account
from servicehub.adapters.simulator.server import run_simulator_in_thread
from servicehub.core import migrate
from servicehub.core.db import utcnow
from servicehub.core.models import (
    DeliveryState,
    EngagementSnapshot,
    OrgKind,
    OutboundKind,
    OutboundMessage,
    TrackedPost,
)
from servicehub.core.roles import ensure_default_roles
from servicehub.core.runtime import build_runtime, set_runtime
from servicehub.core.settings import load_settings
from servicehub.core.users import ensure_org
from servicehub.publishing.tracking import interval, track_due

STEP = timedelta(seconds=20)  # the task's period (publishing.track)
WEEK = timedelta(days=7)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--minutes", type=int, default=60)
    args = parser.parse_args()
    print(machine())
    sim = run_simulator_in_thread("127.0.0.1", 0, seed=3, rate=0.0)
    try:
        with scratch_database("hub_bench_tracking") as url, tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(env={"HUB_SETTINGS": str(Path(tmp) / "absent.toml")})
            settings = dataclasses.replace(
                settings,
                hub=dataclasses.replace(settings.hub, data_dir=tmp, secret_key="bench-secret-" + "x" * 40),
                database=dataclasses.replace(settings.database, url=url),
                # budgets far above the calls made: the bench counts what tracking asks for
                listener=dataclasses.replace(settings.listener, hourly_budget=100_000),
                platforms={"weibo": {"api_base": sim.base_url, "app_key": "bench", "app_secret": "bench-s"}},
            )
            runtime = build_runtime(settings)
            migrate.upgrade(runtime.engine)
            set_runtime(runtime)
            accounts = _accounts(runtime, sim.base_url, args.accounts, args.posts)
            print(
                f"{args.posts} tracked posts over {args.accounts} accounts, tracking every {STEP.seconds} s "
                f"for {args.minutes} simulated minutes (budget {settings.listener.hourly_budget}/h per account)"
            )
            print(
                f"{'shape':8} {'calls':>7} {'samples/post/h':>13} {'calls/post/h':>13} {'naive calls/post/h':>19} "
                f"{'saving':>7} {'sim answered':>13} {'wall s':>7}"
            )
            for shape in ("fresh", "steady"):
                _run(runtime, sim.base_url, accounts, shape, args.posts, args.minutes)
            set_runtime(None)
            runtime.close()
    finally:
        sim.stop()


def _accounts(runtime: object, base: str, n: int, posts: int) -> list[tuple[int, list[str]]]:
    """``n`` accounts in the simulator and the hub, with their posts' ids (``posts`` in all)."""
    found = []
    with httpx.Client(base_url=base, timeout=30) as control:
        for i in range(n):
            share = posts // n + (1 if i < posts % n else 0)
            control.post("/_sim/limits", json={"user_per_hour": 100_000, "ip_per_hour": 1_000_000})
            made = control.post(
                "/_sim/accounts",
                json={
                    "screen_name": f"联通客服{i + 1}",
                    "app_key": "bench",
                    "app_secret": "bench-s",
                    "seed_posts": share,
                },
            ).json()
            TOKENS.append(made["access_token"])
            ids: list[str] = []
            max_id = None
            while len(ids) < share:
                params = {"access_token": made["access_token"], "count": 100}
                if max_id is not None:
                    params["max_id"] = max_id
                page = control.get("/2/statuses/user_timeline.json", params=params).json()["statuses"]
                if not page:
                    break
                ids += [s["idstr"] for s in page]
                max_id = int(page[-1]["idstr"]) - 1
            with runtime.sessions.begin() as s:  # type: ignore[attr-defined]
                ensure_default_roles(s)
                org = ensure_org(s, "总部客服中心", OrgKind.IN_HOUSE)
                account = register_account(
                    s,
                    runtime,  # type: ignore[arg-type]
                    platform="weibo",
                    platform_uid=str(made["uid"]),
                    display_name=made["screen_name"],
                    access_token=made["access_token"],
                    expires_at=None,
                    org=org,
                )
                found.append((account.id, ids[:share]))
    return found


def _seed(runtime: object, accounts: list[tuple[int, list[str]]], shape: str, start: object) -> None:
    rng = random.Random(7)
    with runtime.sessions.begin() as s:  # type: ignore[attr-defined]
        s.execute(delete(EngagementSnapshot))
        s.execute(delete(TrackedPost))
        s.execute(delete(OutboundMessage))
        for account_id, ids in accounts:
            for platform_id in ids:
                age = rng.uniform(0, 3600) if shape == "fresh" else rng.uniform(0, WEEK.total_seconds())
                sent_at = start - timedelta(seconds=age)  # type: ignore[operator]
                row = OutboundMessage(
                    account_id=account_id,
                    kind=OutboundKind.POST,
                    target={"kind": "post", "category": "announcement"},
                    text="bench",
                    idempotency_key=f"bench:{shape}:{platform_id}",
                    state=DeliveryState.SENT,
                    platform_id=platform_id,
                    sent_at=sent_at,
                )
                s.add(row)
                s.flush()
                # as tracking left it: the next sample due within its current interval
                every = interval(start - sent_at) or timedelta(hours=12)  # type: ignore[operator]
                s.add(
                    TrackedPost(
                        outbound_id=row.id,
                        account_id=account_id,
                        platform_id=platform_id,
                        sent_at=sent_at,
                        next_at=start + timedelta(seconds=rng.uniform(0, every.total_seconds())),  # type: ignore[operator]
                        samples=1,  # followed since it went out
                    )
                )


TOKENS: list[str] = []


def _sim_count_calls(base: str) -> int:
    """Calls the simulator has counted against the accounts' hourly quotas (tracking's reads
    are the only counted calls in this bench): the sum of their used hits."""
    used = 0
    for token in TOKENS:
        status = httpx.get(
            f"{base}/2/account/rate_limit_status.json", params={"access_token": token}, timeout=10
        ).json()
        used += int(status["user_limit"]) - int(status["remaining_user_hits"])
    return used


def _naive_calls(runtime: object, end: object) -> int:
    """One call per post per sample on the same schedule, each post read when it is due."""
    from sqlalchemy import select

    calls = 0
    with runtime.sessions() as s:  # type: ignore[attr-defined]
        for post in s.scalars(select(TrackedPost)):
            at = post.next_at
            while at is not None and at < end:  # type: ignore[operator]
                calls += 1
                every = interval(at - post.sent_at)
                at = None if every is None else at + every
    return calls


def _run(
    runtime: object, base: str, accounts: list[tuple[int, list[str]]], shape: str, posts: int, minutes: int
) -> None:
    start = utcnow()
    _seed(runtime, accounts, shape, start)
    before = _sim_count_calls(base)  # the timeline reads that found the posts are counted too
    calls = samples = 0
    now = start
    end = start + timedelta(minutes=minutes)
    naive_calls = _naive_calls(runtime, end)
    began = time.perf_counter()
    while now < end:
        report = track_due(runtime, now=now)  # type: ignore[arg-type]
        calls += report.calls
        samples += report.sampled
        now += STEP
    wall = time.perf_counter() - began
    hours = minutes / 60
    answered = _sim_count_calls(base)
    sim_calls = str(answered - before) if before >= 0 and answered >= 0 else "n/a"
    per_post = calls / posts / hours
    naive = naive_calls / posts / hours
    print(
        f"{shape:8} {calls:>7} {samples / posts / hours:>13.2f} {per_post:>13.3f} {naive:>19.3f} {naive / per_post if per_post else 0:>6.1f}x "
        f"{sim_calls:>13} {wall:>7.1f}"
    )


if __name__ == "__main__":
    main()
