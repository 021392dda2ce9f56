"""The contact services tests talk to over the network: the CRM + SMS gateway simulator, a
local SMTP server (plain, STARTTLS, implicit TLS), and the settings that point at them."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servicehub.contact.actions import do_queue_sms
from servicehub.contact.simulator import ContactSimConfig, ContactSimThread
from servicehub.contact.smtp_sink import SmtpSink
from servicehub.core.models import OutboundMessage
from servicehub.core.runtime import Runtime
from tests.factories import principal_of

KEY_ID, KEY_SECRET, CRM_TOKEN = "test-key", "test-key-secret", "test-crm-token"
TEMPLATES: dict[str, dict[str, Any]] = {
    "SMS_100001": {
        "kind": "sms",
        "label": "问题已受理",
        "text": "尊敬的{name}，您反映的问题已受理，我们将在{hours}小时内处理完毕。",
        "params": ["name", "hours"],
        "param_labels": ["称呼", "处理时限（小时）"],
    },
    "MMS_200001": {
        "kind": "mms",
        "label": "5G套餐介绍（彩信）",
        "text": "{name}您好，为您推荐{plan}。",
        "params": ["name", "plan"],
    },
}
CRM_RECORDS = [
    {
        "crm_number": "CRM0001001",
        "name": "王建国",
        "phone": "13812345678",
        "plan": "5G畅爽套餐 129元",
        "tier": 2,
        "email": "wangjg@example.com",
    },
    {"crm_number": "CRM0001002", "name": "李秀英", "phone": "13987654321", "plan": "冰激凌套餐", "tier": 0},
]


@dataclass
class ContactServices:
    sim: ContactSimThread
    smtp: SmtpSink

    def sections(self, *, crm_auth: str = "bearer", sms_timeout: float = 2.0) -> dict[str, dict[str, Any]]:
        """Settings sections pointing the hub at these services (HTTP CRM, SMS gateway, SMTP)."""
        return {
            "crm": {"backend": "http", "url": self.sim.crm_url, "auth": crm_auth, "token": CRM_TOKEN},
            "sms": {
                "url": self.sim.sms_url,
                "access_key_id": KEY_ID,
                "access_key_secret": KEY_SECRET,
                "timeout_seconds": sms_timeout,
                "templates": TEMPLATES,
            },
            "email": {"host": self.smtp.host, "port": self.smtp.port, "timeout_seconds": 2.0},
        }


@contextmanager
def contact_services(*, crm_auth: str = "bearer", report_delay: float = 0.2) -> Iterator[ContactServices]:
    config = ContactSimConfig(KEY_ID, KEY_SECRET, CRM_TOKEN, crm_auth, report_delay)
    sim = ContactSimThread(config=config)
    smtp = SmtpSink().start()
    try:
        for record in CRM_RECORDS:
            sim.sim.crm[str(record["crm_number"])] = dict(record)
        yield ContactServices(sim, smtp)
    finally:
        smtp.stop()
        sim.stop()


def self_signed(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 and the certificate file a client should trust."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path


def act(
    runtime: Runtime, user_id: int, action: Callable[..., object], *args: object, **kwargs: object
) -> object:
    """Run ``action(session, runtime, principal, *args, **kwargs)`` as ``user_id`` and commit."""
    with runtime.sessions() as session:
        result = action(session, runtime, principal_of(session, user_id), *args, **kwargs)
        session.commit()
        return result


def queue_sms(
    runtime: Runtime, user_id: int, request_id: int, nonce: str, template: str = "SMS_100001", **params: str
) -> OutboundMessage:
    """``do_queue_sms`` of ``template`` (default params: name 王先生, hours 24)."""
    values = params or {"name": "王先生", "hours": "24"}
    row = act(runtime, user_id, do_queue_sms, request_id, template, values, nonce=nonce)
    assert isinstance(row, OutboundMessage)
    return row
