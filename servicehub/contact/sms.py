"""The SMS/MMS gateway seam and its HTTP implementation, shaped like the big cloud SMS APIs.

Requests are RPC-style form posts signed like Alibaba Cloud's (with HMAC-SHA256): every
parameter, plus ``AccessKeyId``, ``Action``, ``Format``, ``SignatureMethod``,
``SignatureNonce``, ``SignatureVersion``, ``Timestamp`` and ``Version``, is sorted by name
and RFC 3986-encoded into a canonical query; the string to sign is
``POST&%2F&<encoded canonical query>`` and ``Signature`` is the Base64 HMAC-SHA256 of it
with ``<access_key_secret>&`` as key.

- ``SendSms``: ``PhoneNumbers``, ``SignName``, ``TemplateCode``, ``TemplateParam`` (JSON),
  ``OutId`` (the hub's send key) -> ``{"Code": "OK", "BizId", "RequestId"}`` or an error
  ``Code``. MMS templates are sent the same way (the gateway knows the template's media).
- ``QuerySendDetails``: ``PhoneNumber``, ``SendDate`` (yyyyMMdd) -> the day's sends to that
  number with their ``OutId``: how the hub learns whether a send whose answer it never got
  reached the gateway, before it sends again.

Delivery reports are posted by the gateway to ``<public_url>/callbacks/sms/<provider>`` as a
JSON list of ``{"phone_number", "send_time", "report_time", "success", "err_code",
"err_msg", "biz_id", "out_id"}``, signed with headers ``X-Sms-Timestamp``, ``X-Sms-Nonce``
and ``X-Sms-Signature`` (Base64 HMAC-SHA256, key ``access_key_secret``, over
``TIMESTAMP\\nNONCE\\n`` + the body). :meth:`HttpSmsGateway.read_reports` checks them.

Failures are the hub's send errors (``adapters.errors``): a refusal that sending again
would meet again is :class:`Rejected`; the number's or account's frequency limit is
:class:`RateLimited`; no answer at all is :class:`Unavailable` -- and because the request
may have got through, the sender asks ``QuerySendDetails`` before any further try.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from servicehub.adapters.errors import RateLimited, Rejected, Unavailable
from servicehub.core.settings import SmsSettings

API_VERSION = "2017-05-25"
REPORT_MAX_AGE_SECONDS = 300
BEIJING = timezone(timedelta(hours=8))
# Any other error code is a refusal that would repeat (number, template, signature, balance,
# credentials): Rejected.
_RATE_LIMIT_CODES = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "Throttling"})
_RETRY_CODES = frozenset({"isp.SYSTEM_ERROR", "ServiceUnavailable", "InternalError"})


@dataclass(frozen=True)
class SmsRequest:
    phone: str
    template_id: str
    params: Mapping[str, str]
    out_id: str


@dataclass(frozen=True)
class SmsSent:
    biz_id: str


@dataclass(frozen=True)
class DeliveryReport:
    out_id: str
    biz_id: str
    phone: str
    delivered: bool
    code: str
    message: str
    reported_at: datetime | None


class ReportRefused(Exception):
    """A delivery report the hub does not believe (bad signature, stale, not JSON)."""


class SmsGateway(Protocol):
    def send(self, request: SmsRequest) -> SmsSent: ...

    def find_sent(self, phone: str, out_id: str, days: list[date]) -> SmsSent | None: ...

    def read_reports(self, headers: Mapping[str, str], body: bytes) -> list[DeliveryReport]: ...

    def close(self) -> None: ...


def percent_encode(value: str) -> str:
    return quote(str(value), safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def request_signature(secret: str, params: Mapping[str, str], method: str = "POST") -> str:
    """The ``Signature`` of a gateway request with these parameters (without ``Signature``)."""
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def report_signature(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The ``X-Sms-Signature`` of a delivery report body."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{nonce}\n".encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class HttpSmsGateway:
    def __init__(self, settings: SmsSettings, *, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.client = httpx.Client(timeout=settings.timeout_seconds, transport=transport)

    def send(self, request: SmsRequest) -> SmsSent:
        answer = self._call(
            "SendSms",
            {
                "PhoneNumbers": request.phone,
                "SignName": self.settings.sign_name,
                "TemplateCode": request.template_id,
                "TemplateParam": json.dumps(dict(request.params), ensure_ascii=False, sort_keys=True),
                "OutId": request.out_id,
            },
        )
        return SmsSent(str(answer.get("BizId") or f"out:{request.out_id}"))

    def find_sent(self, phone: str, out_id: str, days: list[date]) -> SmsSent | None:
        for day in days:
            answer = self._call(
                "QuerySendDetails",
                {
                    "PhoneNumber": phone,
                    "SendDate": day.strftime("%Y%m%d"),
                    "PageSize": "50",
                    "CurrentPage": "1",
                },
            )
            details = (answer.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
            for item in details:
                if isinstance(item, dict) and item.get("OutId") == out_id:
                    return SmsSent(str(item.get("BizId") or f"out:{out_id}"))
        return None

    def _call(self, action: str, params: dict[str, str]) -> dict[str, Any]:
        if not self.settings.url:
            raise Unavailable("[sms] url is empty: no SMS gateway is configured", request=action)
        signed = {
            **params,
            "AccessKeyId": self.settings.access_key_id,
            "Action": action,
            "Format": "JSON",
            "SignatureMethod": "HMAC-SHA256",
            "SignatureNonce": secrets.token_hex(12),
            "SignatureVersion": "1.0",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
        }
        signed["Signature"] = request_signature(self.settings.access_key_secret, signed)
        try:
            response = self.client.post(self.settings.url, data=signed)
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"no answer from the SMS gateway: {type(exc).__name__}", request=action
            ) from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise Unavailable(f"the SMS gateway answered {response.status_code} without JSON", request=action)
        code = str(answer.get("Code") or "")
        if code == "OK":
            return answer
        message = f"{code}: {answer.get('Message', '')}"
        if code in _RATE_LIMIT_CODES:
            raise RateLimited(message, request=action)
        if code in _RETRY_CODES or response.status_code >= 500:
            raise Unavailable(message, request=action)
        raise Rejected(message, request=action)

    def read_reports(self, headers: Mapping[str, str], body: bytes) -> list[DeliveryReport]:
        ts, nonce = headers.get("x-sms-timestamp", ""), headers.get("x-sms-nonce", "")
        given = headers.get("x-sms-signature", "")
        wanted = report_signature(self.settings.access_key_secret, ts, nonce, body)
        if not given or not hmac.compare_digest(given, wanted):
            raise ReportRefused("bad signature")
        try:
            age = abs(time.time() - int(ts))
        except ValueError:
            raise ReportRefused("bad timestamp") from None
        if age > REPORT_MAX_AGE_SECONDS:
            raise ReportRefused("stale report")
        try:
            items = json.loads(body)
        except (ValueError, RecursionError):  # deep nesting too: never a 500
            raise ReportRefused("not JSON") from None
        if not isinstance(items, list):
            raise ReportRefused("not a list of reports")
        return [_report(item) for item in items if isinstance(item, dict) and item.get("out_id")]

    def close(self) -> None:
        self.client.close()


def _report(item: Mapping[str, Any]) -> DeliveryReport:
    return DeliveryReport(
        out_id=str(item.get("out_id") or ""),
        biz_id=str(item.get("biz_id") or ""),
        phone=str(item.get("phone_number") or ""),
        delivered=item.get("success") is True,
        code=str(item.get("err_code") or ""),
        message=str(item.get("err_msg") or ""),
        reported_at=_time(item.get("report_time")),
    )


def _time(value: Any) -> datetime | None:
    """Report times are Beijing time ``yyyy-MM-dd HH:mm:ss``."""
    try:
        local = datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return local.replace(tzinfo=BEIJING).astimezone(UTC)
