"""Reads for the contact list pages (联系人分组): the lists, and one list with whom it reaches.

Who a list means is worked out as a release would (``audiences.member_ids``), and per
account that can send private messages, how many of them the account could message now
(``audiences.recipients``): reachable, outside the platform's window since they last wrote,
or not on that platform at all -- so the person sees before sending how many a publication
would miss, and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicehub.adapters import registry
from servicehub.adapters.base import DirectMessenger
from servicehub.core.models import ContactList, ContactListMember, Customer, User
from servicehub.core.permissions import Principal, access, restrict
from servicehub.publishing.audiences import ListRule, member_ids, recipients
from servicehub.publishing.choices import publish_accounts

MEMBERS_SHOWN = 200


@dataclass(frozen=True)
class ListRow:
    id: int
    name: str
    rule: ListRule
    added: int  # people added by hand or by CSV
    author: str
    created_at: datetime


@dataclass(frozen=True)
class Reach:
    """What one account could do with the list now."""

    account_id: int
    account: str
    platform: str
    reachable: int
    outside_window: int
    not_on_platform: int


@dataclass(frozen=True)
class Member:
    customer_id: int
    name: str
    tier: int


@dataclass
class ListDetail:
    row: ListRow
    total: int  # everyone the list means now (rule and added members)
    members: list[Member]  # the added members, first MEMBERS_SHOWN by name
    reach: list[Reach]
    accounts: list[tuple[int, str]]  # the accounts a rule may name (the reader's publish scope)


def contact_lists(session: Session, who: Principal) -> list[ListRow]:
    """The lists ``who`` may use, by name."""
    added = (
        select(ContactListMember.list_id, func.count().label("n"))
        .group_by(ContactListMember.list_id)
        .subquery()
    )
    stmt = (
        select(ContactList, User.display_name, func.coalesce(added.c.n, 0))
        .join(User, User.id == ContactList.created_by)
        .outerjoin(added, added.c.list_id == ContactList.id)
        .order_by(ContactList.name, ContactList.id)
    )
    found = session.execute(restrict(stmt, who, "publish", ContactList))
    return [_row(c, author, n) for c, author, n in found]


def _row(contact_list: ContactList, author: str, added: int) -> ListRow:
    return ListRow(
        id=contact_list.id,
        name=contact_list.name,
        rule=ListRule.of(contact_list),
        added=added,
        author=author,
        created_at=contact_list.created_at,
    )


def list_detail(session: Session, who: Principal, list_id: int, now: datetime) -> ListDetail:
    """One list in ``who``'s scope (missing otherwise) and whom it reaches on each account."""
    contact_list = access(session, who, ContactList, list_id, "publish")
    author = session.scalar(select(User.display_name).where(User.id == contact_list.created_by)) or ""
    added = session.scalar(select(func.count()).where(ContactListMember.list_id == list_id)) or 0
    hand = session.execute(
        select(Customer.id, Customer.display_name, Customer.tier)
        .join(ContactListMember, ContactListMember.customer_id == Customer.id)
        .where(ContactListMember.list_id == list_id)
        .order_by(Customer.display_name, Customer.id)
        .limit(MEMBERS_SHOWN)
    ).all()
    everyone = member_ids(session, contact_list)
    accounts = publish_accounts(session, who)
    reach = []
    for account in accounts:
        if not registry.capable(account.platform, DirectMessenger):
            continue
        found = recipients(session, account, everyone, now)
        reachable = sum(1 for r in found if r.reachable)
        reach.append(
            Reach(
                account_id=account.id,
                account=account.display_name,
                platform=account.platform,
                reachable=reachable,
                outside_window=len(found) - reachable,
                not_on_platform=len(everyone) - len(found),
            )
        )
    return ListDetail(
        row=_row(contact_list, author, added),
        total=len(everyone),
        members=[Member(i, n, t) for i, n, t in hand],
        reach=reach,
        accounts=[(a.id, a.display_name) for a in accounts],
    )
