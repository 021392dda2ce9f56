"""Assignment against the database: concurrency, stickiness, rules, scope, presence, supervisors."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from servicehub.core.db import utcnow
from servicehub.core.models import (
    OPEN_STATES,
    Assignment,
    AuditEvent,
    Presence,
    RequestState,
    RoutingPolicy,
    RoutingRule,
    ServiceRequest,
    Strategy,
    Team,
    User,
)
from servicehub.core.permissions import NotVisible, principal_for
from servicehub.core.runtime import Runtime
from servicehub.routing.assign import assign_backlog, assign_ids
from servicehub.routing.presence import end_finished_shifts, set_presence
from servicehub.routing.supervisor import AssignError, do_pick, do_reroute
from tests.concurrency import run_at_once
from tests.factories import World, build_world
from tests.routing.support import add_customer, add_operator, add_request


def _open_loads(runtime: Runtime) -> Counter[int]:
    with runtime.sessions() as s:
        rows = s.execute(
            select(ServiceRequest.assignee_id, func.count())
            .where(ServiceRequest.state.in_(OPEN_STATES), ServiceRequest.assignee_id.is_not(None))
            .group_by(ServiceRequest.assignee_id)
        )
        return Counter({uid: n for uid, n in rows})


def test_concurrent_assigners_never_assign_twice_lose_nothing_or_exceed_capacity(runtime: Runtime) -> None:
    world = build_world(runtime)
    with runtime.sessions.begin() as s:
        extra = [
            add_operator(s, world.inhouse_org_id, f"op{i}", (world.inhouse_account_id,), capacity=15)
            for i in range(4)
        ]
        for uid in (world.operator_id, world.operator2_id):
            user = s.get(User, uid)
            assert user is not None
            user.capacity = 15
        s.add(
            RoutingPolicy(account_id=world.inhouse_account_id, strategy=Strategy.LEAST_LOADED, sticky=False)
        )
        customers = [add_customer(s, f"c{i}").id for i in range(30)]
        for i in range(120):
            add_request(s, world.inhouse_account_id, customers[i % 30], text=f"问题{i}")
    capacity_total = 15 * (len(extra) + 2)
    results = run_at_once([lambda: assign_backlog(runtime, batch=7)] * 4)
    assert sum(results) == capacity_total  # 90 of 120 fit; nobody was given more
    loads = _open_loads(runtime)
    assert sum(loads.values()) == capacity_total and max(loads.values()) == 15 == min(loads.values())
    with runtime.sessions() as s:
        made = Counter(s.scalars(select(Assignment.request_id).where(Assignment.user_id.is_not(None))))
        assert len(made) == capacity_total and set(made.values()) == {1}  # never twice
        waiting = s.scalar(select(func.count()).where(ServiceRequest.state == RequestState.NEW)) or 0
        assert waiting == 120 - capacity_total  # not lost: still in the queue
    assert assign_backlog(runtime) == 0  # nothing more fits; the queue is left as it is


def test_backlog_serves_priority_then_age(sqlite_runtime: Runtime) -> None:
    world = build_world(sqlite_runtime)
    now = utcnow()
    with sqlite_runtime.sessions.begin() as s:
        for uid in (world.operator_id, world.operator2_id):
            user = s.get(User, uid)
            assert user is not None
            user.capacity = 1
        c = add_customer(s).id
        old = add_request(
            s, world.inhouse_account_id, c, text="旧的普通", created=now - timedelta(hours=2)
        ).id
        add_request(s, world.inhouse_account_id, c, text="新的普通", created=now)
        urgent = add_request(s, world.inhouse_account_id, c, text="新的紧急", created=now, priority=3).id
    assert assign_backlog(sqlite_runtime) == 2
    with sqlite_runtime.sessions() as s:
        served = set(s.scalars(select(ServiceRequest.id).where(ServiceRequest.assignee_id.is_not(None))))
    assert served == {urgent, old}


def test_sticky_prefers_previous_operator_while_on_duty_then_falls_back(sqlite_runtime: Runtime) -> None:
    world = build_world(sqlite_runtime)
    with sqlite_runtime.sessions.begin() as s:
        c = add_customer(s).id
        first = add_request(s, world.inhouse_account_id, c, text="第一次").id
    (who,) = assign_ids(sqlite_runtime, [first]).values()
    assert who is not None
    with sqlite_runtime.sessions.begin() as s:
        req = s.get(ServiceRequest, first)
        assert req is not None
        req.state = RequestState.RESOLVED
        other = add_customer(s).id
        filler = add_request(s, world.inhouse_account_id, other, text="别人").id
        again = add_request(s, world.inhouse_account_id, c, text="又来了").id
    result = assign_ids(sqlite_runtime, [filler, again])
    assert result[again] == who  # round robin would have given it to the other operator
    with sqlite_runtime.sessions() as s:
        why = s.scalars(select(Assignment).where(Assignment.request_id == again)).one().reason
        assert why["why"] == "sticky" and why["previous"] == {"id": who, "status": "chosen"}
    set_presence(sqlite_runtime, who, Presence.AWAY, actor=None)
    with sqlite_runtime.sessions.begin() as s:
        third = add_request(s, world.inhouse_account_id, c, text="第三次").id
    (fallback,) = assign_ids(sqlite_runtime, [third]).values()
    assert fallback is not None and fallback != who
    with sqlite_runtime.sessions() as s:
        why = s.scalars(select(Assignment).where(Assignment.request_id == third)).one().reason
        assert why["fallback_from"] == "sticky" and why["previous"]["status"] == "unavailable"


def test_keyword_rule_sends_to_a_team_but_never_to_someone_out_of_scope(sqlite_runtime: Runtime) -> None:
    world = build_world(sqlite_runtime)
    with sqlite_runtime.sessions.begin() as s:
        team = Team(name="宽带组", org_id=world.inhouse_org_id)
        s.add(team)
        s.flush()
        for uid in (world.operator2_id, world.partner_id):  # a partner user put in the team by mistake
            user = s.get(User, uid)
            assert user is not None
            user.teams.append(team)
        s.add(RoutingRule(name="宽带", keyword="宽带", team_id=team.id, position=1))
        c = add_customer(s).id
        broadband = add_request(s, world.inhouse_account_id, c, text="宽带又断了").id
        other = add_request(s, world.inhouse_account_id, add_customer(s).id, text="话费问题").id
        team_id = team.id
    result = assign_ids(sqlite_runtime, [broadband, other])
    assert result[broadband] == world.operator2_id
    with sqlite_runtime.sessions() as s:
        why = s.scalars(select(Assignment).where(Assignment.request_id == broadband)).one().reason
        assert why["rule"]["name"] == "宽带" and why["pool"] == f"team:{team_id}"
        statuses = {c["id"]: c["status"] for c in why["candidates"]}
        assert statuses == {world.operator2_id: "ok", world.partner_id: "out_of_scope"}
        req = s.get(ServiceRequest, broadband)
        assert req is not None and req.team_id == team_id
        assert s.scalars(select(Assignment).where(Assignment.request_id == other)).one().reason["pool"] == (
            f"account:{world.inhouse_account_id}"
        )


def test_going_offline_returns_unstarted_requests_and_routes_them_again(sqlite_runtime: Runtime) -> None:
    world = build_world(sqlite_runtime)
    with sqlite_runtime.sessions.begin() as s:
        ids = [
            add_request(s, world.inhouse_account_id, add_customer(s).id, text=f"问题{i}").id for i in range(4)
        ]
    assign_ids(sqlite_runtime, ids)
    with sqlite_runtime.sessions.begin() as s:
        started = s.scalars(
            select(ServiceRequest).where(ServiceRequest.assignee_id == world.operator_id)
        ).first()
        assert started is not None
        started.state, started.first_response_at = RequestState.IN_PROGRESS, utcnow()
        started_id = started.id
    returned = set_presence(sqlite_runtime, world.operator_id, Presence.OFFLINE, actor=None, reason="test")
    assert len(returned) == 1 and started_id not in returned
    with sqlite_runtime.sessions() as s:
        owners = {r.id: r.assignee_id for r in s.scalars(select(ServiceRequest))}
        assert owners[started_id] == world.operator_id  # work in progress stays
        assert owners[returned[0]] == world.operator2_id
        kinds = [
            a.strategy for a in s.scalars(select(Assignment).where(Assignment.request_id == returned[0]))
        ]
        assert kinds == ["round_robin", "returned", "round_robin"]
        assert s.scalar(select(func.count()).where(AuditEvent.action == "user.presence")) == 1


def test_shift_end_takes_operators_off_duty(sqlite_runtime: Runtime) -> None:
    world = build_world(sqlite_runtime)
    with sqlite_runtime.sessions.begin() as s:
        user = s.get(User, world.operator_id)
        assert user is not None
        user.shifts = [{"days": [0], "start": "09:00", "end": "10:00"}]
    # 2026-01-05 is a Monday; 03:00 UTC is 11:00 in China, after the shift.
    from datetime import UTC, datetime

    assert end_finished_shifts(sqlite_runtime, datetime(2026, 1, 5, 3, 0, tzinfo=UTC)) == [world.operator_id]
    with sqlite_runtime.sessions() as s:
        user = s.get(User, world.operator_id)
        assert user is not None and user.presence == Presence.OFFLINE


def _principal(runtime: Runtime, user_id: int):  # type: ignore[no-untyped-def]
    with runtime.sessions() as s:
        user = s.get(User, user_id)
        assert user is not None
        return principal_for(user)


def test_supervisor_pick_checks_scope_presence_and_capacity(sqlite_runtime: Runtime) -> None:
    world: World = build_world(sqlite_runtime)
    with sqlite_runtime.sessions.begin() as s:
        c = add_customer(s).id
        rid = add_request(s, world.inhouse_account_id, c).id
        op2 = s.get(User, world.operator2_id)
        assert op2 is not None
        op2.capacity = 0
    manager = _principal(sqlite_runtime, world.manager_id)
    with pytest.raises(AssignError, match="not_eligible"):
        do_pick(sqlite_runtime, manager, rid, world.partner_id)  # may not see the in-house account
    with pytest.raises(AssignError, match="at_capacity"):
        do_pick(sqlite_runtime, manager, rid, world.operator2_id)
    set_presence(sqlite_runtime, world.operator_id, Presence.OFFLINE, actor=None)
    with pytest.raises(AssignError, match="offline"):
        do_pick(sqlite_runtime, manager, rid, world.operator_id)
    set_presence(sqlite_runtime, world.operator_id, Presence.ON_DUTY, actor=manager)
    do_pick(sqlite_runtime, manager, rid, world.operator_id)
    with sqlite_runtime.sessions.begin() as s:
        req = s.get(ServiceRequest, rid)
        assert req is not None and req.assignee_id == world.operator_id
        last = s.scalars(select(Assignment).order_by(Assignment.id.desc())).first()
        assert (
            last is not None
            and last.reason["why"] == "manual_pick"
            and last.reason["by"]["id"] == world.manager_id
        )
        op2 = s.get(User, world.operator2_id)
        assert op2 is not None
        op2.capacity = 5
    assert do_reroute(sqlite_runtime, manager, rid) == world.operator2_id  # anyone but the current one
    partner = _principal(sqlite_runtime, world.partner_id)
    with pytest.raises(NotVisible):
        do_pick(sqlite_runtime, partner, rid, world.operator_id)


def test_a_team_rule_never_strands_traffic_its_team_cannot_serve(runtime: Runtime) -> None:
    """宽带 -> 宽带专组 (in-house) left a request on the partner's account with "no candidates";
    nobody in that team may see the partner's account, so its own operators take it."""
    world = build_world(runtime)
    with runtime.sessions.begin() as s:
        team = Team(name="宽带专组", org_id=world.inhouse_org_id)
        s.add(team)
        s.flush()
        operator = s.get(User, world.operator_id)
        assert operator is not None
        operator.teams = [team]
        s.add(RoutingRule(name="宽带", team_id=team.id, keyword="宽带"))
        customer = add_customer(s, "上海客户").id
        partner_request = add_request(s, world.partner_account_id, customer, text="上海宽带又断了").id
        inhouse_request = add_request(s, world.inhouse_account_id, customer, text="宽带报修").id
    assigned = assign_ids(runtime, [partner_request, inhouse_request])
    assert assigned[partner_request] == world.partner_id
    assert assigned[inhouse_request] == world.operator_id  # where the team may serve, the rule holds
    with runtime.sessions() as s:
        why = s.scalars(select(Assignment).where(Assignment.request_id == partner_request)).one().reason
        assert why["pool_fallback_from"] == f"team:{team.id}"
        assert why["pool"] == f"account:{world.partner_account_id}"
        assert {c["id"]: c["status"] for c in why["candidates"]}[world.operator_id] == "out_of_scope"
        partner_req = s.get(ServiceRequest, partner_request)
        assert partner_req is not None and partner_req.team_id is None  # not the team's work


def test_the_pick_list_offers_operators_not_the_administrator_or_the_manager(runtime: Runtime) -> None:
    from servicehub.routing.supervisor import pick_options

    world = build_world(runtime)
    with runtime.sessions.begin() as s:
        request = add_request(s, world.inhouse_account_id, add_customer(s).id)
    with runtime.sessions() as s:
        manager = s.get(User, world.manager_id)
        assert manager is not None
        who = principal_for(manager)
        options = {o.id for o in pick_options(s, who, request)}
    assert world.operator_id in options and world.operator2_id in options
    assert world.admin_id not in options and world.manager_id not in options
    with pytest.raises(AssignError):  # and not by a crafted form either
        do_pick(runtime, who, request.id, world.admin_id)
