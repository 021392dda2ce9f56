"""Priority signals, SLA due time and overdue; phone masking by grant and scope; state-limited grants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from servicehub.core.db import utcnow
from servicehub.core.masking import customer_view, mask_phone
from servicehub.core.models import (
    Account,
    Customer,
    Grant,
    Message,
    Priority,
    RequestState,
    Role,
    ServiceRequest,
    User,
)
from servicehub.core.permissions import principal_for, restrict
from servicehub.core.runtime import Runtime
from servicehub.listener.filtering import chain_for
from servicehub.listener.store import store_and_route
from servicehub.routing.priority import Signals, escalate_waiting, is_overdue, prioritize, score
from tests.factories import build_world, mention
from tests.routing.support import add_customer, add_request


def test_each_signal_raises_one_level_up_to_urgent() -> None:
    calm = Signals(sentiment=0.8, tier=0, waited=timedelta(0), repeat_contacts=0)
    assert score(calm) == (Priority.NORMAL, [])
    assert score(Signals(0.1, 0, timedelta(0), 0)) == (Priority.HIGH, ["negative"])
    assert score(Signals(0.1, 2, timedelta(0), 0)) == (Priority.URGENT, ["negative", "vip"])
    assert score(Signals(0.1, 2, timedelta(hours=2), 3))[0] == Priority.URGENT


def test_due_time_follows_sla_and_long_wait_escalates_and_overdue(sqlite_runtime: Runtime) -> None:
    world = build_world(sqlite_runtime)
    long_ago = utcnow() - timedelta(minutes=90)
    with sqlite_runtime.sessions.begin() as s:
        customer = add_customer(s).id
        req = add_request(s, world.inhouse_account_id, customer, created=long_ago)
        req.due_at, req.intent = None, "complaint"
        prioritize(s, sqlite_runtime, req, now=long_ago)
        assert req.priority == Priority.HIGH and req.due_at == long_ago + timedelta(minutes=120)
        rid = req.id
    assert escalate_waiting(sqlite_runtime) == 1  # waited 90 minutes unanswered: one level up
    with sqlite_runtime.sessions() as s:
        req2 = s.get(ServiceRequest, rid)
        assert req2 is not None and req2.priority == Priority.URGENT
        assert req2.due_at == long_ago + timedelta(minutes=30)  # brought forward, never pushed back
        assert is_overdue(req2)
        req2.first_response_at = utcnow()
        assert not is_overdue(req2)


def test_phone_is_masked_unless_granted_within_scope(sqlite_runtime: Runtime) -> None:
    world = build_world(sqlite_runtime)
    assert mask_phone("13812345678") == "138****5678"
    with sqlite_runtime.sessions.begin() as s:
        customer = Customer(display_name="王女士", phone="13812345678", tags=[])
        s.add(customer)
        s.flush()
        inhouse, partner_account = (
            s.get(Account, world.inhouse_account_id),
            s.get(Account, world.partner_account_id),
        )
        assert inhouse is not None and partner_account is not None
        users = {
            uid: principal_for(s.get(User, uid))
            for uid in (world.operator_id, world.partner_id, world.manager_id)
        }  # type: ignore[arg-type]
        assert customer_view(users[world.operator_id], customer, inhouse).phone == "13812345678"
        assert customer_view(users[world.partner_id], customer, partner_account).phone == "138****5678"
        assert customer_view(
            users[world.operator_id], customer, partner_account
        ).phone_masked  # outside its org
        assert customer_view(users[world.manager_id], customer, partner_account).phone == "13812345678"


def test_a_grant_limited_to_states_hides_other_states(sqlite_runtime: Runtime) -> None:
    world = build_world(sqlite_runtime)
    with sqlite_runtime.sessions.begin() as s:
        role = s.scalars(select(Role).where(Role.name == "partner_operator")).one()
        grant = next(g for g in role.grants if g.function == "request.view")
        grant.states = ["new", "assigned"]
        c = add_customer(s).id
        open_one = add_request(s, world.partner_account_id, c).id
        done = add_request(s, world.partner_account_id, c, text="done")
        done.state = RequestState.CLOSED
        s.add(Grant(role_id=role.id, function="export", scope="own", states=[]))
    with sqlite_runtime.sessions() as s:
        who = principal_for(s.get(User, world.partner_id))  # type: ignore[arg-type]
        seen = set(s.scalars(restrict(select(ServiceRequest.id), who, "request.view", ServiceRequest)))
        assert seen == {open_one}


@pytest.mark.parametrize("negative_below", [0.4, 0.2])
@pytest.mark.parametrize(
    ("text", "label", "priority"),
    [
        ("积分怎么兑换话费？", "neutral", Priority.NORMAL),
        ("为什么我的话费扣多了？", "negative", Priority.HIGH),
    ],
)
def test_the_label_and_the_priority_never_disagree(
    sqlite_runtime_with: Callable[..., Runtime],
    negative_below: float,
    text: str,
    label: str,
    priority: Priority,
) -> None:
    """One threshold (``[filters] negative_below``) places the score the operator sees in the
    band of its label, whatever the threshold: a plain question stays neutral and normal (it
    used to score under 0.4 and be raised), a grievance is negative and high."""
    runtime = sqlite_runtime_with(filters={"negative_below": negative_below})
    world = build_world(runtime)
    with runtime.sessions() as s:
        account = s.get(Account, world.inhouse_account_id)
        assert account is not None
        store_and_route(s, runtime, account, [mention("4900000000000061", text)], chain_for(s, runtime))
        s.commit()
    with runtime.sessions() as s:
        message = s.scalars(select(Message)).one()
        request = s.scalars(select(ServiceRequest)).one()
        assert (message.sentiment_label, request.priority) == (label, priority)
        assert message.sentiment is not None and (message.sentiment < negative_below) == (label == "negative")
