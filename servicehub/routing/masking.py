"""Customer fields as a given user may see them: phone and CRM number masked unless granted.

The database keeps the whole value; masking happens when a view asks for a customer
through :func:`customer_view`, so no template or API can forget it. A grant counts only
within its data scope: an operator whose ``customer.view_phone`` is scoped to its own
organization sees phone numbers only on requests of accounts that organization operates.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from servicehub.core.models import Account, Customer
from servicehub.core.permissions import Principal, may_see_account

MASKED_FIELDS = {"phone": "customer.view_phone", "crm_number": "customer.link_crm"}


def mask_phone(phone: str | None) -> str | None:
    """``13812345678`` -> ``138****5678``; values shorter than seven keep their last two characters."""
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) >= 7:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * max(0, len(digits) - 2) + digits[-2:]


def mask_text(value: str | None) -> str | None:
    if not value:
        return value
    return "*" * max(0, len(value) - 2) + value[-2:]


@dataclass(frozen=True)
class CustomerView:
    id: int
    display_name: str
    tier: int
    tags: tuple[str, ...]
    phone: str | None
    crm_number: str | None
    phone_masked: bool
    crm_masked: bool


def customer_view(
    principal: Principal, customer: Customer, account: Account, operator_ids: Collection[int] = ()
) -> CustomerView:
    """``customer`` as ``principal`` may see it in the context of ``account``."""
    show_phone = may_see_account(principal, account, operator_ids, MASKED_FIELDS["phone"])
    show_crm = may_see_account(principal, account, operator_ids, MASKED_FIELDS["crm_number"])
    return CustomerView(
        id=customer.id,
        display_name=customer.display_name,
        tier=customer.tier,
        tags=tuple(customer.tags or ()),
        phone=customer.phone if show_phone else mask_phone(customer.phone),
        crm_number=customer.crm_number if show_crm else mask_text(customer.crm_number),
        phone_masked=bool(customer.phone) and not show_phone,
        crm_masked=bool(customer.crm_number) and not show_crm,
    )
