"""The rollup task as it runs in production: concurrently, twice, with rows committed late;
and the pieces around it -- alerts, drill-down pages, posts, follower snapshots, panels."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from servicehub.adapters.base import FollowerPage, PlatformUser
from servicehub.analytics.alerts import active_alerts
from servicehub.analytics.charts import Chart, Series
from servicehub.analytics.clock import Calendar, Grain
from servicehub.analytics.filters import Filters
from servicehub.analytics.panels import SERVICE_PANELS, ServicePanel
from servicehub.analytics.publishing import publishing
from servicehub.analytics.rollup import rebuild, run, run_lock
from servicehub.analytics.rows import page
from servicehub.analytics.service import service
from servicehub.analytics.snapshots import record_snapshot
from servicehub.analytics.trends import trends
from servicehub.core.models import (
    EngagementSnapshot,
    Follower,
    FollowerSnapshot,
    Grant,
    KeywordDaily,
    MessageDaily,
    OutboundMessage,
    Role,
    Scope,
    User,
)
from servicehub.core.runtime import Runtime
from servicehub.core.users import create_user
from servicehub.workbench.i18n import has_text
from tests.analytics.support import add_customer, add_message, local
from tests.concurrency import run_at_once
from tests.factories import PASSWORD, build_world, principal_of

SHANGHAI = Calendar.named("Asia/Shanghai")


def _totals(runtime: Runtime) -> tuple[int, int]:
    with runtime.sessions() as s:
        return (
            int(s.scalar(select(func.sum(MessageDaily.messages))) or 0),
            int(s.scalar(select(func.count()).select_from(KeywordDaily)) or 0),
        )


def test_concurrent_runs_count_every_message_once(pg_runtime: Runtime) -> None:
    world = build_world(pg_runtime)
    with pg_runtime.sessions.begin() as s:
        fan = add_customer(s, "小明", "1001")
        for i in range(40):
            add_message(
                s, world.inhouse_account_id, local(2026, 2, 1 + i % 20, 10), text="宽带断网了", customer=fan
            )
    results = run_at_once([lambda: run(pg_runtime), lambda: run(pg_runtime)])
    assert sorted(r.ran for r in results) in ([False, True], [True, True])
    run(pg_runtime)
    assert _totals(pg_runtime)[0] == 40
    with run_lock(pg_runtime, wait=False) as got:
        assert got
        assert not run(pg_runtime).ran  # another run holds the lock: this one leaves the work to it


def test_a_row_committed_late_is_still_counted(runtime: Runtime) -> None:
    world = build_world(runtime)
    with runtime.sessions.begin() as s:
        add_message(s, world.inhouse_account_id, local(2026, 2, 1), text="第一条", id=1000)
        add_message(s, world.inhouse_account_id, local(2026, 2, 2), text="第二条", id=1001)
    now = datetime.now(UTC)
    run(runtime, now=now)
    assert _totals(runtime)[0] == 2
    # A message whose id is below the watermark (another transaction took it first, committed later).
    with runtime.sessions.begin() as s:
        add_message(s, world.inhouse_account_id, local(2026, 2, 3), text="晚到的一条", id=999)
    run(runtime, now=now + timedelta(minutes=2))
    assert _totals(runtime)[0] == 3
    run(runtime, now=now + timedelta(minutes=4))
    assert _totals(runtime)[0] == 3  # read again, counted once


def test_alerts_name_the_spike_and_its_messages_within_scope(runtime: Runtime) -> None:
    world = build_world(runtime)
    today = SHANGHAI.day_of(datetime.now(UTC))
    with runtime.sessions.begin() as s:
        fan = add_customer(s, "小明", "1001")
        for back in range(1, 8):  # a usual week: two complaints a day
            for hour in (9, 15):
                day = today - timedelta(days=back)
                at = SHANGHAI.start_of(day) + timedelta(hours=hour)
                add_message(
                    s, world.inhouse_account_id, at, text="信号不好", customer=fan, sentiment="negative"
                )
        for minute in range(12):  # today: twelve about a broadband outage, one with a phone number
            at = SHANGHAI.start_of(today) + timedelta(minutes=minute)
            text = "宽带断网了，回电13812345678" if minute == 0 else "宽带断网了"
            add_message(s, world.inhouse_account_id, at, text=text, customer=fan, sentiment="negative")
        partner = s.get(User, world.partner_id)
        assert partner is not None
        psup = create_user(s, "psup", PASSWORD, org=partner.org, roles=["partner_supervisor"])
        psup_id = psup.id
    run(runtime)
    with runtime.sessions() as s:
        manager = principal_of(s, world.manager_id)
        found = active_alerts(s, manager, settings=runtime.settings.analytics)
        kinds = {(a.kind, a.keyword) for a in found}
        assert ("negative", None) in kinds and ("keyword", "宽带") in kinds
        negative = next(a for a in found if a.kind == "negative")
        assert negative.count == 12 and negative.usual == 2.0 and negative.day == today
        assert negative.drill["sentiment"] == "negative" and len(negative.samples) == 3
        assert active_alerts(s, principal_of(s, psup_id), settings=runtime.settings.analytics) == []


def test_drill_down_pages_by_keyset_and_masks_for_who_may_not_see_phones(runtime: Runtime) -> None:
    world = build_world(runtime)
    with runtime.sessions.begin() as s:
        for i in range(7):
            add_message(s, world.inhouse_account_id, local(2026, 2, 1, 10, i), text=f"第{i}条 13812345678")
        partner = s.get(User, world.partner_id)
        assert partner is not None
        reader = Role(name="reader", label="只读分析")
        reader.grants = [Grant(function="analytics.view", scope=Scope.ALL)]
        s.add(reader)
        viewer = create_user(s, "viewer", PASSWORD, org=partner.org, roles=[])
        viewer.roles = [reader]
        s.flush()
        viewer_id = viewer.id
    filters = Filters(first=date(2026, 2, 1), last=date(2026, 2, 1))
    with runtime.sessions() as s:
        manager = principal_of(s, world.manager_id)
        first = page(s, manager, SHANGHAI, "messages", filters, {}, size=3)
        second = page(s, manager, SHANGHAI, "messages", filters, {}, after=first.next_after, size=3)
        third = page(s, manager, SHANGHAI, "messages", filters, {}, after=second.next_after, size=3)
        texts = [r[5].value for p in (first, second, third) for r in p.rows]
        assert texts == [f"第{i}条 13812345678" for i in range(6, -1, -1)] and third.next_after is None
        masked = page(s, principal_of(s, viewer_id), SHANGHAI, "messages", filters, {})
        assert masked.rows[0][5].value == "第6条 138****5678"


def test_posts_count_their_latest_engagement_by_local_hour(runtime: Runtime) -> None:
    world = build_world(runtime)
    with runtime.sessions.begin() as s:
        for i, (hour, category) in enumerate(((20, "promotion"), (20, "promotion"), (9, "announcement"))):
            post = OutboundMessage(
                account_id=world.inhouse_account_id,
                kind="post",
                target={"category": category},
                text="公告",
                idempotency_key=f"post-{i}",
                state="sent",
                sent_at=local(2026, 2, 2, hour),
            )
            s.add(post)
            s.flush()
            s.add(
                EngagementSnapshot(outbound_id=post.id, sampled_at=local(2026, 2, 2, 23), reposts=1, likes=1)
            )
            s.add(
                EngagementSnapshot(
                    outbound_id=post.id, sampled_at=local(2026, 2, 3, 23), reposts=10 * (i + 1)
                )
            )
    run(runtime)
    with runtime.sessions() as s:
        board = publishing(s, principal_of(s, world.manager_id), Filters(date(2026, 2, 1), date(2026, 2, 28)))
    by_hour = {
        c: v for c, v in zip(board.charts[1].categories, board.charts[1].series[0].data, strict=True) if v
    }
    assert by_hour == {"09:00": 1, "20:00": 2}
    assert board.extra["best_hours"] == [20]  # 30 reposts a post at 20:00 (10 and 20 + 30 / 2)
    engagement = board.charts[0].series[0].data  # reposts, latest sample of each post
    assert sum(v or 0 for v in engagement) == 10 + 20 + 30
    categories = board.charts[3]
    assert categories.category_keys  # shown in the reader's language, not as codes
    assert all(has_text(key) for key in categories.categories)  # ... which has words for each
    assert dict(zip(categories.categories, categories.series[0].data, strict=True)) == {
        "category.promotion": 2,
        "category.announcement": 1,
    }


def test_a_follower_snapshot_counts_fans_not_seen_before(runtime: Runtime) -> None:
    world = build_world(runtime)
    users = [PlatformUser("weibo", str(uid), f"粉丝{uid}", 10) for uid in (1, 2, 3)]
    now = datetime.now(UTC)
    with runtime.sessions.begin() as s:
        first = record_snapshot(s, world.inhouse_account_id, FollowerPage(users[:2], 0, 100), now)
        assert first.new_followers is None  # the first page cannot tell who is new
    with runtime.sessions.begin() as s:
        second = record_snapshot(
            s, world.inhouse_account_id, FollowerPage(users, 0, 103), now + timedelta(hours=1)
        )
        assert (second.new_followers, second.followers) == (1, 103)
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Follower)) == 3
        assert s.scalar(select(func.count()).select_from(FollowerSnapshot)) == 2


def test_other_features_add_service_panels(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    world = build_world(runtime)
    rebuild(runtime)

    def orders(session: object, who: object, filters: Filters) -> Chart:
        return Chart(
            "service-test-orders", "analytics.service.volume", ["新建"], [Series("analytics.col.open", [3])]
        )

    def broken(session: object, who: object, filters: Filters) -> Chart:
        raise RuntimeError("a panel that fails is left out")

    # registered as a feature would, and taken away again afterwards (the real panels stay)
    monkeypatch.setitem(SERVICE_PANELS, "test-orders", ServicePanel("test-orders", orders))
    monkeypatch.setitem(SERVICE_PANELS, "test-broken", ServicePanel("test-broken", broken))
    with runtime.sessions() as s:
        board = service(s, principal_of(s, world.manager_id), Filters(date(2026, 2, 1), date(2026, 2, 28)))
        assert "service-test-orders" in {c.key for c in board.charts}
        assert trends(
            s, principal_of(s, world.manager_id), Filters(date(2026, 2, 1), date(2026, 2, 28), Grain.WEEK)
        )
