from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from servicehub.adapters.base import ReplyTarget, SentRef
from servicehub.adapters.errors import Rejected, TokenExpired, Unavailable
from servicehub.core.db import utcnow
from servicehub.core.errors import ActionError
from servicehub.core.models import (
    Account,
    DeliveryState,
    ErrorKind,
    Health,
    OutboundMessage,
    RequestState,
    ServiceRequest,
)
from servicehub.core.runtime import Runtime
from servicehub.listener.filtering import chain_for
from servicehub.listener.intake import intake
from servicehub.publishing.outbox import (
    claim,
    do_queue_reply,
    do_retry_outbound,
    due_for_retry,
    send_outbound,
    sweep_interrupted,
)
from servicehub.routing.conversations import route_messages
from tests import fakes
from tests.factories import build_world, mention, principal_of


@pytest.fixture
def request_id(runtime: Runtime) -> int:
    world = build_world(runtime)
    with runtime.sessions() as s:
        account = s.get(Account, world.inhouse_account_id)
        assert account is not None
        ids = intake(s, account, [mention("4900000000000001", "宽带断网，怎么办？")], chain_for(s, runtime))
        s.commit()
    route_messages(runtime, ids)
    with runtime.sessions() as s:
        return s.scalars(select(ServiceRequest.id)).one()


def _queue(runtime: Runtime, request_id: int, text: str, nonce: str = "n1") -> int:
    with runtime.sessions() as s:
        out = do_queue_reply(s, runtime, principal_of(s, 1), request_id, text, nonce=nonce)
        s.commit()
        return out.id


def test_reply_is_sent_once_to_the_message_target(
    runtime: Runtime, request_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = fakes.install(monkeypatch)
    out_id = _queue(runtime, request_id, "您好，已为您报障，工程师今天上门。")
    assert send_outbound(runtime, out_id) is None  # SyncRunner already sent it on commit
    assert len(platform.sent) == 1
    token, target, _text = platform.sent[0]
    assert target.kind == "comment_status" and target.status_id == "4900000000000001"
    assert token == "2.00test-token-inhouse"
    with runtime.sessions() as s:
        out = s.get(OutboundMessage, out_id)
        req = s.get(ServiceRequest, request_id)
        assert out is not None and out.state == DeliveryState.SENT and out.platform_id
        assert req is not None and req.first_response_at is not None and req.state == RequestState.IN_PROGRESS


def test_same_form_submitted_twice_queues_one_reply(
    runtime: Runtime, request_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = fakes.install(monkeypatch)
    a = _queue(runtime, request_id, "已处理", nonce="same")
    b = _queue(runtime, request_id, "已处理", nonce="same")
    assert a == b
    assert len(platform.sent) == 1


def test_too_long_and_empty_replies_are_refused_before_queueing(runtime: Runtime, request_id: int) -> None:
    with pytest.raises(ActionError) as too_long:
        _queue(runtime, request_id, "很" * 141)
    assert too_long.value.code == "text_too_long"
    assert too_long.value.params == {"limit": 140, "length": 141, "unit": "char"}
    with pytest.raises(ActionError) as empty:
        _queue(runtime, request_id, "   ")
    assert empty.value.code == "text_empty"
    with runtime.sessions() as s:
        assert list(s.scalars(select(OutboundMessage))) == []


def test_rejection_is_final_and_kept_with_its_reason(
    runtime: Runtime, request_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = fakes.install(monkeypatch)
    platform.fail_next.append(Rejected("Repeat conetnt", code=20019))
    out_id = _queue(runtime, request_id, "重复内容")
    with runtime.sessions() as s:
        out = s.get(OutboundMessage, out_id)
        assert out is not None and out.state == DeliveryState.FAILED and "20019" in out.error
    assert claim(runtime, out_id) is False


def test_outage_is_retried_and_then_sent_exactly_once(
    runtime: Runtime, request_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = fakes.install(monkeypatch)
    platform.fail_next.append(Unavailable("timeout"))
    out_id = _queue(runtime, request_id, "稍等，正在处理")
    with runtime.sessions() as s:
        out = s.get(OutboundMessage, out_id)
        assert out is not None and out.state == DeliveryState.RETRY
    assert send_outbound(runtime, out_id) == DeliveryState.SENT
    assert send_outbound(runtime, out_id) is None
    assert len(platform.sent) == 1


def test_expired_token_marks_account_and_keeps_the_reply(
    runtime: Runtime, request_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = fakes.install(monkeypatch)
    platform.fail_next.append(TokenExpired("expired_token", code=21327))
    out_id = _queue(runtime, request_id, "您好")
    with runtime.sessions() as s:
        out = s.get(OutboundMessage, out_id)
        assert out is not None and out.state == DeliveryState.RETRY
        account = s.get(Account, out.account_id)
        assert account is not None and account.health == Health.NEEDS_REAUTH


def test_a_failure_inside_the_hub_while_sending_ends_failed_and_is_never_resent_on_its_own(
    runtime: Runtime, request_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It used to stay in 'sending' for good; now it says why, and only a person sends it again."""
    platform = fakes.install(monkeypatch)
    real_reply = fakes.FakeAdapter.reply

    def reply_then_break(self: fakes.FakeAdapter, target: ReplyTarget, text: str) -> SentRef:
        real_reply(self, target, text)  # the platform has it...
        raise KeyError("id")  # ...and reading its answer breaks

    monkeypatch.setattr(fakes.FakeAdapter, "reply", reply_then_break)
    out_id = _queue(runtime, request_id, "您好，已为您处理")
    with runtime.sessions() as s:
        out = s.get(OutboundMessage, out_id)
        assert out is not None and out.state == DeliveryState.FAILED
        assert out.error_kind == ErrorKind.INTERNAL and "KeyError" in out.error
        assert due_for_retry(s) == []
    assert send_outbound(runtime, out_id) is None
    assert len(platform.sent) == 1
    monkeypatch.setattr(fakes.FakeAdapter, "reply", real_reply)
    with runtime.sessions() as s:  # an operator who checked and found nothing sends it again
        do_retry_outbound(s, runtime, principal_of(s, 1), out_id)
        s.commit()
    with runtime.sessions() as s:
        out = s.get(OutboundMessage, out_id)
        assert out is not None and out.state == DeliveryState.SENT and out.error_kind is None
    assert len(platform.sent) == 2


def test_a_send_whose_worker_died_becomes_unknown_not_resent(
    runtime: Runtime, request_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = fakes.install(monkeypatch)
    platform.fail_next.append(Unavailable("timeout"))
    out_id = _queue(runtime, request_id, "稍等")  # RETRY, then a worker claims it and is killed
    assert claim(runtime, out_id) is True
    with runtime.sessions.begin() as s:
        s.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == out_id)
            .values(claimed_at=utcnow() - timedelta(minutes=10))
        )
    assert sweep_interrupted(runtime) == [out_id]
    assert sweep_interrupted(runtime) == []  # settled once
    with runtime.sessions() as s:
        out = s.get(OutboundMessage, out_id)
        assert (
            out is not None and out.state == DeliveryState.UNKNOWN and out.error_kind == ErrorKind.INTERRUPTED
        )
        assert due_for_retry(s) == []
    assert send_outbound(runtime, out_id) is None and platform.sent == []


def test_a_send_still_running_is_left_alone_by_the_sweep(runtime: Runtime, request_id: int) -> None:
    with runtime.sessions.begin() as s:
        s.add(
            OutboundMessage(
                account_id=1,
                request_id=request_id,
                kind="reply",
                target={"kind": "comment_status", "status_id": "1"},
                text="正在发送",
                idempotency_key="k-running",
                state=DeliveryState.SENDING,
                claimed_at=utcnow(),
            )
        )
    assert sweep_interrupted(runtime) == []
