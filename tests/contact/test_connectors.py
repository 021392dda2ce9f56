"""The contact seams over the network: HTTP CRM (bearer and signed) and the built-in table, the
signed SMS gateway and its delivery reports, and SMTP (plain, STARTTLS, TLS, login)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from servicehub.adapters.errors import RateLimited, Rejected, Unavailable, Unconfirmed
from servicehub.contact.crm import BuiltinCrm, CrmRecord, CrmUnavailable, HttpCrm
from servicehub.contact.email import Email, SmtpSender, message_id
from servicehub.contact.sms import BEIJING, HttpSmsGateway, ReportRefused, SmsRequest, report_signature
from servicehub.contact.smtp_sink import SmtpSink
from servicehub.contact.templates import sms_templates
from servicehub.core.errors import ActionError
from servicehub.core.models import CrmEntry
from servicehub.core.runtime import Runtime
from servicehub.core.settings import CrmSettings, EmailSettings, SettingsError, SmsSettings
from tests.contact.support import CRM_TOKEN, KEY_ID, KEY_SECRET, TEMPLATES, contact_services, self_signed
from tests.live import free_port

WANG = CrmRecord("CRM0001001", "王建国", "13812345678", "5G畅爽套餐 129元", 2, "wangjg@example.com")


@pytest.fixture(params=["bearer", "signed"])
def crm(request: pytest.FixtureRequest) -> Iterator[tuple[HttpCrm, list[dict[str, object]]]]:
    with contact_services(crm_auth=request.param) as services:
        connector = HttpCrm(
            CrmSettings(backend="http", url=services.sim.crm_url, auth=request.param, token=CRM_TOKEN)
        )
        yield connector, services.sim.sim.crm_calls
        connector.close()


def test_http_crm_finds_by_phone_and_reads_one_record(crm: tuple[HttpCrm, list[dict[str, object]]]) -> None:
    connector, calls = crm
    assert connector.find_by_phone("13812345678") == [WANG]
    assert connector.find_by_phone("13000000000") == []
    assert connector.get("CRM0001001") == WANG
    assert connector.get("CRM9999999") is None
    assert [c["path"] for c in calls] == ["/crm/customers"] * 2 + [
        "/crm/customers/CRM0001001",
        "/crm/customers/CRM9999999",
    ]


@pytest.mark.parametrize("auth", ["bearer", "signed"])
def test_http_crm_with_the_wrong_secret_is_unavailable_not_empty(auth: str) -> None:
    with contact_services(crm_auth=auth) as services:
        connector = HttpCrm(CrmSettings(backend="http", url=services.sim.crm_url, auth=auth, token="wrong"))
        with pytest.raises(CrmUnavailable, match="refused the hub's credentials"):
            connector.find_by_phone("13812345678")
        connector.close()


def test_http_crm_that_does_not_answer_is_unavailable() -> None:
    connector = HttpCrm(
        CrmSettings(backend="http", url=f"http://127.0.0.1:{free_port()}/crm", token="x", timeout_seconds=1)
    )
    with pytest.raises(CrmUnavailable, match="did not answer"):
        connector.find_by_phone("13812345678")
    connector.close()


def test_builtin_crm_reads_the_hubs_table(sqlite_runtime: Runtime) -> None:
    with sqlite_runtime.sessions.begin() as s:
        s.add(
            CrmEntry(
                crm_number="CRM0001001",
                phone="13812345678",
                name="王建国",
                plan="5G畅爽套餐 129元",
                tier=2,
                email="wangjg@example.com",
            )
        )
    with sqlite_runtime.sessions() as s:
        builtin = BuiltinCrm(s)
        assert builtin.find_by_phone("13812345678") == [WANG]
        assert builtin.get("CRM0001001") == WANG and builtin.get("nope") is None


# -- the SMS gateway ----------------------------------------------------------------------------


def _gateway(url: str, secret: str = KEY_SECRET, timeout: float = 2.0) -> HttpSmsGateway:
    return HttpSmsGateway(
        SmsSettings(url=url, access_key_id=KEY_ID, access_key_secret=secret, timeout_seconds=timeout)
    )


def test_a_signed_send_is_recorded_and_can_be_found_by_its_out_id() -> None:
    with contact_services() as services:
        gateway = _gateway(services.sim.sms_url)
        sent = gateway.send(
            SmsRequest("13812345678", "SMS_100001", {"name": "王先生", "hours": "24"}, "contact:k1")
        )
        [item] = services.sim.sim.received
        assert (item.biz_id, item.out_id, item.phone, item.template) == (
            sent.biz_id,
            "contact:k1",
            "13812345678",
            "SMS_100001",
        )
        assert item.params == {"name": "王先生", "hours": "24"} and item.sign_name == "联通客服"
        today = [datetime.now(BEIJING).date()]  # the gateway's days are Beijing days
        assert gateway.find_sent("13812345678", "contact:k1", today) == sent
        assert gateway.find_sent("13812345678", "contact:other", today) is None
        gateway.close()


def test_gateway_refusals_map_to_what_the_outbox_does_about_them() -> None:
    with contact_services() as services:
        gateway = _gateway(services.sim.sms_url)
        faults = services.sim.sim.faults
        wrong, impatient = (
            _gateway(services.sim.sms_url, secret="wrong"),
            _gateway(services.sim.sms_url, timeout=0.5),
        )
        with pytest.raises(Rejected, match="SignatureDoesNotMatch"):
            wrong.send(SmsRequest("13812345678", "SMS_1", {}, "a"))
        with pytest.raises(Rejected, match="MOBILE_NUMBER_ILLEGAL"):
            gateway.send(SmsRequest("12345", "SMS_1", {}, "b"))
        faults.fail_next = "isv.BUSINESS_LIMIT_CONTROL"
        with pytest.raises(RateLimited):
            gateway.send(SmsRequest("13812345678", "SMS_1", {}, "c"))
        faults.down_next = 1
        with pytest.raises(Unavailable):
            gateway.send(SmsRequest("13812345678", "SMS_1", {}, "d"))
        assert services.sim.sim.received == []
        faults.hold_next = 3.0  # taken, answered after the hub stopped waiting
        with pytest.raises(Unavailable, match="no answer"):
            impatient.send(SmsRequest("13812345678", "SMS_1", {}, "e"))
        assert [r.out_id for r in services.sim.sim.received] == ["e"]
        for made in (gateway, wrong, impatient):
            made.close()


def test_delivery_reports_are_believed_only_when_signed_and_fresh() -> None:
    gateway = _gateway("http://127.0.0.1:9/sms")
    body = json.dumps(
        [
            {
                "phone_number": "13812345678",
                "report_time": "2026-12-06 20:00:01",
                "success": False,
                "err_code": "MOBILE_NOT_ON_SERVICE",
                "err_msg": "停机",
                "biz_id": "b1",
                "out_id": "contact:k1",
            }
        ],
        ensure_ascii=False,
    ).encode()
    ts = str(int(time.time()))
    headers = {
        "x-sms-timestamp": ts,
        "x-sms-nonce": "n1",
        "x-sms-signature": report_signature(KEY_SECRET, ts, "n1", body),
    }
    [report] = gateway.read_reports(headers, body)
    assert (report.out_id, report.biz_id, report.delivered, report.code) == (
        "contact:k1",
        "b1",
        False,
        "MOBILE_NOT_ON_SERVICE",
    )
    assert report.reported_at is not None and report.reported_at.hour == 12  # Beijing 20:00 is 12:00 UTC
    with pytest.raises(ReportRefused, match="signature"):
        gateway.read_reports(headers, body.replace(b"false", b"true"))
    old = str(int(time.time()) - 3600)
    stale = {
        **headers,
        "x-sms-timestamp": old,
        "x-sms-signature": report_signature(KEY_SECRET, old, "n1", body),
    }
    with pytest.raises(ReportRefused, match="stale"):
        gateway.read_reports(stale, body)
    gateway.close()


# -- e-mail -------------------------------------------------------------------------------------

MAIL = Email(
    "wangjg@example.com", "您的宽带报修进度", "王先生您好：\n装维师傅明天上午上门。", message_id("contact:k1")
)


def _smtp(sink: SmtpSink, **changes: object) -> SmtpSender:
    return SmtpSender(
        dataclasses.replace(EmailSettings(host=sink.host, port=sink.port, timeout_seconds=2), **changes)
    )  # type: ignore[arg-type]


def _the_one_mail(sink: SmtpSink) -> None:
    [mail] = sink.received()
    assert mail.rcpt_tos == ["wangjg@example.com"] and mail.mail_from == "service@example.com"
    assert (
        mail.message["Subject"] == "您的宽带报修进度"
        and mail.message["Message-ID"] == "<contact.k1@servicehub>"
    )
    assert "装维师傅明天上午上门" in mail.text and "客服中心" in str(mail.message["From"])


def test_plain_smtp_with_login_delivers_chinese_mail() -> None:
    with SmtpSink(users={"hub": "pw"}) as sink:
        assert _smtp(sink, username="hub", password="pw").send(MAIL) == "<contact.k1@servicehub>"
        _the_one_mail(sink)
        with pytest.raises(Rejected, match="refused the login"):
            _smtp(sink, username="hub", password="wrong").send(MAIL)


def test_starttls_and_implicit_tls_verify_the_servers_certificate(tmp_path: Path) -> None:
    context, cert = self_signed(tmp_path)
    with SmtpSink(tls=context) as sink:
        _smtp(sink, security="starttls", ca_file=str(cert)).send(MAIL)
        _the_one_mail(sink)
        with pytest.raises(Rejected, match="not trusted"):
            _smtp(sink, security="starttls").send(MAIL)
    with SmtpSink(tls=context, implicit_tls=True) as sink:
        _smtp(sink, security="ssl", ca_file=str(cert)).send(MAIL)
        _the_one_mail(sink)
    with SmtpSink() as plain, pytest.raises(Rejected, match="STARTTLS"):
        _smtp(plain, security="starttls").send(MAIL)


def test_smtp_refusals_and_a_lost_answer() -> None:
    with SmtpSink() as sink:
        sink.refuse["wangjg@example.com"] = "550 5.1.1 no such user"
        with pytest.raises(Rejected, match="550"):
            _smtp(sink).send(MAIL)
        sink.refuse["wangjg@example.com"] = "451 4.3.0 try again later"
        with pytest.raises(Unavailable, match="451"):
            _smtp(sink).send(MAIL)
        sink.refuse.clear()
        assert sink.received() == []
        sink.hold_next = 4.0  # the server has it, the answer comes after the hub gave up
        with pytest.raises(Unconfirmed):
            _smtp(sink, timeout_seconds=0.5).send(MAIL)
        _the_one_mail(sink)
    with pytest.raises(Unavailable, match="cannot reach"):
        SmtpSender(EmailSettings(host="127.0.0.1", port=free_port(), timeout_seconds=1)).send(MAIL)


# -- templates ----------------------------------------------------------------------------------


def test_templates_are_checked_when_read_and_filled() -> None:
    templates = sms_templates(SmsSettings(templates=TEMPLATES))
    sms = templates["SMS_100001"]
    assert sms.fields == [("name", "称呼"), ("hours", "处理时限（小时）")]
    assert templates["MMS_200001"].fields == [("name", "name"), ("plan", "plan")]
    params, text = sms.fill({"name": " 王先生 ", "hours": "24"})
    assert params == {"name": "王先生", "hours": "24"} and text.startswith("尊敬的王先生，")
    for values, code in (
        ({"name": "王先生"}, "sms_param_required"),
        ({"name": "王" * 36, "hours": "1"}, "sms_param_too_long"),
        ({"name": "http://t.cn/x", "hours": "1"}, "sms_param_link"),
    ):
        with pytest.raises(ActionError) as refused:
            sms.fill(values)
        assert refused.value.code == code
    broken = {"SMS_9": {"text": "您好{name}", "params": ["name", "extra"]}}
    with pytest.raises(SettingsError, match=r"sms\.templates\.SMS_9\.params"):
        sms_templates(SmsSettings(templates=broken))
    with pytest.raises(SettingsError, match=r"sms\.templates\.SMS_9\.kind"):
        sms_templates(SmsSettings(templates={"SMS_9": {"kind": "fax", "text": "x"}}))
