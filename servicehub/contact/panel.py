"""The customer panel of the request page: identities, phone, CRM record, sends, proposals.

Read for one principal: numbers, addresses and texts masked unless they see phones on the
request's account; suggestions and forms only for what they may do there. The CRM is
asked for records matching the confirmed phone only while none is linked and only for
those who may link one; if it does not answer, the panel says so instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicehub.contact.actions import CONTACT, LINK_CRM
from servicehub.contact.channels import crm as crm_connector
from servicehub.contact.crm import CrmRecord, CrmUnavailable
from servicehub.contact.identities import LINK, same_phone
from servicehub.contact.templates import SmsTemplate, sms_templates
from servicehub.core.masking import CustomerView, customer_view, mask_tail, phone_sight, phones_in_text
from servicehub.core.models import (
    CONTACT_KINDS,
    Account,
    AccountOperator,
    Customer,
    CustomerIdentity,
    DeliveryState,
    Message,
    OutboundMessage,
    ServiceRequest,
)
from servicehub.core.permissions import Principal, access, may_see_account, restrict
from servicehub.core.runtime import Runtime

SENDS_SHOWN = 10


@dataclass(frozen=True)
class ContactSend:
    id: int
    request_id: int | None
    kind: str
    to: str
    text: str
    subject: str
    state: str
    error_kind: str | None
    error: str
    at: datetime
    retryable: bool


@dataclass(frozen=True)
class ContactPanel:
    request_id: int
    customer: CustomerView
    identities: list[CustomerIdentity]
    crm: dict[str, Any] | None  # the linked record as shown (CRM number masked if need be)
    can_confirm_phone: bool  # also: may link the CRM record
    can_contact: bool
    can_link_identity: bool
    phone_suggestions: list[str]
    crm_candidates: list[CrmRecord]
    crm_unavailable: bool
    proposals: list[Customer]
    templates: list[SmsTemplate]
    prefill: dict[str, str]
    sends: list[ContactSend]


def contact_panel(session: Session, runtime: Runtime, who: Principal, request_id: int) -> ContactPanel:
    request = access(session, who, ServiceRequest, request_id, "request.view")
    account = session.get(Account, request.account_id)
    customer = session.get(Customer, request.customer_id)
    assert account is not None and customer is not None
    operators = list(
        session.scalars(select(AccountOperator.user_id).where(AccountOperator.account_id == account.id))
    )
    view = customer_view(who, customer, account, operators)
    may_link_crm, may_contact, may_link = (
        may_see_account(who, account, operators, function) for function in (LINK_CRM, CONTACT, LINK)
    )
    crm = _crm_shown(customer, masked=view.crm_masked)
    candidates: list[CrmRecord] = []
    unavailable = False
    if may_link_crm and customer.phone and customer.crm_number is None:
        try:
            candidates = crm_connector(runtime, session).find_by_phone(customer.phone)
        except CrmUnavailable:
            unavailable = True
    return ContactPanel(
        request_id=request.id,
        customer=view,
        identities=list(
            session.scalars(
                select(CustomerIdentity)
                .where(CustomerIdentity.customer_id == customer.id)
                .order_by(CustomerIdentity.id)
            )
        ),
        crm=crm,
        can_confirm_phone=may_link_crm,
        can_contact=may_contact,
        can_link_identity=may_link,
        phone_suggestions=_suggestions(session, request.id, customer.phone) if may_link_crm else [],
        crm_candidates=candidates,
        crm_unavailable=unavailable,
        proposals=same_phone(session, who, customer) if may_link else [],
        templates=list(sms_templates(runtime.settings.sms).values()) if may_contact else [],
        prefill={"name": str(crm.get("name", ""))} if crm and may_contact else {},
        sends=_sends(session, who, customer.id),
    )


def _suggestions(session: Session, request_id: int, known: str | None) -> list[str]:
    """Mainland mobile numbers the customer wrote in this conversation, not yet confirmed."""
    texts = session.scalars(
        select(Message.text)
        .where(Message.request_id == request_id, Message.keep.is_(True))
        .order_by(Message.id)
    )
    found = [phone for text in texts for phone in phones_in_text(text)]
    return [phone for phone in dict.fromkeys(found) if phone != known]


def _crm_shown(customer: Customer, *, masked: bool) -> dict[str, Any] | None:
    if customer.crm_number is None:
        return None
    profile = dict(customer.crm_profile or {})
    profile["crm_number"] = mask_tail(customer.crm_number) if masked else customer.crm_number
    if masked:
        profile.pop("phone", None)
        profile.pop("email", None)
    return profile


def _sends(session: Session, who: Principal, customer_id: int) -> list[ContactSend]:
    """The customer's latest SMS/MMS/e-mail on requests ``who`` can see, newest first."""
    sight = phone_sight(session, who)
    stmt = (
        select(OutboundMessage, ServiceRequest.account_id)
        .join(ServiceRequest, ServiceRequest.id == OutboundMessage.request_id)
        .where(ServiceRequest.customer_id == customer_id, OutboundMessage.kind.in_(CONTACT_KINDS))
        .order_by(OutboundMessage.id.desc())
        .limit(SENDS_SHOWN)
    )
    rows = session.execute(restrict(stmt, who, "request.view", ServiceRequest)).all()
    retry_on = set(
        session.scalars(
            restrict(
                select(ServiceRequest.id).where(ServiceRequest.id.in_({o.request_id for o, _ in rows})),
                who,
                CONTACT,
                ServiceRequest,
            )
        )
    )
    return [
        ContactSend(
            id=o.id,
            request_id=o.request_id,
            kind=str(o.kind),
            to=sight.destination(account_id, o.target),
            text=sight.text(account_id, o.sent_text or o.text),
            subject=sight.text(account_id, str(o.target.get("subject", ""))),
            state=str(o.state),
            error_kind=o.error_kind,
            error=o.error,
            at=o.sent_at or o.created_at,
            retryable=o.state in (DeliveryState.FAILED, DeliveryState.UNKNOWN) and o.request_id in retry_on,
        )
        for o, account_id in rows
    ]


@dataclass(frozen=True)
class CustomerTools:
    """What the customer page adds to the contact history: the CRM record, identity links."""

    crm: dict[str, Any] | None
    can_link_identity: bool
    identity_count: int
    proposals: list[Customer]


def customer_tools(session: Session, who: Principal, customer_id: int, view: CustomerView) -> CustomerTools:
    """For a customer ``who`` can already see (``view``: as the history shows it)."""
    customer = session.get(Customer, customer_id)
    assert customer is not None
    may_link = (
        session.scalars(
            restrict(select(Customer.id).where(Customer.id == customer_id), who, LINK, Customer)
        ).first()
        is not None
        and customer.merged_into_id is None
    )
    count = session.scalar(select(func.count()).where(CustomerIdentity.customer_id == customer_id)) or 0
    return CustomerTools(
        crm=_crm_shown(customer, masked=view.crm_masked),
        can_link_identity=may_link,
        identity_count=count,
        proposals=same_phone(session, who, customer) if may_link else [],
    )
