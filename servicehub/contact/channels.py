"""Sending SMS, MMS and e-mail rows of the outbox (named in ``publishing.outbox.CHANNELS``).

The connectors are built once per runtime from settings (``[crm]``, ``[sms]``, ``[email]``)
and closed with it; a test may install its own :class:`ContactClients` with :func:`install`.
The built-in CRM is read through the caller's session instead (:func:`crm`).

SMS and MMS are sent at most once by asking the gateway first: before every send the
gateway is asked whether it already has this row's send key (``QuerySendDetails`` by phone
and day), so a send whose answer was lost -- a timeout after the gateway took it -- is
settled as sent, not sent again. E-mail cannot be asked about: a lost answer leaves the row
``unknown`` for a person (``Unconfirmed``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session

from servicehub.adapters.base import SentRef
from servicehub.contact.crm import BuiltinCrm, CrmConnector, HttpCrm
from servicehub.contact.email import Email, EmailSender, SmtpSender, message_id
from servicehub.contact.sms import BEIJING, HttpSmsGateway, SmsGateway, SmsRequest
from servicehub.core.db import utcnow
from servicehub.core.models import Account, OutboundMessage
from servicehub.core.runtime import Runtime

_lock = threading.Lock()


@dataclass
class ContactClients:
    crm: CrmConnector | None  # None: [crm] backend = "builtin"
    sms: SmsGateway
    email: EmailSender

    def close(self) -> None:
        if self.crm is not None:
            self.crm.close()
        self.sms.close()
        self.email.close()


def clients(runtime: Runtime) -> ContactClients:
    with _lock:
        made = runtime.contact
        if not isinstance(made, ContactClients):
            settings = runtime.settings
            made = runtime.contact = ContactClients(
                crm=HttpCrm(settings.crm) if settings.crm.backend == "http" else None,
                sms=HttpSmsGateway(settings.sms),
                email=SmtpSender(settings.email),
            )
        return made


def crm(runtime: Runtime, session: Session) -> CrmConnector:
    """The CRM of ``[crm] backend``: the HTTP one, or the built-in table read through ``session``."""
    connector = clients(runtime).crm
    return connector if connector is not None else BuiltinCrm(session)


def install(runtime: Runtime, made: ContactClients) -> None:
    """Use ``made`` instead of the connectors settings describe (tests)."""
    with _lock:
        old = runtime.contact
        runtime.contact = made
    if isinstance(old, ContactClients) and old is not made:
        old.close()


def send_sms(runtime: Runtime, account: Account, outbound: OutboundMessage) -> SentRef:
    """An SMS or MMS row (the template decides which): asked about first, then sent."""
    target = outbound.target
    phone, out_id = str(target["phone"]), outbound.send_key or outbound.idempotency_key
    gateway = clients(runtime).sms
    days = sorted({moment.astimezone(BEIJING).date() for moment in (outbound.created_at, utcnow())})
    found = gateway.find_sent(phone, out_id, days)
    if found is None:
        params = {str(k): str(v) for k, v in dict(target.get("params") or {}).items()}
        found = gateway.send(SmsRequest(phone, str(target["template"]), params, out_id))
    return SentRef(found.biz_id, outbound.text)


def send_email(runtime: Runtime, account: Account, outbound: OutboundMessage) -> SentRef:
    target = outbound.target
    mid = message_id(outbound.send_key or outbound.idempotency_key)
    clients(runtime).email.send(
        Email(str(target["email"]), str(target.get("subject", "")), outbound.text, mid)
    )
    return SentRef(mid, outbound.text)
