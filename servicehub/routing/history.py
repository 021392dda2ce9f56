"""A customer's contact history across accounts and channels, as one principal may see it.

Every inbound message is a contact event; what the hub sent is the other side: replies on
the platforms, and SMS, MMS and e-mail (with the masked number or address they went to and
their delivery state). A customer is visible only through messages on accounts within the
caller's request scope, so a partner sees its own conversations with a customer and
nothing of the rest; numbers and addresses are masked unless the caller sees phones there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from servicehub.core.masking import CustomerView, customer_view, phone_sight
from servicehub.core.models import (
    Account,
    AccountOperator,
    Customer,
    CustomerIdentity,
    Message,
    OutboundMessage,
)
from servicehub.core.permissions import NotVisible, Principal, scope_clause


@dataclass(frozen=True)
class ContactEvent:
    at: datetime
    direction: str  # "in" | "out"
    platform: str
    account: str
    kind: str
    text: str
    request_id: int | None
    state: str  # the filter verdict for inbound, the delivery state for outbound
    to: str = ""  # SMS/MMS/e-mail: the number or address it went to, masked unless visible
    error_kind: str | None = None  # why an outbound one failed (send_error.<kind>)


@dataclass(frozen=True)
class CustomerHistory:
    customer: CustomerView
    identities: list[CustomerIdentity]
    events: list[ContactEvent]
    requests: int


def customer_history(
    session: Session, principal: Principal, customer_id: int, limit: int = 200
) -> CustomerHistory:
    # What the filters dropped is shown only to those who may review it on that account.
    readable = or_(
        and_(Message.keep.is_(True), scope_clause(principal, "request.view", Message)),
        and_(Message.keep.is_(False), scope_clause(principal, "message.review", Message)),
    )
    inbound = session.execute(
        select(Message, Account)
        .join(Account, Account.id == Message.account_id)
        .where(Message.customer_id == customer_id, readable)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    ).all()
    customer = session.get(Customer, customer_id)
    if customer is None or not inbound:
        raise NotVisible(f"customer {customer_id}")
    sight = phone_sight(session, principal)
    request_ids = {m.request_id for m, _ in inbound if m.request_id is not None}
    outbound = session.execute(
        select(OutboundMessage, Account)
        .join(Account, Account.id == OutboundMessage.account_id)
        .where(OutboundMessage.request_id.in_(request_ids))
    ).all()
    events = [
        ContactEvent(
            m.created_at,
            "in",
            a.platform,
            a.display_name,
            m.kind,
            sight.text(a.id, m.text),
            m.request_id,
            "kept" if m.keep else (m.drop_reason or "dropped"),
        )
        for m, a in inbound
    ] + [
        ContactEvent(
            o.sent_at or o.created_at,
            "out",
            a.platform,
            a.display_name,
            str(o.kind),
            sight.text(a.id, o.sent_text or o.text),
            o.request_id,
            str(o.state),
            sight.destination(a.id, o.target),
            o.error_kind,
        )
        for o, a in outbound
    ]
    events.sort(key=lambda e: e.at, reverse=True)
    latest_account = inbound[0][1]
    operators = set(
        session.scalars(
            select(AccountOperator.user_id).where(AccountOperator.account_id == latest_account.id)
        )
    )
    platforms = {a.platform for _, a in inbound}
    identities = list(
        session.scalars(
            select(CustomerIdentity).where(
                CustomerIdentity.customer_id == customer_id, CustomerIdentity.platform.in_(platforms)
            )
        )
    )
    return CustomerHistory(
        customer=customer_view(principal, customer, latest_account, operators),
        identities=identities,
        events=events[:limit],
        requests=len(request_ids),
    )
