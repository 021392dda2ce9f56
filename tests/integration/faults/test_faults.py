"""Faults survived: nothing lost, nothing doubled.

Each test breaks one part of a production hub (see ``rig.py``) while customers write and
operators answer, lets it recover, and then counts against the simulator's own records:
every item the platform holds is stored exactly once, every kept one is routed to a request
that is assigned exactly once, and every reply reached the platform exactly once -- or, when
its sender died between sending and recording, is marked ``unknown`` for a person (or the
reconciliation of issue 11) to check, and then it reached the platform at most once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, update

from servicehub.core.db import utcnow
from servicehub.core.models import (
    Account,
    Assignment,
    DeliveryState,
    Health,
    Message,
    OutboundMessage,
    PollCursor,
    ServiceRequest,
    User,
)
from servicehub.publishing.outbox import do_queue_reply
from tests.factories import principal_of
from tests.integration.faults.rig import HubRig, Injected
from tests.services import fresh_pg_database

pytestmark = pytest.mark.integration

SETTLED = (DeliveryState.SENT, DeliveryState.UNKNOWN)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubRig]:
    with fresh_pg_database() as url:
        made = HubRig(tmp_path_factory.mktemp("faults"), url)
        try:
            with made.runtime.sessions.begin() as s:  # room for every request: "assigned" is countable
                s.execute(update(User).values(capacity=100_000, shifts=[]))
            made.start_worker()
            # Every source polls once first: a source's first poll takes the newest page or two
            # and starts from there (history is not walked), so the tests' bursts come after.
            recover(made, made.inject("预热", mentions=1, comments=1), [])
            yield made
        finally:
            made.close()


@pytest.fixture(autouse=True)
def healthy(rig: HubRig) -> Iterator[None]:
    """Each test starts from a working hub, whatever the one before it left broken."""
    rig.faults(clear=True)
    if rig.redis.proc is None or rig.redis.proc.poll() is not None:
        rig.redis.start()
    rig.proxy.resume()
    if not rig.workers:
        rig.start_worker()
    yield
    rig.faults(clear=True)


# -- counting ------------------------------------------------------------------------------------


@dataclass
class Intake:
    stored: int
    kept: int
    requests: int
    assigned_once: int


def intake_state(rig: HubRig, injected: Injected) -> tuple[Counter[tuple[str, str]], list[Message]]:
    wanted = [pid for ids in injected.ids.values() for pid in ids]
    with rig.runtime.sessions() as s:
        rows = list(s.scalars(select(Message).where(Message.platform_id.in_(wanted))))
    return Counter((m.kind, m.platform_id) for m in rows), rows


def intake_missing(rig: HubRig, injected: Injected) -> str:
    """What intake still owes ("" when nothing): items not stored, not routed, not assigned."""
    seen, rows = intake_state(rig, injected)
    stored = Counter(kind for kind, _ in seen)
    if len(seen) < injected.total():
        want = {kind: len(ids) for kind, ids in injected.ids.items() if ids}
        return f"stored {dict(stored)} of {want}"
    unrouted = sum(1 for m in rows if m.keep and m.request_id is None)
    if unrouted:
        return f"{unrouted} kept messages not routed"
    request_ids = {m.request_id for m in rows if m.keep}
    with rig.runtime.sessions() as s:
        assigned = s.scalar(
            select(func.count(func.distinct(Assignment.request_id))).where(
                Assignment.request_id.in_(request_ids), Assignment.user_id.is_not(None)
            )
        )
    return "" if assigned == len(request_ids) else f"{len(request_ids) - (assigned or 0)} requests unassigned"


def intake_done(rig: HubRig, injected: Injected) -> bool:
    return not intake_missing(rig, injected)


def check_intake(rig: HubRig, injected: Injected) -> Intake:
    """Every item on the platform stored once, every kept one routed, each request assigned once."""
    seen, rows = intake_state(rig, injected)
    expected = Counter((kind, pid) for kind, ids in injected.ids.items() for pid in ids)
    assert seen == expected, f"stored {sum(seen.values())} rows for {injected.total()} platform items"
    kept = [m for m in rows if m.keep]
    assert all(m.request_id is not None for m in kept), "a kept message was never routed"
    request_ids = {m.request_id for m in kept}
    with rig.runtime.sessions() as s:
        per_request = Counter(
            s.scalars(
                select(Assignment.request_id).where(
                    Assignment.request_id.in_(request_ids), Assignment.user_id.is_not(None)
                )
            )
        )
        requests = list(s.scalars(select(ServiceRequest).where(ServiceRequest.id.in_(request_ids))))
        joined = dict(
            s.execute(
                select(Message.request_id, func.count())
                .where(Message.request_id.in_(request_ids))
                .group_by(Message.request_id)
            ).all()
        )
    assert set(per_request) == request_ids, "a request was never assigned"
    assert max(per_request.values()) == 1, f"assigned twice: {[r for r, n in per_request.items() if n > 1]}"
    assert all(r.assignee_id is not None for r in requests)
    miscounted = [r.id for r in requests if r.message_count != joined[r.id]]
    assert not miscounted, f"requests counting a message twice (or missing one): {miscounted}"
    return Intake(len(rows), len(kept), len(request_ids), len(per_request))


def kept_requests(rig: HubRig, injected: Injected, n: int) -> list[int]:
    _, rows = intake_state(rig, injected)
    return sorted({m.request_id for m in rows if m.keep and m.request_id is not None})[:n]


def queue_replies(rig: HubRig, marker: str, request_ids: list[int]) -> list[int]:
    made = []
    for n, request_id in enumerate(request_ids):
        with rig.runtime.sessions() as s:
            who = principal_of(s, rig.world.admin_id)
            outbound = do_queue_reply(
                s,
                rig.runtime,
                who,
                request_id,
                f"[{marker}-{n}] 您好，已为您安排工程师上门。",
                nonce=f"{marker}{n}",
            )
            s.commit()
            made.append(outbound.id)
    return made


def replies_done(rig: HubRig, outbound_ids: list[int]) -> bool:
    with rig.runtime.sessions() as s:
        states = list(s.scalars(select(OutboundMessage.state).where(OutboundMessage.id.in_(outbound_ids))))
    return all(state in SETTLED for state in states)


@dataclass
class Replies:
    sent: int
    unknown_arrived: int
    unknown_not_arrived: int


def check_replies(rig: HubRig, marker: str, outbound_ids: list[int]) -> Replies:
    """Sent ones are on the platform exactly once; unknown ones at most once; none left behind."""
    on_platform: Counter[int] = Counter()
    for item in rig.replies_on_platform():
        for n in range(len(outbound_ids)):
            if f"[{marker}-{n}]" in item["text"]:
                on_platform[n] += 1
    with rig.runtime.sessions() as s:
        rows = list(s.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(outbound_ids))))
    by_id = {o.id: o for o in rows}
    result = Replies(0, 0, 0)
    for n, outbound_id in enumerate(outbound_ids):
        row = by_id[outbound_id]
        count = on_platform[n]
        if row.state == DeliveryState.SENT:
            assert count == 1, f"reply {n} (outbound {outbound_id}) is on the platform {count} times"
            result.sent += 1
        else:
            assert row.state == DeliveryState.UNKNOWN, f"reply {n} was left {row.state}: {row.error}"
            assert count <= 1, f"reply {n} (unknown) is on the platform {count} times"
            if count:
                result.unknown_arrived += 1
            else:
                result.unknown_not_arrived += 1
    return result


def recover(rig: HubRig, injected: Injected, outbound_ids: list[int], timeout: float = 90) -> None:
    """Let polling and the sweeps bring everything home, as beat would."""
    deadline = time.monotonic() + timeout
    with rig.polling():
        while not (intake_done(rig, injected) and replies_done(rig, outbound_ids)):
            assert time.monotonic() < deadline, (
                f"not settled within {timeout:.0f} s: intake owes {intake_missing(rig, injected)!r}, "
                f"replies done {replies_done(rig, outbound_ids)}\n{rig.worker_output()[-3000:]}"
            )
            rig.supervise()
            rig.sweep()
            time.sleep(1.0)


def stored(rig: HubRig, injected: Injected) -> int:
    return sum(intake_state(rig, injected)[0].values())


def report(name: str, intake: Intake, replies: Replies | None = None) -> None:
    line = (
        f"{name}: {intake.stored} stored once of {intake.stored} on the platform, {intake.kept} kept, "
        f"{intake.requests} requests each assigned once"
    )
    if replies is not None:
        unknown = replies.unknown_arrived + replies.unknown_not_arrived
        line += (
            f"; replies: {replies.sent} sent once, {unknown} unknown "
            f"({replies.unknown_arrived} of them on the platform once, {replies.unknown_not_arrived} not)"
        )
    print(line)


# -- the faults ------------------------------------------------------------------------------------


def test_a_worker_killed_mid_intake_loses_and_doubles_nothing(rig: HubRig) -> None:
    injected = rig.inject("杀进程收", mentions=80, comments=40, pushes=10)
    rig.faults(latency_ms=200, paths=["/2/statuses/mentions", "/2/comments/"])  # pages come slowly
    with rig.polling():
        rig.wait(lambda: stored(rig, injected) >= 20, 60, "intake did not start")
        at_kill = stored(rig, injected)
        rig.kill_workers()
    rig.faults(clear=True)
    assert at_kill < injected.total(), "intake had finished before the kill: nothing was tested"
    rig.start_worker()
    recover(rig, injected, [])
    intake = check_intake(rig, injected)
    report(f"worker killed after {at_kill}/{injected.total()} stored", intake)


def test_a_worker_killed_mid_send_sends_nothing_twice(rig: HubRig) -> None:
    injected = rig.inject("杀进程发", mentions=10)
    recover(rig, injected, [])
    rig.faults(latency_ms=700, paths=["/2/comments/"])  # each send takes a while: kill lands mid-send
    outbound_ids = queue_replies(rig, "杀发", kept_requests(rig, injected, 20))

    def sent() -> int:
        with rig.runtime.sessions() as s:
            return (
                s.scalar(
                    select(func.count()).where(
                        OutboundMessage.id.in_(outbound_ids), OutboundMessage.state == DeliveryState.SENT
                    )
                )
                or 0
            )

    rig.wait(lambda: sent() >= 3, 60, "no reply was sent")
    rig.kill_workers()
    with rig.runtime.sessions() as s:
        states = s.scalars(select(OutboundMessage.state).where(OutboundMessage.id.in_(outbound_ids)))
        at_kill = Counter(str(state) for state in states)
    assert at_kill[str(DeliveryState.SENT)] < len(outbound_ids), "every reply was out before the kill"
    rig.faults(clear=True)
    rig.start_worker()
    recover(rig, injected, outbound_ids)
    replies = check_replies(rig, "杀发", outbound_ids)
    report(
        f"worker killed mid-send (states at the kill: {dict(at_kill)})", check_intake(rig, injected), replies
    )


def test_redis_restarted_under_traffic_loses_nothing(rig: HubRig) -> None:
    first = rig.inject("重启缓存一", mentions=10)
    recover(rig, first, [])
    injected = rig.inject("重启缓存二", mentions=40, comments=20, pushes=5)
    with rig.polling():
        outbound_ids = queue_replies(rig, "缓存", kept_requests(rig, first, 20))
        time.sleep(0.5)
        rig.redis.kill()  # broker, event bus and budgets gone; whatever was queued is lost
        during = rig.inject("重启缓存三", mentions=5, pushes=5)  # pushes arrive while Redis is down
        late_replies = queue_replies(rig, "缓存迟", kept_requests(rig, injected, 3))
        time.sleep(3)
        rig.redis.start()
    everything = Injected({k: injected.ids[k] + during.ids[k] for k in injected.ids})
    recover(rig, everything, outbound_ids + late_replies)
    intake = check_intake(rig, everything)
    replies = check_replies(rig, "缓存", outbound_ids)
    check_replies(rig, "缓存迟", late_replies)
    report(f"Redis killed and restarted empty (workers restarted: {rig.restarted})", intake, replies)


def test_postgres_paused_then_restarted_loses_nothing(rig: HubRig) -> None:
    first = rig.inject("暂停库一", mentions=10)
    recover(rig, first, [])
    injected = rig.inject("暂停库二", mentions=40, comments=20, pushes=5)
    with rig.polling():
        outbound_ids = queue_replies(rig, "暂停", kept_requests(rig, first, 20))
        time.sleep(0.5)
        rig.proxy.pause()  # every query in flight and every new connection waits
        time.sleep(4)
        rig.proxy.resume()
        time.sleep(1)
        rig.proxy.cut()  # then a restart: every connection is gone
    recover(rig, injected, outbound_ids)
    intake = check_intake(rig, injected)
    replies = check_replies(rig, "暂停", outbound_ids)
    report("PostgreSQL paused 4 s, then every connection cut", intake, replies)


def test_platform_errors_timeouts_limits_and_expired_tokens(rig: HubRig) -> None:
    first = rig.inject("平台故障一", mentions=12)
    recover(rig, first, [])
    injected = rig.inject("平台故障二", mentions=30, comments=15, pushes=5)
    outbound_ids: list[int] = []
    with rig.polling():
        rig.faults(fail_rate=0.3)  # 5xx on reads and writes (before the platform acts)
        outbound_ids += queue_replies(rig, "五百", kept_requests(rig, first, 8))
        time.sleep(4)
        rig.faults(clear=True)
        rig.faults(
            latency_ms=2500, paths=["/2/statuses/mentions", "/2/comments/mentions", "/2/comments/to_me"]
        )
        time.sleep(4)  # polls time out (1.5 s) and back off
        rig.faults(clear=True)
        rig.faults(rate_limit_storm=True)
        outbound_ids += queue_replies(rig, "限流", kept_requests(rig, first, 12)[8:])
        time.sleep(3)
        rig.faults(clear=True)
        with rig.runtime.sessions.begin() as s:  # the hour ends: the platform's limits reset
            s.execute(update(Account).values(rate_limited_until=None, health=Health.OK, health_detail=""))
            s.execute(update(PollCursor).values(next_poll_at=utcnow()))
        for uid in rig.accounts.values():
            rig.faults(expire_account=uid)
        later = rig.inject("平台故障三", mentions=5)
        time.sleep(3)
        for account_id in rig.accounts:  # an administrator authorizes the accounts again
            rig.reauthorize(account_id)
    everything = Injected({k: injected.ids[k] + later.ids[k] for k in injected.ids})
    recover(rig, everything, outbound_ids)
    with rig.runtime.sessions() as s:
        healthy = s.scalars(select(Account.health)).all()
    assert set(healthy) == {Health.OK}
    intake = check_intake(rig, everything)
    replies = check_replies(rig, "五百", outbound_ids[:8])
    limited = check_replies(rig, "限流", outbound_ids[8:])
    assert replies.unknown_arrived + replies.unknown_not_arrived == 0  # a 5xx before acting: resent once
    assert limited.unknown_arrived + limited.unknown_not_arrived == 0
    report("5xx 30 %, read timeouts, a rate-limit storm, expired tokens", intake, replies)


def test_a_reply_whose_answer_timed_out_reaches_the_platform_once(rig: HubRig) -> None:
    """The simulator gives up a write whose client has gone (it does not act on it), so the
    resend after the timeout is the only copy. A platform that acts anyway is issue 11's
    reconciliation; this test keeps the resend itself from doubling."""
    first = rig.inject("写超时", mentions=3)
    recover(rig, first, [])
    rig.faults(latency_ms=2500, paths=["/2/comments/"])  # the platform acts, the answer comes too late
    outbound_ids = queue_replies(rig, "写超时", kept_requests(rig, first, 3))
    with rig.polling():
        time.sleep(6)
    rig.faults(clear=True)
    recover(rig, first, outbound_ids)
    check_replies(rig, "写超时", outbound_ids)
