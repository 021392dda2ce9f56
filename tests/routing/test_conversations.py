from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
from sqlalchemy import select

from servicehub.adapters.base import ItemKind
from servicehub.core.models import (
    Account,
    Assignment,
    AuditEvent,
    Message,
    Presence,
    RequestState,
    ServiceRequest,
    User,
)
from servicehub.core.runtime import Runtime
from servicehub.listener.filtering import chain_for
from servicehub.listener.intake import intake
from servicehub.routing.conversations import route_messages
from tests.factories import World, build_world, mention


def _take(runtime: Runtime, world: World, items: list) -> list[int]:  # type: ignore[type-arg]
    with runtime.sessions() as s:
        account = s.get(Account, world.inhouse_account_id)
        assert account is not None
        ids = intake(s, account, items, chain_for(s, runtime))
        s.commit()
    route_messages(runtime, ids)
    return ids


def test_messages_of_one_thread_join_one_open_request(runtime: Runtime) -> None:
    world = build_world(runtime)
    _take(runtime, world, [mention("4900000000000001", "宽带断网了")])
    comment = dataclasses.replace(
        mention("4900000000000001", "宽带断网了"),
        platform_id="4900000000000005",
        kind=ItemKind.COMMENT,
        text="还没修好，怎么回事",
    )
    _take(runtime, world, [comment])
    _take(runtime, world, [mention("4900000000000002", "另一件事：话费", author_uid="555")])
    with runtime.sessions() as s:
        requests = list(s.scalars(select(ServiceRequest).order_by(ServiceRequest.id)))
        assert [r.message_count for r in requests] == [2, 1]
        assert all(m.request_id is not None for m in s.scalars(select(Message)))


def test_routing_twice_is_harmless(runtime: Runtime) -> None:
    world = build_world(runtime)
    ids = _take(runtime, world, [mention("4900000000000001", "信号差")])
    assert route_messages(runtime, ids) == []
    with runtime.sessions() as s:
        assert len(list(s.scalars(select(ServiceRequest)))) == 1
        assert len(list(s.scalars(select(Assignment)))) == 1


def test_round_robin_alternates_between_on_duty_operators_and_explains(runtime: Runtime) -> None:
    world = build_world(runtime)
    _take(
        runtime,
        world,
        [
            mention(str(4900000000000100 + i), f"问题{i}：流量扣费", author_uid=str(200 + i))
            for i in range(10)
        ],
    )
    with runtime.sessions() as s:
        counts = Counter(r.assignee_id for r in s.scalars(select(ServiceRequest)))
        assert counts == {world.operator_id: 5, world.operator2_id: 5}
        reason = s.scalars(select(Assignment)).first()
        assert reason is not None and reason.strategy == "round_robin"
        assert {c["id"] for c in reason.reason["candidates"]} == {world.operator_id, world.operator2_id}


def test_offline_operator_gets_nothing_and_nobody_on_duty_leaves_request_new(runtime: Runtime) -> None:
    world = build_world(runtime)
    with runtime.sessions.begin() as s:
        user = s.get(User, world.operator2_id)
        assert user is not None
        user.presence = Presence.OFFLINE
    _take(
        runtime,
        world,
        [
            mention("4900000000000201", "投诉", author_uid="1"),
            mention("4900000000000202", "咨询", author_uid="2"),
        ],
    )
    with runtime.sessions.begin() as s:
        assert {r.assignee_id for r in s.scalars(select(ServiceRequest))} == {world.operator_id}
        user = s.get(User, world.operator_id)
        assert user is not None
        user.presence = Presence.AWAY
    _take(runtime, world, [mention("4900000000000203", "还有人吗", author_uid="3")])
    with runtime.sessions() as s:
        req = s.scalars(select(ServiceRequest).order_by(ServiceRequest.id.desc())).first()
        assert req is not None and req.state == RequestState.NEW and req.assignee_id is None
        why = s.scalars(select(Assignment).where(Assignment.request_id == req.id)).one()
        assert why.reason["why"] == "no_candidates"
        statuses = {c["id"]: c["status"] for c in why.reason["candidates"]}
        assert statuses == {world.operator_id: "away", world.operator2_id: "offline"}


@pytest.mark.parametrize(
    ("text", "expected", "reasons"),
    [
        ("服务太差了，投诉！再也不用了，垃圾", 3, ["complaint", "furious"]),
        ("再不解决我就投诉到工信部", 3, ["complaint", "escalation:工信部"]),
        ("宽带又断了，什么时候能修好", 2, ["complaint"]),
        ("积分怎么兑换话费？", 1, []),
        ("谢谢客服，解决得很快，点赞", 0, ["praise"]),
    ],
)
def test_priority_comes_from_what_the_customer_says(
    runtime: Runtime, text: str, expected: int, reasons: list[str]
) -> None:
    """Intent sets the level, negative sentiment raises it, threats and fury make it urgent;
    the request keeps the signals that set it, for the operator to read."""
    world = build_world(runtime)
    _take(runtime, world, [mention("4900000000000301", text)])
    with runtime.sessions() as s:
        req = s.scalars(select(ServiceRequest)).one()
        assert (req.priority, req.priority_reasons) == (expected, reasons)
        assert req.due_at is not None and req.due_at > req.created_at


def test_a_threat_in_a_follow_up_raises_an_open_request(runtime: Runtime) -> None:
    world = build_world(runtime)
    _take(runtime, world, [mention("4900000000000311", "积分怎么兑换话费？")])
    follow_up = dataclasses.replace(
        mention("4900000000000311", "积分怎么兑换话费？"),
        platform_id="4900000000000312",
        kind=ItemKind.COMMENT,
        text="三天了还没人回，再不解决我就投诉到工信部",
    )
    _take(runtime, world, [follow_up])
    with runtime.sessions() as s:
        req = s.scalars(select(ServiceRequest)).one()
        assert req.message_count == 2 and req.priority == 3
        assert req.escalation == ["工信部"] and "escalation:工信部" in req.priority_reasons
        raised = s.scalars(select(AuditEvent).where(AuditEvent.action == "request.priority_raised")).one()
        assert (raised.detail["before"], raised.detail["after"]) == (1, 3)


def test_the_sweep_routes_messages_a_failed_task_left_behind(runtime: Runtime) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from servicehub.core.db import utcnow
    from servicehub.routing.tasks import unrouted

    world = build_world(runtime)
    with runtime.sessions() as s:
        account = s.get(Account, world.inhouse_account_id)
        assert account is not None
        # intake alone, as if the routing task had failed
        intake(s, account, [mention("4900000000000401", "路由任务失败的那条")], chain_for(s, runtime))
        s.execute(update(Message).values(received_at=utcnow() - timedelta(minutes=5)))
        s.commit()
    assert unrouted() == 1
    assert unrouted() == 0
    with runtime.sessions() as s:
        assert s.scalars(select(Message.request_id)).one() is not None
