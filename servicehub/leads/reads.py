"""Lists, one lead, and the CSV export -- all through ``lead.manage``'s data scope.

Customer phones and texts written in conversations are shown (and exported) with phone
and ID numbers masked unless the reader sees phones on the lead's account
(``core.masking``). The CSV also neutralizes cells that a spreadsheet would run as a
formula (a leading ``=``, ``+``, ``-`` or ``@``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from servicehub.core.masking import mask_phone, phone_sight
from servicehub.core.models import Account, Customer, LeadEvent, LeadStage, SalesLead, User
from servicehub.core.permissions import Principal, require, restrict
from servicehub.leads.actions import MANAGE, STAGES, access_lead, owner_choices

EXPORT = "export"
CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class LeadFilter:
    stage: str = ""
    owner_id: int | None = None
    account_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    customer_id: int | None = None
    before: int | None = None  # keyset: leads older than this id


@dataclass(frozen=True)
class LeadRow:
    id: int
    customer_id: int
    customer: str
    phone: str | None
    product: str
    value: int
    stage: str
    owner: str
    account: str
    created_at: datetime
    request_id: int | None
    notes: str


def _scoped(who: Principal, query: LeadFilter) -> Select[Any]:
    stmt = restrict(select(SalesLead), who, MANAGE, SalesLead)
    if query.stage in {str(s) for s in LeadStage}:
        stmt = stmt.where(SalesLead.stage == query.stage)
    if query.owner_id is not None:
        stmt = stmt.where(SalesLead.owner_id == query.owner_id)
    if query.account_id is not None:
        stmt = stmt.where(SalesLead.account_id == query.account_id)
    if query.customer_id is not None:
        stmt = stmt.where(SalesLead.customer_id == query.customer_id)
    if query.since is not None:
        stmt = stmt.where(SalesLead.created_at >= query.since)
    if query.until is not None:
        stmt = stmt.where(SalesLead.created_at < query.until)
    return stmt


def _rows(session: Session, who: Principal, stmt: Select[Any]) -> list[LeadRow]:
    owner = aliased(User)
    query = (
        stmt.with_only_columns(
            SalesLead, Customer.display_name, Customer.phone, owner.display_name, Account.display_name
        )
        .join(Customer, Customer.id == SalesLead.customer_id)
        .join(Account, Account.id == SalesLead.account_id)
        .outerjoin(owner, owner.id == SalesLead.owner_id)
    )
    sight = phone_sight(session, who)
    return [
        LeadRow(
            id=lead.id,
            customer_id=lead.customer_id,
            customer=sight.text(lead.account_id, customer),
            phone=phone if sight.sees(lead.account_id) else mask_phone(phone),
            product=sight.text(lead.account_id, lead.product),
            value=lead.value,
            stage=str(lead.stage),
            owner=owner_name or "",
            account=account,
            created_at=lead.created_at,
            request_id=lead.request_id,
            notes=sight.text(lead.account_id, lead.notes),
        )
        for lead, customer, phone, owner_name, account in session.execute(query)
    ]


@dataclass(frozen=True)
class LeadPage:
    rows: list[LeadRow]
    total: int
    total_value: int
    next_before: int | None
    owners: list[tuple[int, str]] = field(default_factory=list)
    accounts: list[tuple[int, str]] = field(default_factory=list)


def list_leads(session: Session, who: Principal, query: LeadFilter, limit: int = 50) -> LeadPage:
    """The leads ``who`` may see that match ``query``, newest first (keyset by id)."""
    require(who, MANAGE)
    stmt = _scoped(who, query)
    counted = stmt.subquery()
    total, total_value = session.execute(
        select(func.count(), func.coalesce(func.sum(counted.c.value), 0))
    ).one()
    page = stmt.order_by(SalesLead.id.desc()).limit(limit + 1)
    if query.before is not None:
        page = page.where(SalesLead.id < query.before)
    rows = _rows(session, who, page)
    shown = rows[:limit]
    everything = restrict(select(SalesLead), who, MANAGE, SalesLead).subquery()
    owners = session.execute(
        select(User.id, User.display_name).where(User.id.in_(select(everything.c.owner_id))).order_by(User.id)
    ).all()
    accounts = session.execute(
        select(Account.id, Account.display_name)
        .where(Account.id.in_(select(everything.c.account_id)))
        .order_by(Account.id)
    ).all()
    return LeadPage(
        shown,
        int(total or 0),
        int(total_value or 0),
        shown[-1].id if len(rows) > limit else None,
        [(i, n) for i, n in owners],
        [(i, n) for i, n in accounts],
    )


def leads_of_customer(session: Session, who: Principal, customer_id: int) -> list[LeadRow]:
    if not who.can(MANAGE):
        return []
    stmt = _scoped(who, LeadFilter(customer_id=customer_id)).order_by(SalesLead.id.desc()).limit(20)
    return _rows(session, who, stmt)


@dataclass(frozen=True)
class ShownLeadEvent:
    at: datetime
    actor: str
    kind: str
    before: str
    after: str
    note: str


@dataclass(frozen=True)
class LeadDetail:
    row: LeadRow
    events: list[ShownLeadEvent]
    next_stages: list[str]
    owners: list[tuple[int, str]]


def lead_detail(session: Session, who: Principal, lead_id: int) -> LeadDetail:
    lead = access_lead(session, who, lead_id)
    [row] = _rows(session, who, select(SalesLead).where(SalesLead.id == lead.id))
    sight = phone_sight(session, who)
    events = [
        ShownLeadEvent(e.at, name or "", e.kind, e.before, e.after, sight.text(lead.account_id, e.note))
        for e, name in session.execute(
            select(LeadEvent, User.display_name)
            .outerjoin(User, User.id == LeadEvent.actor_id)
            .where(LeadEvent.lead_id == lead.id)
            .order_by(LeadEvent.id)
        )
    ]
    return LeadDetail(
        row, events, [str(s) for s in STAGES[LeadStage(lead.stage)]], owner_choices(session, who, lead)
    )


CSV_MAX_ROWS = 50_000


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def export_csv(
    session: Session, who: Principal, query: LeadFilter, header: list[str], stage_names: dict[str, str]
) -> str:
    """The leads of ``query`` as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese)."""
    require(who, EXPORT)
    stmt = (
        restrict(_scoped(who, query), who, EXPORT, SalesLead)
        .order_by(SalesLead.id.desc())
        .limit(CSV_MAX_ROWS)
    )
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    for r in _rows(session, who, stmt):
        writer.writerow(
            [
                _cell(v)
                for v in (
                    r.id,
                    r.created_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"),
                    r.customer,
                    r.phone or "",
                    r.account,
                    r.product,
                    r.value,
                    stage_names.get(r.stage, r.stage),
                    r.owner,
                    r.notes,
                )
            ]
        )
    return out.getvalue()
