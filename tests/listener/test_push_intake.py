"""Push intake: signed, parsed, stored exactly once even when the platform delivers it again."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from servicehub.adapters.weibo.push import push_signature
from servicehub.core.models import Message, ServiceRequest
from servicehub.core.runtime import Runtime
from servicehub.listener.push import PushRejected, receive_push, verify_echo
from tests.factories import World, build_world

SECRET = "push-secret"


@pytest.fixture
def world(runtime: Runtime) -> World:
    runtime.settings.platforms["weibo"]["app_secret"] = SECRET
    return build_world(runtime)


def _signed(echostr: str | None = None) -> dict[str, str]:
    ts, nonce = str(int(time.time())), "7391"
    params = {"timestamp": ts, "nonce": nonce, "signature": push_signature(SECRET, ts, nonce)}
    if echostr:
        params["echostr"] = echostr
    return params


BODY = json.dumps(
    {
        "type": "text",
        "receiver_id": 1902538057,
        "sender_id": 2489518277,
        "created_at": "Mon Jul 16 18:09:20 +0800 2012",
        "text": "你好，宽带续费在哪里办？",
        "data": {},
    },
    ensure_ascii=False,
).encode()


def test_a_redelivered_push_is_stored_once(runtime: Runtime, world: World) -> None:
    params = _signed()
    first = receive_push(runtime, "weibo", world.inhouse_account_id, params, BODY, "application/json")
    again = receive_push(runtime, "weibo", world.inhouse_account_id, params, BODY, "application/json")
    assert (first.received, first.stored) == (1, 1)
    assert (again.received, again.stored) == (1, 0)
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 1
        assert s.scalar(select(func.count()).select_from(ServiceRequest)) == 1


def test_bad_signature_unknown_account_and_garbage_are_refused_clearly(
    runtime: Runtime, world: World
) -> None:
    with pytest.raises(PushRejected) as forged:
        receive_push(
            runtime,
            "weibo",
            world.inhouse_account_id,
            {**_signed(), "signature": "0" * 40},
            BODY,
            "application/json",
        )
    assert forged.value.status == 403
    with pytest.raises(PushRejected) as unknown:
        receive_push(runtime, "weibo", 999, _signed(), BODY, "application/json")
    assert unknown.value.status == 404
    with pytest.raises(PushRejected) as garbage:
        receive_push(runtime, "weibo", world.inhouse_account_id, _signed(), b"{not json", "application/json")
    assert garbage.value.status == 400 and "JSON" in garbage.value.reason.upper()
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 0


def test_url_verification_echoes_only_when_signed(runtime: Runtime, world: World) -> None:
    assert verify_echo(runtime, "weibo", world.inhouse_account_id, _signed(echostr="8492184")) == "8492184"
    with pytest.raises(PushRejected):
        verify_echo(runtime, "weibo", world.inhouse_account_id, {**_signed(echostr="1"), "signature": "x"})


def test_a_pushed_message_is_routed_and_assigned_before_the_answer(
    runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No routing task: the request is an operator's by the time the platform gets its answer."""
    queued: list[str] = []
    monkeypatch.setattr(
        runtime, "tasks", type("Queue", (), {"enqueue": lambda self, name, **kw: queued.append(name)})()
    )
    result = receive_push(runtime, "weibo", world.inhouse_account_id, _signed(), BODY, "application/json")
    assert result.stored == 1
    with runtime.sessions() as s:
        request = s.scalars(select(ServiceRequest)).one()
        assert request.assignee_id in (world.operator_id, world.operator2_id)
        assert s.scalars(select(Message.request_id)).one() == request.id
    assert "routing.route_messages" not in queued
