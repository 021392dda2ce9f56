"""The rows behind a figure: drill-down pages, newest first, paged by keyset (never OFFSET).

A chart point or a table cell links here with the dashboard's filters and what the figure
counted (``interaction=comment``, ``which=resolved``, ``hour=20`` ...). The rows are read
through ``restrict`` on the source tables with the same scope as the figures (a partner
sees its own accounts' rows), dropped messages only by those who may review them
(``message.review``), and texts with phone and ID-card numbers masked unless the viewer
sees phone numbers on that account.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.orm import Session

from servicehub.analytics.charts import FUNCTION, Cell
from servicehub.analytics.clock import Calendar
from servicehub.analytics.filters import Filters
from servicehub.analytics.interactions import interaction
from servicehub.analytics.service import AGES
from servicehub.analytics.terms import terms
from servicehub.core.db import utcnow
from servicehub.core.masking import PhoneSight, phone_sight
from servicehub.core.models import (
    Account,
    Follower,
    Message,
    OutboundMessage,
    PostFact,
    RequestFact,
    ServiceRequest,
    User,
)
from servicehub.core.permissions import Principal, restrict, scope_clause

DATASETS = ("messages", "requests", "posts", "followers")
PAGE = 50


@dataclass(frozen=True)
class RowPage:
    dataset: str
    columns: list[str]
    rows: list[list[Cell]]
    next_after: str | None
    note: str | None = None


def _keyset(after: str | None) -> tuple[datetime, int] | None:
    """``after`` is ``<ISO time>|<id>`` of the last row of the previous page."""
    if not after or "|" not in after:
        return None
    when, _, key = after.rpartition("|")
    try:
        moment = datetime.fromisoformat(when)
    except ValueError:
        return None
    if not key.isdigit():
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), int(key)


def _older(time_col: Any, id_col: Any, after: tuple[datetime, int] | None) -> Any:
    if after is None:
        return None
    moment, key = after
    return or_(time_col < moment, and_(time_col == moment, id_col < key))


def _when(cal: Calendar, moment: datetime) -> str:
    """A time as people read it: local wall clock to the minute."""
    return moment.astimezone(cal.tz).strftime("%Y-%m-%d %H:%M")


def _id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


# -- messages ----------------------------------------------------------------------------------


def _messages(
    session: Session, who: Principal, cal: Calendar, filters: Filters, params: Mapping[str, str]
) -> Select[*tuple[Any, ...]]:
    start, end = cal.span(filters.first, filters.last)
    stmt: Select[*tuple[Any, ...]] = (
        select(Message, Account.display_name)
        .join(Account, Account.id == Message.account_id)
        .where(Message.created_at >= start, Message.created_at < end)
    )
    stmt = restrict(stmt, who, FUNCTION, Message)
    if filters.account_ids:
        stmt = stmt.where(Message.account_id.in_(filters.account_ids))
    if filters.team_ids:
        stmt = stmt.join(ServiceRequest, ServiceRequest.id == Message.request_id).where(
            ServiceRequest.team_id.in_(filters.team_ids)
        )
    kept = params.get("kept")
    reviewable = scope_clause(who, "message.review", Message)
    if kept == "1":
        stmt = stmt.where(Message.keep.is_(True))
    elif kept == "0":
        stmt = stmt.where(Message.keep.is_(False), reviewable)
    else:
        stmt = stmt.where(or_(Message.keep.is_(True), reviewable))
    if params.get("interaction"):
        stmt = stmt.where(interaction() == params["interaction"])
    if params.get("sentiment"):
        wanted = params["sentiment"]
        stmt = stmt.where(
            Message.sentiment_label.is_(None) if wanted == "none" else Message.sentiment_label == wanted
        )
    if params.get("reason"):
        stmt = stmt.where(Message.drop_reason == params["reason"])
    if (customer := _id(params.get("customer"))) is not None:
        stmt = stmt.where(Message.customer_id == customer)
    if params.get("keyword"):
        stmt = stmt.where(Message.text.icontains(params["keyword"], autoescape=True))
    return stmt


def _message_cells(message: Message, account: str, sight: PhoneSight, cal: Calendar) -> list[Cell]:
    return [
        Cell(_when(cal, message.created_at)),
        Cell(account),
        Cell(message.author_name, customer_id=message.customer_id),
        Cell(f"analytics.kind.{message.kind}", literal=False),
        Cell(f"analytics.sentiment.{message.sentiment_label or 'none'}", literal=False),
        Cell(sight.text(message.account_id, message.text)),
        Cell(
            f"analytics.reason.{message.drop_reason}" if message.drop_reason else "analytics.kept",
            literal=False,
        ),
        Cell(message.request_id, request_id=message.request_id),
    ]


MESSAGE_COLUMNS = [
    "analytics.col.time",
    "analytics.col.account",
    "analytics.col.author",
    "analytics.col.kind",
    "analytics.col.sentiment",
    "analytics.col.text",
    "analytics.col.verdict",
    "analytics.col.request",
]


def _message_rows(
    session: Session,
    who: Principal,
    cal: Calendar,
    filters: Filters,
    params: Mapping[str, str],
    after: str | None,
) -> Iterator[tuple[datetime, int, list[Cell]]]:
    base = _messages(session, who, cal, filters, params)
    sight = phone_sight(session, who)
    keyword = params.get("keyword")
    position = _keyset(after)
    while True:
        stmt = base
        if (older := _older(Message.created_at, Message.id, position)) is not None:
            stmt = stmt.where(older)
        batch = session.execute(
            stmt.order_by(Message.created_at.desc(), Message.id.desc()).limit(PAGE * 4)
        ).all()
        if not batch:
            return
        for message, account in batch:
            position = (message.created_at, message.id)
            if keyword and keyword not in terms(message.text or ""):
                continue
            yield message.created_at, message.id, _message_cells(message, account, sight, cal)


# -- requests ---------------------------------------------------------------------------------


REQUEST_COLUMNS = [
    "analytics.col.request",
    "analytics.col.account",
    "analytics.col.subject",
    "analytics.col.operator",
    "analytics.col.time",
    "analytics.col.frt",
    "analytics.col.ttr",
    "analytics.col.sla",
]


def _requests(
    session: Session, who: Principal, filters: Filters, params: Mapping[str, str], now: datetime
) -> Select[*tuple[Any, ...]]:
    stmt: Select[*tuple[Any, ...]] = (
        select(RequestFact, ServiceRequest.subject, Account.display_name, User.display_name)
        .join(ServiceRequest, ServiceRequest.id == RequestFact.request_id)
        .join(Account, Account.id == RequestFact.account_id)
        .outerjoin(User, User.id == RequestFact.assignee_id)
    )
    stmt = restrict(stmt, who, FUNCTION, RequestFact)
    if filters.account_ids:
        stmt = stmt.where(RequestFact.account_id.in_(filters.account_ids))
    if filters.team_ids:
        stmt = stmt.where(RequestFact.team_id.in_(filters.team_ids))
    which = params.get("which", "received")
    column = {
        "received": RequestFact.created_day,
        "responded": RequestFact.responded_day,
        "resolved": RequestFact.resolved_day,
        "sla_due": RequestFact.sla_day,
        "sla_missed": RequestFact.sla_day,
    }.get(which)
    if which == "open":
        stmt = stmt.where(RequestFact.is_open)
        bounds = [0.0, *(b for b, _ in AGES if b is not None)]
        keys = [k for _, k in AGES]
        if params.get("age") in keys:
            i = keys.index(params["age"])
            stmt = stmt.where(RequestFact.created_at <= now - timedelta(hours=bounds[i]))
            if i + 1 < len(bounds):
                stmt = stmt.where(RequestFact.created_at > now - timedelta(hours=bounds[i + 1]))
    elif column is not None:
        stmt = stmt.where(column >= filters.first, column <= filters.last)
        if which == "sla_missed":
            stmt = stmt.where(RequestFact.sla_met.is_(False))
    else:
        stmt = stmt.where(false())
    for name, col in (("assignee", RequestFact.assignee_id), ("team_of", RequestFact.team_id)):
        value = params.get(name)
        if value == "none":
            stmt = stmt.where(col.is_(None))
        elif (key := _id(value)) is not None:
            stmt = stmt.where(col == key)
    company = params.get("company")
    if company == "none":
        stmt = stmt.where(RequestFact.assignee_id.is_(None))
    elif (org := _id(company)) is not None:
        stmt = stmt.where(RequestFact.assignee_id.in_(select(User.id).where(User.org_id == org)))
    return stmt


def _request_rows(
    session: Session,
    who: Principal,
    cal: Calendar,
    filters: Filters,
    params: Mapping[str, str],
    after: str | None,
) -> Iterator[tuple[datetime, int, list[Cell]]]:
    base = _requests(session, who, filters, params, utcnow())
    sight = phone_sight(session, who)
    position = _keyset(after)
    while True:
        stmt = base
        if (older := _older(RequestFact.created_at, RequestFact.request_id, position)) is not None:
            stmt = stmt.where(older)
        batch = session.execute(
            stmt.order_by(RequestFact.created_at.desc(), RequestFact.request_id.desc()).limit(PAGE * 4)
        ).all()
        if not batch:
            return
        for fact, subject, account, assignee in batch:
            position = (fact.created_at, fact.request_id)
            sla = (
                None
                if fact.sla_met is None
                else ("analytics.sla.met" if fact.sla_met else "analytics.sla.missed")
            )
            yield (
                fact.created_at,
                fact.request_id,
                [
                    Cell(fact.request_id, request_id=fact.request_id),
                    Cell(account),
                    Cell(sight.text(fact.account_id, subject or "")),
                    Cell(assignee or "analytics.unassigned", literal=assignee is not None),
                    Cell(_when(cal, fact.created_at)),
                    Cell(fact.first_response_minutes),
                    Cell(fact.resolution_minutes),
                    Cell(sla or "analytics.sla.pending", literal=False),
                ],
            )


# -- posts and followers -----------------------------------------------------------------------

POST_COLUMNS = [
    "analytics.col.time",
    "analytics.col.account",
    "analytics.col.category",
    "analytics.col.text",
    "analytics.col.reposts",
    "analytics.col.comments",
    "analytics.col.likes",
]


def _post_rows(
    session: Session,
    who: Principal,
    cal: Calendar,
    filters: Filters,
    params: Mapping[str, str],
    after: str | None,
) -> Iterator[tuple[datetime, int, list[Cell]]]:
    stmt = (
        select(PostFact, OutboundMessage.sent_text, OutboundMessage.text, Account.display_name)
        .join(OutboundMessage, OutboundMessage.id == PostFact.outbound_id)
        .join(Account, Account.id == PostFact.account_id)
        .where(PostFact.day >= filters.first, PostFact.day <= filters.last)
    )
    stmt = restrict(stmt, who, FUNCTION, PostFact)
    if filters.account_ids:
        stmt = stmt.where(PostFact.account_id.in_(filters.account_ids))
    for name, col in (("hour", PostFact.hour), ("weekday", PostFact.weekday)):
        if (value := _id(params.get(name))) is not None:
            stmt = stmt.where(col == value)
    if params.get("category"):
        stmt = stmt.where(PostFact.category == ("" if params["category"] == "none" else params["category"]))
    sight = phone_sight(session, who)
    position = _keyset(after)
    while True:
        page = stmt
        if (older := _older(PostFact.sent_at, PostFact.outbound_id, position)) is not None:
            page = page.where(older)
        batch = session.execute(
            page.order_by(PostFact.sent_at.desc(), PostFact.outbound_id.desc()).limit(PAGE)
        ).all()
        if not batch:
            return
        for post, sent_text, text, account in batch:
            position = (post.sent_at, post.outbound_id)
            yield (
                post.sent_at,
                post.outbound_id,
                [
                    Cell(_when(cal, post.sent_at)),
                    Cell(account),
                    Cell(post.category or "analytics.uncategorized", literal=bool(post.category)),
                    Cell(sight.text(post.account_id, sent_text or text or "")),
                    Cell(post.reposts),
                    Cell(post.comments),
                    Cell(post.likes),
                ],
            )


FOLLOWER_COLUMNS = [
    "analytics.col.account",
    "analytics.col.fan",
    "analytics.col.followers",
    "analytics.col.first_seen",
]


def _follower_rows(
    session: Session, who: Principal, cal: Calendar, filters: Filters, after: str | None
) -> Iterator[tuple[datetime, int, list[Cell]]]:
    start, end = cal.span(filters.first, filters.last)
    stmt = (
        select(Follower, Account.display_name)
        .join(Account, Account.id == Follower.account_id)
        .where(Follower.first_seen_at >= start, Follower.first_seen_at < end)
    )
    stmt = restrict(stmt, who, FUNCTION, Follower)
    if filters.account_ids:
        stmt = stmt.where(Follower.account_id.in_(filters.account_ids))
    position = _keyset(after)
    while True:
        page = stmt
        if (older := _older(Follower.first_seen_at, Follower.id, position)) is not None:
            page = page.where(older)
        batch = session.execute(
            page.order_by(Follower.first_seen_at.desc(), Follower.id.desc()).limit(PAGE)
        ).all()
        if not batch:
            return
        for fan, account in batch:
            position = (fan.first_seen_at, fan.id)
            yield (
                fan.first_seen_at,
                fan.id,
                [
                    Cell(account),
                    Cell(fan.screen_name),
                    Cell(fan.followers_count),
                    Cell(_when(cal, fan.first_seen_at)),
                ],
            )


# -- the one entry point ---------------------------------------------------------------------


def columns_of(dataset: str) -> list[str]:
    return {
        "messages": MESSAGE_COLUMNS,
        "requests": REQUEST_COLUMNS,
        "posts": POST_COLUMNS,
        "followers": FOLLOWER_COLUMNS,
    }.get(dataset, MESSAGE_COLUMNS)


def iter_rows(
    session: Session,
    who: Principal,
    cal: Calendar,
    dataset: str,
    filters: Filters,
    params: Mapping[str, str],
    after: str | None = None,
) -> Iterator[tuple[datetime, int, list[Cell]]]:
    """Every row of ``dataset`` behind a figure, newest first, from ``after`` on."""
    if dataset == "requests":
        return _request_rows(session, who, cal, filters, params, after)
    if dataset == "posts":
        return _post_rows(session, who, cal, filters, params, after)
    if dataset == "followers":
        return _follower_rows(session, who, cal, filters, after)
    return _message_rows(session, who, cal, filters, params, after)


def page(
    session: Session,
    who: Principal,
    cal: Calendar,
    dataset: str,
    filters: Filters,
    params: Mapping[str, str],
    after: str | None = None,
    size: int = PAGE,
) -> RowPage:
    dataset = dataset if dataset in DATASETS else "messages"
    rows: list[list[Cell]] = []
    last: tuple[datetime, int] | None = None
    more = False
    for moment, key, cells in iter_rows(session, who, cal, dataset, filters, params, after):
        if len(rows) == size:
            more = True
            break
        rows.append(cells)
        last = (moment, key)
    note = None
    if dataset == "messages" and params.get("kept") == "0" and not who.can("message.review"):
        note = "analytics.rows.dropped_hidden"
    return RowPage(
        dataset,
        columns_of(dataset),
        rows,
        f"{last[0].isoformat()}|{last[1]}" if more and last is not None else None,
        note,
    )
