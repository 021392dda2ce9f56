"""What the workbench shows of work orders: lists, one order with its steps, and the choices.

Every read goes through the same visibility as the actions (``permissions._CLAUSES``), so
an order outside both sides is in no list, no count and no page. Texts (description,
notes, result, the read-only conversation) are shown with phone and ID numbers masked for
readers who do not see phones on the order's account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, false, func, select
from sqlalchemy.orm import Session, aliased

from servicehub.core.db import utcnow
from servicehub.core.masking import PhoneSight, phone_sight
from servicehub.core.models import (
    Account,
    Customer,
    Message,
    Organization,
    ServiceRequest,
    Team,
    User,
    WorkOrder,
    WorkOrderKind,
    WorkOrderState,
    WorkOrderStep,
)
from servicehub.core.permissions import Principal, addressed_clause, principal_for, restrict
from servicehub.workorders.actions import (
    HANDLE,
    TRANSFER,
    access_order,
    is_originator,
    is_receiver,
    visible_by,
)
from servicehub.workorders.machine import ACTIVE, OPEN, Step, steps_from

Box = Literal["inbox", "sent", "overdue", "all"]
BOXES: tuple[Box, ...] = ("inbox", "sent", "overdue", "all")
STATES = ("open", "closed", "any")


@dataclass(frozen=True)
class OrderRow:
    id: int
    kind: str
    state: str
    description: str
    target: str
    originator: str
    handler: str | None
    due_at: datetime
    created_at: datetime
    request_id: int
    overdue: bool


def _overdue(now: datetime) -> ColumnElement[bool]:
    return and_(WorkOrder.state.in_([str(s) for s in ACTIVE]), WorkOrder.due_at < now)


def is_overdue(order: WorkOrder, now: datetime | None = None) -> bool:
    return order.state in ACTIVE and order.due_at < (now or utcnow())


def _visible(who: Principal) -> Select[Any]:
    return restrict(select(WorkOrder), who, visible_by(who), WorkOrder)


def _rows(session: Session, who: Principal, stmt: Select[Any], now: datetime) -> list[OrderRow]:
    to_user, to_team, to_org, origin, handler = (
        aliased(User),
        aliased(Team),
        aliased(Organization),
        aliased(User),
        aliased(User),
    )
    query = (
        stmt.with_only_columns(
            WorkOrder,
            to_user.display_name,
            to_team.name,
            to_org.name,
            origin.display_name,
            handler.display_name,
        )
        .outerjoin(to_user, to_user.id == WorkOrder.to_user_id)
        .outerjoin(to_team, to_team.id == WorkOrder.to_team_id)
        .outerjoin(to_org, to_org.id == WorkOrder.to_org_id)
        .outerjoin(origin, origin.id == WorkOrder.originator_id)
        .outerjoin(handler, handler.id == WorkOrder.handler_id)
    )
    sight = phone_sight(session, who)
    return [
        OrderRow(
            id=o.id,
            kind=str(o.kind),
            state=str(o.state),
            description=sight.text(o.account_id, o.description),
            target=user_name or team_name or org_name or "",
            originator=origin_name or "",
            handler=handler_name,
            due_at=o.due_at,
            created_at=o.created_at,
            request_id=o.request_id,
            overdue=is_overdue(o, now),
        )
        for o, user_name, team_name, org_name, origin_name, handler_name in session.execute(query)
    ]


@dataclass(frozen=True)
class OrderPage:
    rows: list[OrderRow]
    total: int
    next_before: int | None


def list_orders(
    session: Session,
    who: Principal,
    box: Box = "inbox",
    state: str = "open",
    before: int | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> OrderPage:
    """Orders ``who`` sees: sent to them (``inbox``), opened by them (``sent``), overdue, or
    all; open ones, closed ones or any; newest first, keyset by id."""
    now = now or utcnow()
    stmt = _visible(who)
    handle = who.scope(HANDLE)
    if box == "inbox":
        stmt = stmt.where(addressed_clause(who, handle) if handle else false())
    elif box == "sent":
        stmt = stmt.where(WorkOrder.originator_id == who.user_id)
    elif box == "overdue":
        stmt = stmt.where(_overdue(now))
    if state == "open":
        stmt = stmt.where(WorkOrder.state.in_([str(s) for s in OPEN]))
    elif state == "closed":
        stmt = stmt.where(WorkOrder.state == WorkOrderState.CLOSED)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = stmt.order_by(WorkOrder.id.desc()).limit(limit + 1)
    if before is not None:
        page = page.where(WorkOrder.id < before)
    rows = _rows(session, who, page, now)
    shown = rows[:limit]
    return OrderPage(shown, total, shown[-1].id if len(rows) > limit else None)


def overdue_orders(
    session: Session, who: Principal, now: datetime | None = None, limit: int = 10
) -> OrderPage:
    """Orders past their due time that the receiver still owes, soonest due first."""
    now = now or utcnow()
    stmt = _visible(who).where(_overdue(now))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = _rows(session, who, stmt.order_by(WorkOrder.due_at, WorkOrder.id).limit(limit), now)
    return OrderPage(rows, total, None)


def orders_of_request(session: Session, who: Principal, request_id: int) -> list[OrderRow]:
    stmt = _visible(who).where(WorkOrder.request_id == request_id).order_by(WorkOrder.id)
    return _rows(session, who, stmt, utcnow())


def open_orders_of_customer(session: Session, who: Principal, customer_id: int) -> list[OrderRow]:
    stmt = (
        _visible(who)
        .where(WorkOrder.customer_id == customer_id, WorkOrder.state.in_([str(s) for s in OPEN]))
        .order_by(WorkOrder.id.desc())
        .limit(20)
    )
    return _rows(session, who, stmt, utcnow())


# -- one order ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownStep:
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str
    note: str


@dataclass(frozen=True)
class ThreadMessage:
    author_name: str
    created_at: datetime
    text: str


@dataclass(frozen=True)
class OrderDetail:
    row: OrderRow
    result: str
    steps: list[ShownStep]
    account_name: str
    account_platform: str
    customer_name: str
    request_state: str
    # The request is in the reader's request scope: link to it. Otherwise the conversation
    # is shown here, read-only (see the package docstring).
    may_open_request: bool
    thread: list[ThreadMessage]
    allowed: list[str]  # the steps the reader may take now
    receiver: bool
    originator: bool


def order_detail(session: Session, who: Principal, order_id: int, now: datetime | None = None) -> OrderDetail:
    order = access_order(session, who, order_id)
    now = now or utcnow()
    [row] = _rows(session, who, select(WorkOrder).where(WorkOrder.id == order.id), now)
    sight = phone_sight(session, who)
    steps = [
        ShownStep(
            st.at, name or "", st.action, st.from_state, st.to_state, sight.text(order.account_id, st.note)
        )
        for st, name in session.execute(
            select(WorkOrderStep, User.display_name)
            .outerjoin(User, User.id == WorkOrderStep.actor_id)
            .where(WorkOrderStep.work_order_id == order.id)
            .order_by(WorkOrderStep.id)
        )
    ]
    request = session.get(ServiceRequest, order.request_id)
    account = session.get(Account, order.account_id)
    customer = session.get(Customer, order.customer_id)
    assert request is not None and account is not None and customer is not None
    may_open = (
        session.scalars(
            restrict(
                select(ServiceRequest.id).where(ServiceRequest.id == request.id),
                who,
                "request.view",
                ServiceRequest,
            )
        ).first()
        is not None
    )
    receiver, originator = is_receiver(session, who, order), is_originator(session, who, order)
    allowed = [
        str(step)
        for step in steps_from(WorkOrderState(order.state))
        if (receiver and step in (Step.ACCEPT, Step.SEND_BACK, Step.PROGRESS, Step.RETURN))
        or (originator and step in (Step.CLOSE, Step.REOPEN))
    ]
    return OrderDetail(
        row=row,
        result=sight.text(order.account_id, order.result),
        steps=steps,
        account_name=account.display_name,
        account_platform=account.platform,
        customer_name=customer.display_name,
        request_state=str(request.state),
        may_open_request=may_open,
        thread=[] if may_open else _thread(session, sight, request),
        allowed=allowed,
        receiver=receiver,
        originator=originator,
    )


def _thread(session: Session, sight: PhoneSight, request: ServiceRequest) -> list[ThreadMessage]:
    """The conversation of ``request`` as a read-only context: kept messages only, masked."""
    messages = session.scalars(
        select(Message)
        .where(Message.request_id == request.id, Message.keep.is_(True))
        .order_by(Message.created_at, Message.id)
        .limit(200)
    )
    return [
        ThreadMessage(m.author_name, m.created_at, sight.text(request.account_id, m.text)) for m in messages
    ]


# -- choices for the "open a work order" form --------------------------------------------------


@dataclass(frozen=True)
class TargetChoice:
    value: str
    label: str
    kind: str  # "team" | "org" | "user"


def target_choices(session: Session, who: Principal) -> list[TargetChoice]:
    """Where ``who`` may send a work order: any team or company (the hand-over desks), and
    the people of their own scope who may receive work orders."""
    if not who.can(TRANSFER):
        return []
    teams = session.execute(
        select(Team, Organization.name)
        .join(Organization, Organization.id == Team.org_id)
        .order_by(Team.org_id, Team.id)
    )
    choices = [TargetChoice(f"team:{t.id}", f"{t.name}（{org}）", "team") for t, org in teams]
    choices += [
        TargetChoice(f"org:{o.id}", o.name, "org")
        for o in session.scalars(select(Organization).order_by(Organization.id))
    ]
    people = session.scalars(
        restrict(select(User).where(User.is_active.is_(True)).order_by(User.id), who, TRANSFER, User)
    )
    choices += [
        TargetChoice(f"user:{u.id}", u.display_name, "user")
        for u in people
        if u.id != who.user_id and principal_for(u).can(HANDLE)
    ]
    return choices


KINDS = tuple(str(k) for k in WorkOrderKind)
