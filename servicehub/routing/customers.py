"""The customer behind a request: who may see them, their VIP tier, and the request page's panel.

A customer is visible through their requests: whoever may read one of their requests (in
``request.view``'s scope) may see the customer, as the customer page does; anyone else
gets NotVisible, as for a customer that does not exist. Setting the VIP tier
(``customer.set_tier``) needs that function's scope to reach one of the customer's
requests too. The tier feeds priority, so the customer's open requests are re-scored at
once (priority only ever rises; see ``routing.priority``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.errors import ActionError
from servicehub.core.masking import phone_sight
from servicehub.core.models import OPEN_STATES, Account, Customer, CustomerIdentity, ServiceRequest
from servicehub.core.permissions import Forbidden, NotVisible, Principal, restrict
from servicehub.core.runtime import Runtime
from servicehub.routing.priority import prioritize

MAX_TIER = 5


def access_customer(
    session: Session, who: Principal, customer_id: int, function: str = "request.view"
) -> Customer:
    """The customer, if one of their requests is in ``who``'s ``request.view`` scope (else
    NotVisible) and, for another ``function``, in that function's scope too (else Forbidden)."""

    def reaches(fn: str) -> bool:
        stmt = select(ServiceRequest.id).where(ServiceRequest.customer_id == customer_id).limit(1)
        return session.scalars(restrict(stmt, who, fn, ServiceRequest)).first() is not None

    customer = session.get(Customer, customer_id)
    if customer is None or not reaches("request.view"):
        raise NotVisible(f"customer {customer_id}")
    if function != "request.view" and not reaches(function):
        raise Forbidden(function)
    return customer


def do_set_tier(session: Session, runtime: Runtime, who: Principal, customer_id: int, tier: int) -> bool:
    """Set the customer's VIP level (0 = regular); returns whether it changed."""
    customer = access_customer(session, who, customer_id, "customer.set_tier")
    if not 0 <= tier <= MAX_TIER:
        raise ActionError("out_of_range", f"tier must be 0..{MAX_TIER}", field="tier", low=0, high=MAX_TIER)
    if customer.tier == tier:
        return False
    before, customer.tier = customer.tier, tier
    audit.record(session, "customer.tier_set", "customer", customer.id, by=who, before=before, after=tier)
    session.flush()
    open_requests = session.scalars(
        select(ServiceRequest).where(
            ServiceRequest.customer_id == customer.id, ServiceRequest.state.in_(OPEN_STATES)
        )
    )
    for request in open_requests:
        prioritize(session, runtime, request)
        runtime.publish_on_commit(
            session, {"type": "request", "request_id": request.id, "account_id": request.account_id}
        )
    return True


@dataclass(frozen=True)
class CustomerPanel:
    """What the request page shows about its customer, beside the thread."""

    identities: list[CustomerIdentity]
    requests: int  # the customer's requests ``who`` may see
    open_requests: int
    first_contact: datetime | None
    recent: list[tuple[int, str, str, datetime]]  # (request id, state, subject, created) newest first


def customer_panel(session: Session, who: Principal, request: ServiceRequest) -> CustomerPanel:
    """The customer of ``request`` (which ``who`` may see) as far as ``who``'s scope reaches."""
    mine = restrict(
        select(ServiceRequest).where(ServiceRequest.customer_id == request.customer_id),
        who,
        "request.view",
        ServiceRequest,
    ).subquery()
    total, open_count, first = session.execute(
        select(
            func.count(),
            func.count().filter(mine.c.state.in_([str(s) for s in OPEN_STATES])),
            func.min(mine.c.created_at),
        ).select_from(mine)
    ).one()
    recent = session.execute(
        select(mine.c.id, mine.c.state, mine.c.subject, mine.c.created_at, mine.c.account_id)
        .where(mine.c.id != request.id)
        .order_by(mine.c.id.desc())
        .limit(5)
    ).all()
    # Identities on the platforms ``who`` hears this customer on (as the customer page shows).
    platforms = select(Account.platform).where(Account.id.in_(select(mine.c.account_id)))
    identities = list(
        session.scalars(
            select(CustomerIdentity)
            .where(
                CustomerIdentity.customer_id == request.customer_id, CustomerIdentity.platform.in_(platforms)
            )
            .order_by(CustomerIdentity.id)
        )
    )
    sight = phone_sight(session, who)
    return CustomerPanel(
        identities=identities,
        requests=int(total or 0),
        open_requests=int(open_count or 0),
        first_contact=first,
        recent=[
            (rid, str(state), sight.text(account_id, subject), created)
            for rid, state, subject, created, account_id in recent
        ],
    )
