"""SMS delivery over the network end to end: the hub sends to the gateway simulator, which
posts signed delivery reports to the live workbench's callback; duplicates change nothing;
a send whose answer was lost is settled without a second send; e-mail whose answer was lost
waits for a person."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import func, select

from servicehub.contact.actions import do_confirm_phone, do_queue_email
from servicehub.contact.sms import report_signature
from servicehub.core.models import AuditEvent, DeliveryState, ErrorKind, OutboundMessage
from servicehub.core.runtime import Runtime
from servicehub.core.tasks import SyncRunner
from servicehub.publishing.outbox import do_retry_outbound, due_for_retry, send_outbound, sweep_interrupted
from tests.contact.support import KEY_SECRET, ContactServices, act, contact_services, queue_sms
from tests.live import LiveHub, live_hub
from tests.workbench.conftest import hear

PHONE = "13812345678"
DM = f"宽带断了，联系我{PHONE}"
Hub = tuple[LiveHub, ContactServices]


@contextmanager
def _hub(tmp_path: Path, *, report_delay: float = 0.2, sms_timeout: float = 2.0) -> Iterator[Hub]:
    with contact_services(report_delay=report_delay) as services:
        sections = services.sections(sms_timeout=sms_timeout)
        with live_hub(tmp_path, SyncRunner(), sections=sections) as hub:
            services.sim.sim.callback_url = f"{hub.web_url}/callbacks/sms/cloud"
            yield hub, services


def _sms(hub: LiveHub, nonce: str = "n1") -> int:
    """A DM with a phone, the phone confirmed, an SMS queued (and, on commit, sent)."""
    request_id = hear(hub.runtime, hub.world.inhouse_account_id, "4900000000000201", DM)
    act(hub.runtime, hub.world.operator_id, do_confirm_phone, request_id, PHONE)
    return queue_sms(hub.runtime, hub.world.operator_id, request_id, nonce).id


def _row(runtime: Runtime, outbound_id: int) -> OutboundMessage:
    with runtime.sessions() as s:
        row = s.get(OutboundMessage, outbound_id)
        assert row is not None
        return row


def _until(
    runtime: Runtime, outbound_id: int, state: DeliveryState, seconds: float = 15.0
) -> OutboundMessage:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = _row(runtime, outbound_id)
        if row.state == state:
            return row
        time.sleep(0.1)
    raise AssertionError(f"outbound {outbound_id} stayed {_row(runtime, outbound_id).state}, not {state}")


def _audits(runtime: Runtime, action: str) -> int:
    with runtime.sessions() as s:
        return s.scalar(select(func.count()).where(AuditEvent.action == action)) or 0


def test_a_delivery_report_arrives_by_callback_and_a_duplicate_changes_nothing(tmp_path: Path) -> None:
    with _hub(tmp_path) as (hub, services):
        outbound_id = _sms(hub)
        row = _until(hub.runtime, outbound_id, DeliveryState.DELIVERED)
        [received] = services.sim.sim.received
        assert row.platform_id == received.biz_id and row.delivered_at is not None
        assert _audits(hub.runtime, "contact.delivered") == 1

        again = hub.control.post(  # the gateway pushes the same report once more
            f"{services.sim.base_url}/_sim/sms/reports/resend", json={"biz_id": received.biz_id}
        ).json()
        assert again["status"] == 200
        after = _row(hub.runtime, outbound_id)
        assert (after.state, after.delivered_at) == (DeliveryState.DELIVERED, row.delivered_at)
        assert _audits(hub.runtime, "contact.delivered") == 1


def test_an_undelivered_sms_says_why_and_its_resend_is_a_new_send(tmp_path: Path) -> None:
    with _hub(tmp_path) as (hub, services):
        services.sim.sim.faults.undeliverable.add(PHONE)
        outbound_id = _sms(hub)
        row = _until(hub.runtime, outbound_id, DeliveryState.FAILED)
        assert row.error_kind == ErrorKind.UNDELIVERED and "停机" in row.error
        first_biz = row.platform_id

        services.sim.sim.faults.undeliverable.clear()  # the customer's phone is back on
        act(hub.runtime, hub.world.operator_id, do_retry_outbound, outbound_id)
        row = _until(hub.runtime, outbound_id, DeliveryState.DELIVERED)
        first, second = services.sim.sim.received
        assert second.out_id == row.send_key != first.out_id and row.platform_id == second.biz_id != first_biz
        stale = hub.control.post(
            f"{services.sim.base_url}/_sim/sms/reports/resend", json={"biz_id": first_biz}
        ).json()
        assert stale["status"] == 200  # taken (so the gateway stops), but it matches no current send
        assert _row(hub.runtime, outbound_id).state == DeliveryState.DELIVERED


def test_a_send_that_timed_out_after_the_gateway_took_it_is_not_sent_twice(tmp_path: Path) -> None:
    with _hub(tmp_path, report_delay=4.0, sms_timeout=0.5) as (hub, services):
        services.sim.sim.faults.hold_next = 2.0  # taken, answered after the hub gave up
        outbound_id = _sms(hub)
        row = _row(hub.runtime, outbound_id)
        assert row.state == DeliveryState.RETRY and row.error_kind == ErrorKind.UNAVAILABLE
        assert len(services.sim.sim.received) == 1

        assert send_outbound(hub.runtime, outbound_id) == DeliveryState.SENT  # the retry asks first
        [received] = services.sim.sim.received
        assert _row(hub.runtime, outbound_id).platform_id == received.biz_id
        _until(hub.runtime, outbound_id, DeliveryState.DELIVERED)
        assert len(services.sim.sim.received) == 1


def test_a_report_for_a_send_still_waiting_to_be_retried_settles_it(tmp_path: Path) -> None:
    with _hub(tmp_path, report_delay=0.3, sms_timeout=0.5) as (hub, services):
        services.sim.sim.faults.hold_next = 2.0
        outbound_id = _sms(hub)  # the report comes while the hub still waits for the gateway
        row = _until(hub.runtime, outbound_id, DeliveryState.DELIVERED)
        assert row.platform_id == services.sim.sim.received[0].biz_id
        assert send_outbound(hub.runtime, outbound_id) is None  # nothing left to retry
        assert len(services.sim.sim.received) == 1
        [push] = services.sim.sim.pushes
        assert push.status == 200


def _post_report(
    hub: LiveHub, out_id: str, *, secret: str = KEY_SECRET, provider: str = "cloud"
) -> httpx.Response:
    body = json.dumps(
        [{"out_id": out_id, "biz_id": "b-1", "success": True, "err_code": "DELIVERED"}]
    ).encode()
    ts = str(int(time.time()))
    headers = {
        "X-Sms-Timestamp": ts,
        "X-Sms-Nonce": "n",
        "X-Sms-Signature": report_signature(secret, ts, "n", body),
    }
    return httpx.post(f"{hub.web_url}/callbacks/sms/{provider}", content=body, headers=headers)


def test_the_callback_refuses_what_it_cannot_believe_and_waits_for_sends_in_flight(tmp_path: Path) -> None:
    with _hub(tmp_path) as (hub, services):
        services.sim.sim.callback_url = ""  # this test posts the reports itself
        outbound_id = _sms(hub)
        key = _row(hub.runtime, outbound_id).send_key
        assert key is not None
        assert _post_report(hub, key, secret="forged").status_code == 401
        assert _post_report(hub, key, provider="elsewhere").status_code == 404
        with hub.runtime.sessions.begin() as s:  # as if the sender were still waiting for the gateway
            row = s.get(OutboundMessage, outbound_id)
            assert row is not None
            row.state = DeliveryState.SENDING
        early = _post_report(hub, key)
        assert early.status_code == 503 and _row(hub.runtime, outbound_id).state == DeliveryState.SENDING
        with hub.runtime.sessions.begin() as s:
            s.get(OutboundMessage, outbound_id).state = DeliveryState.SENT  # type: ignore[union-attr]
        assert _post_report(hub, key).json() == {"code": 0, "msg": "成功"}
        assert _row(hub.runtime, outbound_id).state == DeliveryState.DELIVERED


def test_an_email_whose_answer_was_lost_waits_for_a_person(tmp_path: Path) -> None:
    with _hub(tmp_path) as (hub, services):
        request_id = hear(hub.runtime, hub.world.inhouse_account_id, "4900000000000301", DM)
        services.smtp.hold_next = 4.0  # the server has it; its answer comes after the hub gave up
        row = act(
            hub.runtime,
            hub.world.operator_id,
            do_queue_email,
            request_id,
            to="wangjg@example.com",
            subject="报修进度",
            body="师傅明天上门",
            nonce="e1",
        )
        assert isinstance(row, OutboundMessage)
        row = _row(hub.runtime, row.id)
        assert (row.state, row.error_kind) == (DeliveryState.UNKNOWN, ErrorKind.UNCONFIRMED)
        with hub.runtime.sessions() as s:
            assert row.id not in due_for_retry(s)  # never resent on its own
        assert sweep_interrupted(hub.runtime) == []
        assert len(services.smtp.received()) == 1
        act(hub.runtime, hub.world.operator_id, do_retry_outbound, row.id)  # a person decided
        assert _row(hub.runtime, row.id).state == DeliveryState.SENT
        assert len(services.smtp.received()) == 2
