"""One person, several platform identities: link two customers into one, split one off again.

Linking moves every identity, message and request of the other customer to this one, so
the contact history spans platforms and what the hub hears next from either identity
joins it; the other customer is kept, empty, pointing at this one (``merged_into_id``),
and fills this one's blank contact details. The hub proposes links by a confirmed phone
shared by two customers (:func:`same_phone`); an operator confirms, or links by hand.

Unlinking moves one identity, with the messages it wrote and the requests they opened,
back to a customer of its own; phone, e-mail and CRM link stay where they were confirmed.

Both need ``customer.link_identity`` on every customer involved: a customer outside the
operator's scope is NotVisible, like one that does not exist.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.errors import ActionError
from servicehub.core.models import Customer, CustomerIdentity, Message, ServiceRequest
from servicehub.core.permissions import NotVisible, Principal, access, restrict
from servicehub.core.runtime import Runtime

LINK = "customer.link_identity"


def access_customer(session: Session, who: Principal, customer_id: int, function: str = LINK) -> Customer:
    return access(
        session,
        who,
        Customer,
        customer_id,
        function,
        visible_by="request.view",
        where=[Customer.merged_into_id.is_(None)],
    )


def same_phone(session: Session, who: Principal, customer: Customer) -> list[Customer]:
    """Other customers ``who`` can see with the same confirmed phone: proposed links."""
    if not customer.phone:
        return []
    stmt = select(Customer).where(
        Customer.phone == customer.phone, Customer.id != customer.id, Customer.merged_into_id.is_(None)
    )
    return list(session.scalars(restrict(stmt.order_by(Customer.id), who, "request.view", Customer)))


def do_link_customers(
    session: Session, runtime: Runtime, who: Principal, customer_id: int, other_id: int, *, by_phone: bool
) -> Customer:
    """Move ``other_id``'s identities and history into ``customer_id``. ``by_phone``: the
    operator confirmed the hub's proposal, so both must still share a confirmed phone."""
    customer = access_customer(session, who, customer_id)
    if other_id == customer_id:
        raise ActionError("same_customer", "that is this customer")
    other = access_customer(session, who, other_id)
    if by_phone and not (customer.phone and customer.phone == other.phone):
        raise ActionError("phones_differ", "the two customers no longer share a phone")
    moved = list(session.scalars(select(CustomerIdentity.id).where(CustomerIdentity.customer_id == other.id)))
    for model in (CustomerIdentity, Message, ServiceRequest):
        session.execute(
            update(model)
            .where(model.customer_id == other.id)
            .values(customer_id=customer.id)
            .execution_options(synchronize_session=False)
        )
    for field in ("phone", "email", "crm_number", "crm_profile"):
        if getattr(customer, field) is None and getattr(other, field) is not None:
            setattr(customer, field, getattr(other, field))
    customer.tier = max(customer.tier, other.tier)
    other.merged_into_id = customer.id
    audit.record(
        session,
        "customer.identities_linked",
        "customer",
        customer.id,
        by=who,
        other_id=other.id,
        identities=moved,
        how="phone" if by_phone else "manual",
    )
    return customer


def do_unlink_identity(
    session: Session, runtime: Runtime, who: Principal, customer_id: int, identity_id: int
) -> Customer:
    """Give identity ``identity_id`` of ``customer_id`` a customer of its own again."""
    customer = access_customer(session, who, customer_id)
    identity = session.scalars(
        select(CustomerIdentity).where(
            CustomerIdentity.id == identity_id, CustomerIdentity.customer_id == customer.id
        )
    ).first()
    if identity is None:
        raise NotVisible(f"identity {identity_id}")
    count = session.scalar(select(func.count()).where(CustomerIdentity.customer_id == customer.id)) or 0
    if count < 2:
        raise ActionError("last_identity", "a customer keeps at least one identity")
    own = Customer(display_name=identity.screen_name or identity.platform_uid, tags=[])
    session.add(own)
    session.flush()
    identity.customer_id = own.id
    wrote = (
        Message.customer_id == customer.id,
        Message.platform == identity.platform,
        Message.author_uid == identity.platform_uid,
    )
    opened = select(Message.request_id).where(*wrote, Message.request_id.is_not(None)).distinct()
    session.execute(
        update(ServiceRequest)
        .where(ServiceRequest.customer_id == customer.id, ServiceRequest.id.in_(opened))
        .values(customer_id=own.id)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Message).where(*wrote).values(customer_id=own.id).execution_options(synchronize_session=False)
    )
    audit.record(
        session,
        "customer.identity_unlinked",
        "customer",
        customer.id,
        by=who,
        identity_id=identity.id,
        new_customer_id=own.id,
    )
    return own
