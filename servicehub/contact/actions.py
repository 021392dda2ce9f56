"""Actions on a customer's contact details, taken from a request: confirm the phone, link
and unlink the CRM record, queue an SMS/MMS or an e-mail.

Each acts on the customer of a request the operator can see (``request.view``; anything
else is NotVisible) and needs its own function within its scope on that request's account:

- ``customer.link_crm`` to confirm a phone and to link a CRM record (the two go together:
  a partner that may not see phone numbers whole may not vouch for one either);
- ``customer.contact`` to send SMS, MMS or e-mail. A partner granted it sends to the
  number on file without ever seeing it: the number and the texts stay masked for it.

Sends are outbox rows (``publishing.send`` after commit): at most once, with their delivery
state; the SMS gateway's delivery reports move them on (``reports.py``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.contact.channels import crm
from servicehub.contact.crm import CrmUnavailable
from servicehub.contact.templates import sms_templates
from servicehub.core import audit
from servicehub.core.db import utcnow
from servicehub.core.errors import ActionError
from servicehub.core.masking import mask_email, mask_phone
from servicehub.core.models import Customer, OutboundKind, OutboundMessage, ServiceRequest
from servicehub.core.permissions import Principal, access
from servicehub.core.runtime import Runtime
from servicehub.core.tasks import enqueue_on_commit

LINK_CRM = "customer.link_crm"
CONTACT = "customer.contact"
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_EMAIL = re.compile(r"[^@\s*]+@[^@\s*]+\.[^@\s*]+")
SUBJECT_MAX, BODY_MAX = 120, 5000


def normalized_phone(text: str) -> str:
    """A mainland mobile number as 11 digits (spaces, dashes and a +86 prefix allowed)."""
    compact = re.sub(r"^\+?86", "", re.sub(r"[\s\-()（）]", "", text))
    if not _MOBILE.fullmatch(compact):
        raise ActionError("invalid_phone", "not a mainland mobile number")
    return compact


def request_customer(
    session: Session, who: Principal, request_id: int, function: str
) -> tuple[ServiceRequest, Customer]:
    request = access(session, who, ServiceRequest, request_id, function, visible_by="request.view")
    customer = session.get(Customer, request.customer_id)
    assert customer is not None, "a request always has its customer"
    return request, customer


def _tell(session: Session, runtime: Runtime, request: ServiceRequest) -> None:
    runtime.publish_on_commit(
        session, {"type": "request", "request_id": request.id, "account_id": request.account_id}
    )


def do_confirm_phone(
    session: Session, runtime: Runtime, who: Principal, request_id: int, phone: str
) -> Customer:
    """Store the phone the operator confirmed (one the hub found in the messages, or typed).

    A different number than before drops a CRM link made for the old one.
    """
    request, customer = request_customer(session, who, request_id, LINK_CRM)
    number = normalized_phone(phone)
    if number == customer.phone:
        return customer
    before = customer.phone
    customer.phone = number
    dropped = customer.crm_number
    if dropped is not None:
        _drop_crm(customer)
    audit.record(
        session,
        "customer.phone_confirmed",
        "customer",
        customer.id,
        by=who,
        request_id=request.id,
        before=mask_phone(before),
        after=mask_phone(number),
        crm_unlinked=dropped,
    )
    _tell(session, runtime, request)
    return customer


def do_link_crm(
    session: Session, runtime: Runtime, who: Principal, request_id: int, crm_number: str
) -> Customer:
    """Link the CRM record ``crm_number``, which must belong to the customer's confirmed phone.

    The record's tier becomes the customer's (it feeds priority: open requests are scored
    again); its e-mail fills an empty one.
    """
    request, customer = request_customer(session, who, request_id, LINK_CRM)
    if not customer.phone:
        raise ActionError("phone_first", "confirm the customer's phone first")
    number = crm_number.strip()
    if not number:
        raise ActionError("crm_number_required", "pick a CRM record")
    try:
        record = crm(runtime, session).get(number)
    except CrmUnavailable as exc:
        raise ActionError("crm_unavailable", str(exc)) from exc
    if record is None:
        raise ActionError("crm_not_found", f"no CRM record {number}", number=number)
    if record.phone != customer.phone:
        raise ActionError("crm_phone_mismatch", "the record belongs to another phone number")
    tier_before = customer.tier
    if customer.crm_number is not None:  # replacing a link restores the tier it brought
        tier_before = int((customer.crm_profile or {}).get("tier_before", tier_before))
    customer.crm_number = record.crm_number
    customer.crm_profile = {**record.as_dict(), "linked_at": utcnow().isoformat(), "tier_before": tier_before}
    customer.tier = record.tier
    if record.email and not customer.email:
        customer.email = record.email
    audit.record(
        session,
        "customer.crm_linked",
        "customer",
        customer.id,
        by=who,
        request_id=request.id,
        crm_number=record.crm_number,
        tier=[tier_before, record.tier],
    )
    if record.tier > tier_before:
        enqueue_on_commit(session, runtime.tasks, "routing.reprioritize_customer", customer_id=customer.id)
    _tell(session, runtime, request)
    return customer


def do_unlink_crm(session: Session, runtime: Runtime, who: Principal, request_id: int) -> Customer:
    """Undo the CRM link (a wrong record): the tier it brought goes with it."""
    request, customer = request_customer(session, who, request_id, LINK_CRM)
    number = customer.crm_number
    if number is None:
        return customer
    tier = customer.tier
    _drop_crm(customer)
    audit.record(
        session,
        "customer.crm_unlinked",
        "customer",
        customer.id,
        by=who,
        request_id=request.id,
        crm_number=number,
        tier=[tier, customer.tier],
    )
    _tell(session, runtime, request)
    return customer


def _drop_crm(customer: Customer) -> None:
    customer.tier = int((customer.crm_profile or {}).get("tier_before", customer.tier))
    customer.crm_number, customer.crm_profile = None, None


# -- sends ----------------------------------------------------------------------------------


def contact_key(request_id: int, user_id: int, kind: str, nonce: str, content: str) -> str:
    digest = hashlib.sha256(f"{request_id}:{user_id}:{kind}:{nonce}:{content}".encode()).hexdigest()
    return f"contact:{digest[:32]}"


def do_queue_sms(
    session: Session,
    runtime: Runtime,
    who: Principal,
    request_id: int,
    template_id: str,
    values: Mapping[str, str],
    *,
    nonce: str,
) -> OutboundMessage:
    """Queue the template ``template_id`` filled with ``values`` to the customer's phone (an
    MMS if the template is one). A repeated submission (same nonce) returns the first row."""
    request, customer = request_customer(session, who, request_id, CONTACT)
    template = sms_templates(runtime.settings.sms).get(template_id)
    if template is None:
        raise ActionError("sms_template_unknown", f"no template {template_id!r}")
    if not customer.phone:
        raise ActionError("no_phone", "the customer has no confirmed phone")
    params, text = template.fill(values)
    target = {"phone": customer.phone, "template": template.id, "params": params}
    return _queue(session, runtime, who, request, OutboundKind(template.kind), target, text, nonce)


def do_queue_email(
    session: Session,
    runtime: Runtime,
    who: Principal,
    request_id: int,
    *,
    to: str,
    subject: str,
    body: str,
    nonce: str,
) -> OutboundMessage:
    """Queue an e-mail to ``to`` (empty: the address on file). A new address is kept on the
    customer for next time."""
    request, customer = request_customer(session, who, request_id, CONTACT)
    address = to.strip() or customer.email or ""
    if not address:
        raise ActionError("no_email", "the customer has no e-mail address")
    if len(address) > 254 or not _EMAIL.fullmatch(address):
        raise ActionError("invalid_email", "not an e-mail address")
    subject, body = subject.strip(), body.strip()
    if not subject or not body:
        raise ActionError("email_incomplete", "an e-mail needs a subject and a text")
    for field, value, limit in (("email_subject", subject, SUBJECT_MAX), ("email_body", body, BODY_MAX)):
        if len(value) > limit:
            raise ActionError("too_long", f"{field} is longer than {limit}", field=field, limit=limit)
    if address != customer.email:
        before, customer.email = customer.email, address
        audit.record(
            session,
            "customer.email_set",
            "customer",
            customer.id,
            by=who,
            before=mask_email(before),
            after=mask_email(address),
        )
    target = {"email": address, "subject": subject}
    return _queue(session, runtime, who, request, OutboundKind.EMAIL, target, body, nonce)


def _queue(
    session: Session,
    runtime: Runtime,
    who: Principal,
    request: ServiceRequest,
    kind: OutboundKind,
    target: Mapping[str, object],
    text: str,
    nonce: str,
) -> OutboundMessage:
    key = contact_key(request.id, who.user_id, str(kind), nonce, f"{sorted(target.items())}{text}")
    existing = session.scalars(select(OutboundMessage).where(OutboundMessage.idempotency_key == key)).first()
    if existing is not None:
        return existing
    outbound = OutboundMessage(
        account_id=request.account_id,
        request_id=request.id,
        kind=kind,
        target=dict(target),
        text=text,
        idempotency_key=key,
        send_key=key,
        created_by=who.user_id,
    )
    session.add(outbound)
    session.flush()
    audit.record(
        session,
        "contact.queued",
        "request",
        request.id,
        by=who,
        outbound_id=outbound.id,
        kind=str(kind),
        template=target.get("template"),
    )
    enqueue_on_commit(session, runtime.tasks, "publishing.send", outbound_id=outbound.id)
    _tell(session, runtime, request)
    return outbound
