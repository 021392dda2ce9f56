"""Personal data as a given user may see it: phone numbers, e-mail addresses, ID-card numbers
and CRM numbers.

The database keeps every value whole; masking happens when something is read *for* a
person, next to the permission that decides it, so no template, API answer or export can
forget it. A grant counts only within its data scope: an operator whose
``customer.view_phone`` is scoped to its organization sees phone numbers only on accounts
that organization operates, and a partner without the grant sees none -- not in the
customer's phone field, and not inside the texts customers wrote either (a customer who
types 我的手机号13812345678 into a comment has given it to whoever may read it, which is
not everyone who may read the comment).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core.models import Account, AccountOperator, Customer, Scope
from servicehub.core.permissions import Principal, may_see_account

PHONE = "customer.view_phone"
CRM = "customer.link_crm"

# A mainland mobile number (optionally +86 / 86-prefixed, with spaces or dashes between
# its 3-4-4 groups) that is not part of a longer run of digits.
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?(1[3-9][0-9])[- ]?([0-9]{4})[- ]?([0-9]{4})(?![0-9])")
# A resident ID-card number: 6-digit region, birth date 18xx-20xx, 3 digits and a check digit.
_ID_CARD = re.compile(
    r"(?<![0-9])([1-9][0-9]{5})(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
    r"[0-9]{3}([0-9Xx])(?![0-9Xx])"
)


def mask_phone(phone: str | None) -> str | None:
    """``13812345678`` -> ``138****5678``; values shorter than seven keep their last two characters."""
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) >= 7:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * max(0, len(digits) - 2) + digits[-2:]


def mask_tail(value: str | None) -> str | None:
    """All but the last two characters starred (CRM numbers and other identifiers)."""
    if not value:
        return value
    return "*" * max(0, len(value) - 2) + value[-2:]


def mask_email(email: str | None) -> str | None:
    """``zhang.san@example.com`` -> ``z***@example.com`` (shown with the phone's visibility)."""
    if not email or "@" not in email:
        return mask_tail(email)
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_in_text(text: str) -> str:
    """``text`` with every mainland mobile number and ID-card number in it masked."""
    text = _ID_CARD.sub(lambda m: m.group(1) + "*" * 11 + m.group(2), text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def phones_in_text(text: str) -> list[str]:
    """The mainland mobile numbers in ``text``, as 11 plain digits, in order, without repeats."""
    found: list[str] = []
    for match in _MOBILE.finditer(text):
        number = "".join(match.groups())
        if number not in found:
            found.append(number)
    return found


@dataclass(frozen=True)
class PhoneSight:
    """On which accounts' conversations a principal sees phone numbers whole.

    Built once per page from the principal's ``customer.view_phone`` scope, then asked per
    row, so a queue of fifty requests costs one query, not fifty.
    """

    everywhere: bool
    account_ids: frozenset[int] = frozenset()

    def sees(self, account_id: int) -> bool:
        return self.everywhere or account_id in self.account_ids

    def text(self, account_id: int, text: str) -> str:
        """``text`` of a conversation on ``account_id`` as this principal may read it."""
        return text if self.sees(account_id) else mask_in_text(text)

    def destination(self, account_id: int, target: Mapping[str, Any]) -> str:
        """Where an SMS/MMS (``phone``) or e-mail (``email``) sent for a conversation on
        ``account_id`` went, as this principal may read it; "" for anything else."""
        whole = self.sees(account_id)
        if target.get("phone"):
            return str(target["phone"]) if whole else mask_phone(str(target["phone"])) or ""
        if target.get("email"):
            return str(target["email"]) if whole else mask_email(str(target["email"])) or ""
        return ""


def phone_sight(session: Session, principal: Principal) -> PhoneSight:
    scope = principal.scope(PHONE)
    if scope is None:
        return PhoneSight(False)
    if scope is Scope.ALL:
        return PhoneSight(True)
    if scope is Scope.ORG:
        stmt = select(Account.id).where(Account.operated_by_org_id == principal.org_id)
    else:
        stmt = select(AccountOperator.account_id).where(AccountOperator.user_id == principal.user_id)
    return PhoneSight(False, frozenset(session.scalars(stmt)))


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
    email: str | None = None  # shown whole with the phone's visibility


def customer_view(
    principal: Principal, customer: Customer, account: Account, operator_ids: Collection[int] = ()
) -> CustomerView:
    """``customer`` as ``principal`` may see it in the context of ``account``."""
    show_phone = may_see_account(principal, account, operator_ids, PHONE)
    show_crm = may_see_account(principal, account, operator_ids, CRM)
    return CustomerView(
        id=customer.id,
        display_name=customer.display_name,
        tier=customer.tier,
        tags=tuple(customer.tags or ()),
        phone=customer.phone if show_phone else mask_phone(customer.phone),
        crm_number=customer.crm_number if show_crm else mask_tail(customer.crm_number),
        phone_masked=bool(customer.phone) and not show_phone,
        crm_masked=bool(customer.crm_number) and not show_crm,
        email=customer.email if show_phone else mask_email(customer.email),
    )
