"""Contact lists: saved groups of customers a publication messages, and who of them each
account can reach.

A list is a rule over customers (all of these tags, at least this VIP tier, wrote to one of
these accounts) plus people added by hand or from a CSV file. Who a list means is worked
out when a publication goes, per account: a member needs an identity on the account's
platform, and the platform lets an account message a follower only inside a window after
they last wrote (``dm_window``). A member outside it is recorded as a failed target with
that reason, so the sender sees who was not reached and why.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from servicehub.adapters import registry
from servicehub.core import audit
from servicehub.core.errors import ActionError
from servicehub.core.models import (
    Account,
    ContactList,
    ContactListMember,
    Customer,
    CustomerIdentity,
    Message,
)
from servicehub.core.permissions import Principal, access, require, restrict

NAME_MAX = 80
CSV_MAX_BYTES = 2 * 1024 * 1024
CSV_MAX_ROWS = 20_000


@dataclass(frozen=True)
class ListRule:
    tags: tuple[str, ...] = ()
    min_tier: int = 0
    account_ids: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {"tags": list(self.tags), "min_tier": self.min_tier, "account_ids": list(self.account_ids)}

    @classmethod
    def of(cls, contact_list: ContactList) -> ListRule:
        rule = contact_list.rule or {}
        return cls(
            tuple(str(t) for t in rule.get("tags", [])),
            int(rule.get("min_tier", 0)),
            tuple(int(a) for a in rule.get("account_ids", [])),
        )

    @property
    def empty(self) -> bool:
        return not (self.tags or self.min_tier or self.account_ids)


@dataclass(frozen=True)
class Recipient:
    customer_id: int
    uid: str
    name: str
    reachable: bool  # inside the platform's window for this account


@dataclass
class ImportReport:
    added: int = 0
    already: int = 0
    unknown: list[int] = field(default_factory=list)  # line numbers matching no customer in scope


def do_save_list(
    session: Session, who: Principal, *, name: str, rule: ListRule, list_id: int | None = None
) -> ContactList:
    """Create a contact list (or change one in ``who``'s ``publish`` scope)."""
    require(who, "publish")
    # another company's list is missing, whatever else is wrong with the input
    contact_list = access(session, who, ContactList, list_id, "publish") if list_id is not None else None
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise ActionError("list_name", "a list needs a name of at most 80 characters", limit=NAME_MAX)
    if rule.account_ids:
        visible = set(
            session.scalars(
                restrict(select(Account.id).where(Account.id.in_(rule.account_ids)), who, "publish", Account)
            )
        )
        rule = ListRule(rule.tags, rule.min_tier, tuple(a for a in rule.account_ids if a in visible))
    if contact_list is None:
        contact_list = ContactList(name=name, org_id=who.org_id, created_by=who.user_id, rule=rule.as_dict())
        session.add(contact_list)
        session.flush()
        audit.record(session, "contact_list.created", "contact_list", contact_list.id, by=who, name=name)
        return contact_list
    before = {"name": contact_list.name, "rule": contact_list.rule}
    contact_list.name, contact_list.rule = name, rule.as_dict()
    audit.record(session, "contact_list.changed", "contact_list", contact_list.id, by=who, before=before)
    return contact_list


def do_delete_list(session: Session, who: Principal, list_id: int) -> None:
    contact_list = access(session, who, ContactList, list_id, "publish")
    audit.record(session, "contact_list.deleted", "contact_list", list_id, by=who, name=contact_list.name)
    session.delete(contact_list)


def do_add_members(session: Session, who: Principal, list_id: int, customer_ids: Iterable[int]) -> int:
    """Add customers in ``who``'s scope to a list; how many were new."""
    access(session, who, ContactList, list_id, "publish")
    wanted = set(customer_ids)
    visible = set(
        session.scalars(
            restrict(select(Customer.id).where(Customer.id.in_(wanted)), who, "publish", Customer)
        )
    )
    added = _add(session, list_id, visible)
    audit.record(session, "contact_list.members_added", "contact_list", list_id, by=who, count=added)
    return added


def do_remove_member(session: Session, who: Principal, list_id: int, customer_id: int) -> None:
    access(session, who, ContactList, list_id, "publish")
    session.execute(
        delete(ContactListMember).where(
            ContactListMember.list_id == list_id, ContactListMember.customer_id == customer_id
        )
    )
    audit.record(
        session, "contact_list.member_removed", "contact_list", list_id, by=who, customer_id=customer_id
    )


def do_import_csv(session: Session, who: Principal, list_id: int, data: bytes) -> ImportReport:
    """Add the customers a CSV names: a line ``platform,uid`` (e.g. ``weibo,1234567``) or a
    line whose first cell is a phone number. Lines matching no customer in scope are
    reported by number, never guessed."""
    access(session, who, ContactList, list_id, "publish")
    if len(data) > CSV_MAX_BYTES:
        raise ActionError("csv_too_big", "the file is larger than 2 MB", limit=CSV_MAX_BYTES)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ActionError("csv_encoding", "the file is not UTF-8 text") from None
    lines = list(csv.reader(io.StringIO(text)))
    if len(lines) > CSV_MAX_ROWS:
        raise ActionError("csv_too_many", "the file has too many lines", limit=CSV_MAX_ROWS)
    report = ImportReport()
    found: dict[int, int] = {}
    for number, cells in enumerate(lines, start=1):
        cells = [c.strip() for c in cells if c.strip()]
        if not cells or (number == 1 and cells[0].lower() in ("platform", "phone", "平台", "手机号")):
            continue
        customer_id = _match(session, who, cells)
        if customer_id is None:
            report.unknown.append(number)
        else:
            found.setdefault(customer_id, number)
    report.added = _add(session, list_id, set(found))
    report.already = len(found) - report.added
    audit.record(
        session,
        "contact_list.imported",
        "contact_list",
        list_id,
        by=who,
        added=report.added,
        unknown=len(report.unknown),
    )
    return report


def _match(session: Session, who: Principal, cells: Sequence[str]) -> int | None:
    if len(cells) >= 2 and cells[0].lower() in registry.platforms():
        stmt = (
            select(CustomerIdentity.customer_id)
            .where(CustomerIdentity.platform == cells[0].lower(), CustomerIdentity.platform_uid == cells[1])
            .join(Customer, Customer.id == CustomerIdentity.customer_id)
        )
    else:
        digits = "".join(ch for ch in cells[0] if ch.isdigit())
        if len(digits) < 7:
            return None
        stmt = select(Customer.id).where(Customer.phone == digits[-11:])
    found: int | None = session.scalars(restrict(stmt, who, "publish", Customer)).first()
    return found


def _add(session: Session, list_id: int, customer_ids: set[int]) -> int:
    have = set(
        session.scalars(
            select(ContactListMember.customer_id).where(
                ContactListMember.list_id == list_id, ContactListMember.customer_id.in_(customer_ids)
            )
        )
    )
    new = sorted(customer_ids - have)
    session.add_all(ContactListMember(list_id=list_id, customer_id=c) for c in new)
    session.flush()
    return len(new)


def member_ids(session: Session, contact_list: ContactList) -> set[int]:
    """The customers a list means now: its rule's matches and its added members."""
    found = set(
        session.scalars(
            select(ContactListMember.customer_id).where(ContactListMember.list_id == contact_list.id)
        )
    )
    rule = ListRule.of(contact_list)
    if rule.empty:
        return found
    stmt = select(Customer.id, Customer.tags).where(
        Customer.tier >= rule.min_tier, Customer.merged_into_id.is_(None)
    )
    if rule.account_ids:
        stmt = stmt.where(
            Customer.id.in_(select(Message.customer_id).where(Message.account_id.in_(rule.account_ids)))
        )
    wanted = set(rule.tags)
    found |= {cid for cid, tags in session.execute(stmt) if wanted <= set(tags or [])}
    return found


def recipients(
    session: Session, account: Account, customer_ids: Iterable[int], now: datetime
) -> list[Recipient]:
    """The customers among ``customer_ids`` with an identity on ``account``'s platform, each
    told reachable or not by the platform's window since they last wrote to the account."""
    ids = sorted(set(customer_ids))
    if not ids:
        return []
    window = registry.dm_window(account.platform)
    identities = session.execute(
        select(CustomerIdentity.customer_id, CustomerIdentity.platform_uid, CustomerIdentity.screen_name)
        .where(CustomerIdentity.platform == account.platform, CustomerIdentity.customer_id.in_(ids))
        .order_by(CustomerIdentity.customer_id, CustomerIdentity.id)
    ).all()
    last = dict(
        session.execute(
            select(Message.customer_id, func.max(Message.created_at))
            .where(Message.account_id == account.id, Message.customer_id.in_(ids))
            .group_by(Message.customer_id)
        ).all()
    )
    found: dict[int, Recipient] = {}
    for customer_id, uid, name in identities:
        if customer_id in found:
            continue
        wrote = last.get(customer_id)
        reachable = window is None or (wrote is not None and wrote + window > now)
        found[customer_id] = Recipient(customer_id, uid, name, reachable)
    return list(found.values())
