"""Dashboard figures against counts worked out by hand, on SQLite and PostgreSQL.

The data set straddles the end of January in Shanghai time: a message at 2026-01-31T16:30Z
is 1 February there. Requests span the month end, one is reopened, one is answered across a
weekend by an operator with office hours, one waits unanswered past its due time; one
account is operated by a partner company, whose supervisor must see only that account.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from servicehub.analytics import histogram
from servicehub.analytics.charts import Dashboard
from servicehub.analytics.clock import Grain
from servicehub.analytics.fans import fans
from servicehub.analytics.filters import Filters
from servicehub.analytics.graph import graph
from servicehub.analytics.rollup import rebuild, run
from servicehub.analytics.service import service
from servicehub.analytics.trends import trends
from servicehub.core.models import FollowerSnapshot, RequestState, ServiceRequest, Team, User
from servicehub.core.permissions import Principal
from servicehub.core.runtime import Runtime
from servicehub.core.users import create_user
from tests.analytics.support import add_customer, add_message, add_request, local
from tests.factories import PASSWORD, World, build_world, principal_of

NOW = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
WINTER = Filters(first=date(2026, 1, 1), last=date(2026, 2, 28), grain=Grain.MONTH)
FEBRUARY = Filters(first=date(2026, 2, 1), last=date(2026, 2, 28), grain=Grain.MONTH)


@dataclass(frozen=True)
class Data:
    world: World
    manager: Principal
    psup: Principal
    zhangwei: Principal
    team: int
    r3: int
    customers: dict[str, int]


@pytest.fixture
def data(runtime: Runtime) -> Data:
    world = build_world(runtime)
    a, p = world.inhouse_account_id, world.partner_account_id
    with runtime.sessions.begin() as s:
        partner_org = s.get(User, world.partner_id).org  # type: ignore[union-attr]
        psup = create_user(
            s, "psup", PASSWORD, org=partner_org, roles=["partner_supervisor"], display_name="孙主管"
        )
        liuyang = s.get(User, world.operator2_id)
        assert liuyang is not None
        liuyang.shifts = [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}]
        team = Team(name="宽带组", org_id=world.inhouse_org_id)
        s.add(team)
        s.flush()
        ming = add_customer(s, "小明", "1001", followers=50)
        hong = add_customer(s, "小红", "1002", followers=5000)
        wang = add_customer(s, "老王", "1003", followers=200)
        qiang = add_customer(s, "阿强", "1004", followers=10)
        zw, ly = world.operator_id, world.operator2_id
        r1 = add_request(
            s,
            a,
            ming,
            local(2026, 1, 10, 9),
            responded=local(2026, 1, 10, 9, 30),
            resolved=local(2026, 1, 10, 11),
            due=local(2026, 1, 10, 10),
            assignee_id=zw,
            team_id=team.id,
        )
        add_request(
            s,
            a,
            hong,
            local(2026, 1, 31, 23),
            responded=local(2026, 2, 1, 0, 10),
            resolved=local(2026, 2, 2, 10),
            due=local(2026, 1, 31, 23, 30),
            assignee_id=zw,
        )
        r3 = add_request(
            s,
            a,
            wang,
            local(2026, 1, 20, 10),
            responded=local(2026, 1, 20, 10, 5),
            resolved=local(2026, 1, 21, 10),
            due=local(2026, 1, 20, 10, 30),
            assignee_id=zw,
        )
        add_request(
            s,
            p,
            qiang,
            local(2026, 1, 15, 10),
            responded=local(2026, 1, 15, 10, 45),
            resolved=local(2026, 1, 15, 11),
            due=local(2026, 1, 15, 11),
            assignee_id=world.partner_id,
        )
        add_request(
            s,
            a,
            ming,
            local(2026, 1, 16, 17, 30),
            responded=local(2026, 1, 19, 9, 15),
            due=local(2026, 1, 16, 18, 30),
            assignee_id=ly,
            state=RequestState.IN_PROGRESS,
        )
        add_request(
            s, a, hong, local(2026, 1, 25, 11), due=local(2026, 1, 25, 12), state=RequestState.ASSIGNED
        )
        # January (Shanghai): the last minute of the month, and a mention on the 10th.
        add_message(
            s,
            a,
            datetime(2026, 1, 31, 15, 59, tzinfo=UTC),
            text="宽带断网了，师傅什么时候上门",
            customer=ming,
            sentiment="negative",
        )
        add_message(s, a, local(2026, 1, 10, 8), text="信号太差了", customer=ming, sentiment="positive")
        # February (Shanghai) from 00:30 on the 1st, which is still January 31 in UTC.
        add_message(
            s,
            a,
            datetime(2026, 1, 31, 16, 30, tzinfo=UTC),
            text="//@小红:信号差",
            customer=ming,
            sentiment="negative",
            raw={"retweeted_status": {"user": {"idstr": "1002"}}},
        )
        add_message(s, a, local(2026, 2, 2, 10), kind="comment", text="5G套餐资费太贵", customer=hong)
        add_message(
            s,
            a,
            local(2026, 2, 2, 11),
            kind="comment",
            text="回复@小明:同意，信号真的差",
            customer=wang,
            sentiment="negative",
            raw={"reply_comment": {"user": {"idstr": "1001"}}},
        )
        add_message(
            s,
            a,
            local(2026, 2, 3, 9),
            kind="private_message",
            text="话费扣费不对 13812345678",
            customer=hong,
            sentiment="negative",
        )
        add_message(
            s,
            a,
            local(2026, 2, 3, 10),
            kind="comment_mention",
            text="宽带又断网，投诉",
            customer=ming,
            sentiment="negative",
            request=r1,
        )
        add_message(
            s, a, local(2026, 2, 4, 10), text="加微信领流量", sentiment=None, keep=False, reason="spam"
        )
        add_message(
            s,
            a,
            local(2026, 2, 5, 10),
            kind="event",
            text="关注事件消息",
            customer=wang,
            sentiment=None,
            keep=False,
            reason="event",
            raw={"type": "event", "data": {"subtype": "follow"}},
        )
        add_message(
            s,
            a,
            local(2026, 2, 5, 11),
            kind="event",
            text="取消关注事件消息",
            customer=ming,
            sentiment=None,
            keep=False,
            reason="event",
            raw={"type": "event", "data": {"subtype": "unfollow"}},
        )
        add_message(s, p, local(2026, 2, 2, 9), text="宽带断网了", customer=qiang, sentiment="negative")
        s.add(
            FollowerSnapshot(
                account_id=a, taken_at=local(2026, 1, 30, 12), followers=1000, new_followers=None
            )
        )
        s.add(
            FollowerSnapshot(account_id=a, taken_at=local(2026, 2, 1, 0, 10), followers=1003, new_followers=2)
        )
        ids = {"小明": ming.id, "小红": hong.id, "老王": wang.id, "阿强": qiang.id}
        team_id, r3_id, psup_id = team.id, r3.id, psup.id
    run(runtime, now=NOW)
    with runtime.sessions() as s:
        return Data(
            world,
            principal_of(s, world.manager_id),
            principal_of(s, psup_id),
            principal_of(s, world.operator_id),
            team_id,
            r3_id,
            ids,
        )


def series(board: Dashboard, key: str) -> dict[str, list[float | int | None]]:
    chart = next(c for c in board.charts if c.key == key)
    return {s.name: list(s.data) for s in chart.series}


def total(found: dict[str, list[float | int | None]]) -> int:
    return int(sum(v or 0 for values in found.values() for v in values))


def test_interactions_by_kind_and_month_in_shanghai_time(runtime: Runtime, data: Data) -> None:
    with runtime.sessions() as s:
        kinds = series(trends(s, data.manager, WINTER), "trends-interactions")
    assert kinds == {
        "analytics.interaction.comment": [0, 1],
        "analytics.interaction.reply": [0, 1],
        "analytics.interaction.repost": [0, 1],
        "analytics.interaction.mention": [2, 2],
        "analytics.interaction.dm": [0, 1],
    }


def test_sentiment_mix(runtime: Runtime, data: Data) -> None:
    with runtime.sessions() as s:
        feelings = series(trends(s, data.manager, WINTER), "trends-sentiment")
    assert feelings == {
        "analytics.sentiment.positive": [1, 0],
        "analytics.sentiment.neutral": [0, 1],
        "analytics.sentiment.negative": [1, 5],
    }


def test_keywords_against_the_period_before(runtime: Runtime, data: Data) -> None:
    with runtime.sessions() as s:
        board = trends(s, data.manager, FEBRUARY)
    table = next(t for t in board.tables if t.key == "trends-keywords-table")
    found = {row[0].value: (row[1].value, row[2].value) for row in table.rows}
    assert found["信号"] == (2, 1)
    assert found["宽带"] == (2, 1)
    assert found["资费"] == (1, 0)
    assert "客服" not in found and "13812345678" not in found
    assert [row[0].value for row in table.rows][:2] == ["信号", "宽带"]  # ties: by code point


def test_a_partner_supervisor_counts_only_its_company_s_account(runtime: Runtime, data: Data) -> None:
    with runtime.sessions() as s:
        kinds = series(trends(s, data.psup, WINTER), "trends-interactions")
        volume = series(service(s, data.psup, WINTER, now=NOW), "service-volume")
        times = series(service(s, data.psup, WINTER, now=NOW), "service-times")
        board = fans(s, data.psup, WINTER)
    assert kinds["analytics.interaction.mention"] == [0, 1]
    assert total(kinds) == 1
    assert volume == {"analytics.col.received": [1, 0], "analytics.col.resolved": [1, 0]}
    assert times["analytics.col.frt_median"] == [45, None]
    top = next(t for t in board.tables if t.key == "fans-top-table")
    assert [row[0].value for row in top.rows] == ["阿强"]
    assert series(board, "fans-followers") == {}  # the in-house account's snapshots are not its to see


def test_service_figures_by_month(runtime: Runtime, data: Data) -> None:
    with runtime.sessions() as s:
        board = service(s, data.manager, WINTER, now=NOW)
    assert series(board, "service-volume") == {
        "analytics.col.received": [6, 0],
        "analytics.col.resolved": [3, 1],  # R1, R3, R4 in January; R2 (opened in January) in February
    }
    times = series(board, "service-times")
    # First responses in January: 30, 5, 45 (partner), 45 (Friday 17:30 -> Monday 09:15 in office hours).
    assert times["analytics.col.frt_median"] == [30, 70]
    assert times["analytics.col.frt_p90"] == [45, 70]
    # Resolutions in January: 120 (R1), 60 (R4), 24 h (R3); in February 35 h (R2, opened January 31).
    assert times["analytics.col.ttr_median"] == [120, histogram.floor_to_bin(35 * 60)]
    assert times["analytics.col.ttr_p90"] == [
        histogram.floor_to_bin(24 * 60),
        histogram.floor_to_bin(35 * 60),
    ]
    sla = series(board, "service-sla")
    # Due in January: R1, R3, R4 met; R2 missed (due 23:30 on the 31st), R5 missed, R6 unanswered.
    assert sla["analytics.col.sla_due"] == [6, 0]
    assert sla["analytics.col.sla_missed"] == [3, 0]
    assert sla["analytics.col.sla"] == [50.0, None]
    assert series(board, "service-backlog")["analytics.col.open"] == [0, 0, 0, 0, 0, 2]
    assert series(board, "service-dropped") == {"analytics.col.messages": [1]}


def test_business_hours_and_per_operator(runtime: Runtime, data: Data) -> None:
    january = replace(WINTER, last=date(2026, 1, 31))
    with runtime.sessions() as s:
        board = service(s, data.manager, january, now=NOW)
    people = {row[0].value: row for row in next(t for t in board.tables if t.key == "service-operators").rows}
    assert people["刘洋"][3].value == 45  # frt median: 30 min on Friday + 15 on Monday
    assert people["张伟"][1].value == 3 and people["张伟"][2].value == 2  # received R1-R3; resolved R1, R3


def test_a_reopened_request_counts_where_it_was_last_resolved(runtime: Runtime, data: Data) -> None:
    with runtime.sessions.begin() as s:
        request = s.get(ServiceRequest, data.r3)
        assert request is not None
        request.state = RequestState.IN_PROGRESS
    run(runtime, now=NOW)
    with runtime.sessions() as s:
        board = service(s, data.manager, WINTER, now=NOW)
        assert series(board, "service-volume")["analytics.col.resolved"] == [2, 1]
        assert series(board, "service-backlog")["analytics.col.open"][-1] == 3
    with runtime.sessions.begin() as s:
        request = s.get(ServiceRequest, data.r3)
        assert request is not None
        request.state, request.resolved_at = RequestState.RESOLVED, local(2026, 2, 3, 10)
    run(runtime, now=NOW)
    with runtime.sessions() as s:
        board = service(s, data.manager, WINTER, now=NOW)
    assert series(board, "service-volume")["analytics.col.resolved"] == [2, 2]
    assert series(board, "service-times")["analytics.col.ttr_p90"][1] == histogram.floor_to_bin(14 * 24 * 60)


def test_team_filter(runtime: Runtime, data: Data) -> None:
    only = replace(WINTER, team_ids=(data.team,))
    with runtime.sessions() as s:
        assert series(service(s, data.manager, only, now=NOW), "service-volume")[
            "analytics.col.received"
        ] == [1, 0]
        kinds = series(trends(s, data.manager, only), "trends-interactions")
    assert kinds["analytics.interaction.mention"] == [0, 1]  # the comment that joined R1
    assert total(kinds) == 1


def test_fans_followers_gains_and_top_fans(runtime: Runtime, data: Data) -> None:
    with runtime.sessions() as s:
        board = fans(s, data.manager, WINTER)
    assert series(board, "fans-followers") == {"中国联通客服": [1000, 1003]}
    # February: a follow and an unfollow event on the 5th; on the 1st (no events) the snapshot
    # listed two new fans while the count rose by three.
    assert series(board, "fans-changes") == {"analytics.fans.gained": [0, 3], "analytics.fans.lost": [0, -1]}
    with runtime.sessions() as s:
        february = fans(s, data.manager, FEBRUARY)
    top = {
        row[0].value: row[1].value
        for row in next(t for t in february.tables if t.key == "fans-top-table").rows
    }
    assert top == {"小明": 2, "小红": 2, "老王": 1, "阿强": 1}
    influence = [
        row[0].value for row in next(t for t in february.tables if t.key == "fans-influence-table").rows
    ]
    assert influence == ["小红", "老王", "小明", "阿强"]


def test_relationship_graph(runtime: Runtime, data: Data) -> None:
    one = replace(FEBRUARY, account_ids=(data.world.inhouse_account_id,))
    with runtime.sessions() as s:
        board = graph(s, data.manager, one)
    shown = board.charts[0].graph
    assert shown is not None
    names = {n["id"]: n["name"] for n in shown["nodes"]}
    ties = {(names[link["source"]], names[link["target"]], link["kind"]) for link in shown["links"]}
    assert ("小明", "小红", "repost") in ties
    assert ("老王", "小明", "reply") in ties
    assert ("小红", "中国联通客服", "interaction") in ties
    moods = {n["name"]: n["category"] for n in shown["nodes"]}
    assert moods["小明"] == "negative" and moods["中国联通客服"] == "account"
    assert "阿强" not in names.values()


def test_rollup_is_idempotent_and_rebuild_gives_the_same_figures(runtime: Runtime, data: Data) -> None:
    def snapshot() -> list[object]:
        with runtime.sessions() as s:
            return [
                series(trends(s, data.manager, WINTER), "trends-interactions"),
                series(service(s, data.manager, WINTER, now=NOW), "service-times"),
                series(fans(s, data.manager, WINTER), "fans-changes"),
            ]

    before = snapshot()
    run(runtime, now=NOW)
    run(runtime, now=NOW)
    assert snapshot() == before
    rebuild(runtime, now=NOW)
    assert snapshot() == before


def test_new_messages_restores_and_transfers_are_picked_up(runtime: Runtime, data: Data) -> None:
    a = data.world.inhouse_account_id
    with runtime.sessions.begin() as s:
        add_message(s, a, local(2026, 2, 20, 10), kind="comment", text="宽带测速很慢")
        transferred = s.scalars(select(ServiceRequest).where(ServiceRequest.id == data.r3)).one()
        transferred.team_id = data.team
    run(runtime, now=NOW)
    with runtime.sessions() as s:
        kinds = series(trends(s, data.manager, WINTER), "trends-interactions")
        assert kinds["analytics.interaction.comment"] == [0, 2]
        only = replace(WINTER, team_ids=(data.team,))
        assert series(service(s, data.manager, only, now=NOW), "service-volume")[
            "analytics.col.received"
        ] == [2, 0]
