"""Logging and following up sales leads (see the package docstring for who may do what)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.errors import ActionError
from servicehub.core.models import (
    LeadEvent,
    LeadStage,
    Message,
    SalesLead,
    ServiceRequest,
    User,
)
from servicehub.core.notifications import notify
from servicehub.core.permissions import NotVisible, Principal, access, principal_for, require, restrict
from servicehub.core.runtime import Runtime

MANAGE = "lead.manage"
MAX_PRODUCT = 120
MAX_NOTES = 2000
MAX_VALUE = 100_000_000  # yuan

_S = LeadStage
# stage -> the stages it may move to. Won is final; a lost lead may come back as potential.
STAGES: dict[LeadStage, tuple[LeadStage, ...]] = {
    _S.POTENTIAL: (_S.INTENTIONAL, _S.LOST),
    _S.INTENTIONAL: (_S.POTENTIAL, _S.WON, _S.LOST),
    _S.WON: (),
    _S.LOST: (_S.POTENTIAL,),
}


def access_lead(session: Session, who: Principal, lead_id: int) -> SalesLead:
    return access(session, who, SalesLead, lead_id, MANAGE)


def _fields(product: str, value: int | None, notes: str) -> tuple[str, int, str]:
    product, notes = product.strip(), notes.strip()
    if not product:
        raise ActionError("field_required", "what is the customer interested in?", field="product")
    if len(product) > MAX_PRODUCT:
        raise ActionError("too_long", "product is too long", field="product", limit=MAX_PRODUCT)
    if len(notes) > MAX_NOTES:
        raise ActionError("too_long", "notes are too long", field="notes", limit=MAX_NOTES)
    amount = value or 0
    if not 0 <= amount <= MAX_VALUE:
        raise ActionError("out_of_range", "value out of range", field="value", low=0, high=MAX_VALUE)
    return product, amount, notes


def _origin(
    session: Session, who: Principal, request_id: int | None, customer_id: int | None
) -> tuple[int, int, int | None]:
    """(customer, account, request) the lead comes from, as far as ``who`` may see them."""
    if request_id is not None:
        request = access(session, who, ServiceRequest, request_id, "request.view")
        return request.customer_id, request.account_id, request.id
    if customer_id is None:
        raise ActionError("field_required", "a lead comes from a request or a customer", field="customer")
    # The customer's latest conversation ``who`` may read gives the account.
    latest = session.scalars(
        restrict(
            select(Message.account_id)
            .where(Message.customer_id == customer_id, Message.keep.is_(True))
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(1),
            who,
            "request.view",
            Message,
        )
    ).first()
    if latest is None:
        raise NotVisible(f"customer {customer_id}")
    return customer_id, latest, None


def do_create_lead(
    session: Session,
    runtime: Runtime,
    who: Principal,
    *,
    request_id: int | None = None,
    customer_id: int | None = None,
    product: str,
    value: int | None = None,
    notes: str = "",
) -> SalesLead:
    """Log a lead from a request (or a customer) ``who`` may see; ``who`` owns it."""
    require(who, MANAGE)
    customer, account_id, request = _origin(session, who, request_id, customer_id)
    product, amount, notes = _fields(product, value, notes)
    lead = SalesLead(
        customer_id=customer,
        request_id=request,
        account_id=account_id,
        org_id=who.org_id,
        owner_id=who.user_id,
        created_by=who.user_id,
        stage=LeadStage.POTENTIAL,
        product=product,
        value=amount,
        notes=notes,
    )
    session.add(lead)
    session.flush()
    session.add(LeadEvent(lead_id=lead.id, actor_id=who.user_id, kind="created", after=str(lead.stage)))
    audit.record(
        session, "lead.created", "lead", lead.id, by=who, request_id=request, product=product, value=amount
    )
    _announce(session, runtime, lead)
    return lead


def do_move_stage(
    session: Session, runtime: Runtime, who: Principal, lead_id: int, stage: str, note: str = ""
) -> SalesLead:
    lead = access_lead(session, who, lead_id)
    try:
        target = LeadStage(stage)
    except ValueError:
        raise ActionError("invalid_choice", f"unknown stage {stage!r}", field="stage") from None
    before = LeadStage(lead.stage)
    if target not in STAGES[before]:
        raise ActionError(
            "lead_stage_not_allowed",
            f"{before} cannot become {target}",
            lead_from=str(before),
            lead_to=str(target),
        )
    if len(note.strip()) > MAX_NOTES:
        raise ActionError("too_long", "the note is too long", field="note", limit=MAX_NOTES)
    lead.stage = target
    session.add(
        LeadEvent(
            lead_id=lead.id,
            actor_id=who.user_id,
            kind="stage",
            before=str(before),
            after=str(target),
            note=note.strip(),
        )
    )
    audit.record(session, "lead.stage", "lead", lead.id, by=who, lead_from=str(before), lead_to=str(target))
    _announce(session, runtime, lead)
    return lead


def do_change_owner(
    session: Session, runtime: Runtime, who: Principal, lead_id: int, user_id: int
) -> SalesLead:
    """Hand the lead to a colleague of its company who may follow leads up."""
    lead = access_lead(session, who, lead_id)
    owner = session.scalars(
        restrict(select(User).where(User.id == user_id, User.is_active.is_(True)), who, MANAGE, User)
    ).first()
    if owner is None or owner.org_id != lead.org_id:
        raise NotVisible(f"user {user_id}")
    if not principal_for(owner).can(MANAGE):
        raise ActionError("lead_owner_cannot", "that person does not follow up leads")
    if owner.id == lead.owner_id:
        return lead
    before = session.get(User, lead.owner_id)
    lead.owner_id = owner.id
    session.add(
        LeadEvent(
            lead_id=lead.id,
            actor_id=who.user_id,
            kind="owner",
            before=before.display_name if before else "",
            after=owner.display_name,
        )
    )
    audit.record(
        session,
        "lead.owner",
        "lead",
        lead.id,
        by=who,
        from_user_id=before.id if before else None,
        user_id=owner.id,
    )
    notify(session, runtime, [owner.id], "lead_assigned", by=who, account_id=lead.account_id, lead_id=lead.id)
    _announce(session, runtime, lead)
    return lead


def do_update_lead(
    session: Session,
    runtime: Runtime,
    who: Principal,
    lead_id: int,
    *,
    product: str,
    value: int | None,
    notes: str,
) -> SalesLead:
    lead = access_lead(session, who, lead_id)
    product, amount, notes = _fields(product, value, notes)
    changed = sorted(
        name
        for name, before, after in (
            ("product", lead.product, product),
            ("value", lead.value, amount),
            ("notes", lead.notes, notes),
        )
        if before != after
    )
    if not changed:
        return lead
    lead.product, lead.value, lead.notes = product, amount, notes
    session.add(LeadEvent(lead_id=lead.id, actor_id=who.user_id, kind="edited", after="、".join(changed)))
    audit.record(session, "lead.updated", "lead", lead.id, by=who, changed=changed)
    _announce(session, runtime, lead)
    return lead


def _announce(session: Session, runtime: Runtime, lead: SalesLead) -> None:
    runtime.publish_on_commit(session, {"type": "lead", "lead_id": lead.id, "account_id": lead.account_id})


def owner_choices(session: Session, who: Principal, lead: SalesLead) -> list[tuple[int, str]]:
    """Colleagues of the lead's company ``who`` may hand it to."""
    people = session.scalars(
        restrict(
            select(User).where(User.is_active.is_(True), User.org_id == lead.org_id).order_by(User.id),
            who,
            MANAGE,
            User,
        )
    )
    return [(u.id, u.display_name) for u in people if principal_for(u).can(MANAGE)]


__all__ = [
    "STAGES",
    "access_lead",
    "do_change_owner",
    "do_create_lead",
    "do_move_stage",
    "do_update_lead",
    "owner_choices",
]
