"""Exactly-once intake: filter a batch, upsert its customers, insert its messages set-wise.

The insert skips rows whose (account, kind, platform_id) already exists, so a replayed
page, a re-delivered push or two pollers racing on one account never add a duplicate;
the ids returned are only those of rows this call created, and only they are routed.

Everything is done per batch, in a fixed number of statements whatever its size: one
look-up of the platform ids already stored (a replayed page is not filtered again), one
of the authors' identities, one multi-row insert of new customers and one of their
identities (``ON CONFLICT DO NOTHING``: another worker may create the same customer at the
same moment, and then its row wins), one query for the authors' recent texts, and one
multi-row insert of the messages. Rows are written in a stable order (authors by uid) so
two workers taking in overlapping authors wait for each other instead of deadlocking. On
PostgreSQL the customers are committed at once, in a short transaction of their own, so
that such a wait is short (see :func:`_customers`).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from servicehub.adapters.base import InboundItem, ItemKind, PlatformUser
from servicehub.core import metrics
from servicehub.core.bulk import insert_rows, reserve_ids
from servicehub.core.db import is_postgres, utcnow
from servicehub.core.lookup import chunks, one_of
from servicehub.core.models import Account, Customer, CustomerIdentity, Message
from servicehub.filters.chain import FilterChain
from servicehub.filters.verdict import FilterInput, RecentText, Verdict
from servicehub.routing.conversations import Routable

RECENT_WINDOW = timedelta(hours=2)
RECENT_PER_AUTHOR = 20  # the duplicate filter compares against an author's latest messages


class Author(NamedTuple):
    """What intake knows of a message's author: its customer, and its screen name so far."""

    customer_id: int
    screen_name: str


@dataclass(frozen=True)
class Stored:
    """What one intake call added: the new message ids, and the kept ones ready to route."""

    ids: list[int]
    routable: list[Routable]


def intake(session: Session, account: Account, items: Sequence[InboundItem], chain: FilterChain) -> list[int]:
    """Store ``items`` heard by ``account``; returns the ids of newly inserted messages."""
    return take_in(session, account, items, chain).ids


def take_in(session: Session, account: Account, items: Sequence[InboundItem], chain: FilterChain) -> Stored:
    """Store ``items`` heard by ``account`` (see the module docstring); nothing is committed."""
    rows = judge(session, account, items, chain)
    added = insert_messages(session, rows)
    by_source = Counter(kind for kind, _ in added.values())
    metrics.count_on_commit(session, "intake", {(str(account.id), str(k)): n for k, n in by_source.items()})
    return stored_from(rows, added)


def judge(
    session: Session, account: Account, items: Sequence[InboundItem], chain: FilterChain
) -> list[dict[str, Any]]:
    """The message rows of the items not stored yet: customers upserted, filters applied."""
    unique = list({(i.kind, i.platform_id): i for i in items}.values())
    unique = _not_stored(session, account, unique)
    if not unique:
        return []
    authors = _customers(session, unique)
    recent = _recent_texts(session, account, unique, authors)
    verdicts = chain.run_batch([_filter_input(i) for i in unique], recent)
    verdicts = [_not_for_service(i, v) for i, v in zip(unique, verdicts, strict=True)]
    now = utcnow()
    return [
        _row(account, item, verdict, authors[item.author.uid], now)
        for item, verdict in zip(unique, verdicts, strict=True)
    ]


def routable(message_id: int, row: dict[str, Any]) -> Routable:
    """What routing needs of a message row (its id given, or reserved before the insert)."""
    return Routable(
        id=message_id,
        account_id=row["account_id"],
        customer_id=row["customer_id"],
        thread_id=row["thread_id"],
        author_uid=row["author_uid"],
        text=row["text"],
        received_at=row["received_at"],
        sentiment=row["sentiment"],
        tags=row["tags"],
        intent=row["intent"],
        escalation=tuple(row["escalation"]),
    )


def stored_from(rows: list[dict[str, Any]], added: dict[int, tuple[str, str]]) -> Stored:
    """The :class:`Stored` of an insert of ``rows`` that added ``added`` (id -> key)."""
    by_key = {(row["kind"], row["platform_id"]): row for row in rows}
    ready = [
        routable(message_id, row)
        for message_id, key in sorted(added.items())
        if (row := by_key[key])["keep"] and not row.get("routed")
    ]
    return Stored(sorted(added), ready)


def _not_for_service(item: InboundItem, verdict: Verdict) -> Verdict:
    """Follow/unfollow and menu events are stored (fan analytics) but never become requests."""
    if item.kind != ItemKind.EVENT or not verdict.keep:
        return verdict
    return dataclasses.replace(verdict, keep=False, reason="event")


def _filter_input(item: InboundItem) -> FilterInput:
    return FilterInput(
        platform=item.platform,
        kind=str(item.kind),
        platform_id=item.platform_id,
        account_uid=item.account_uid,
        author_uid=item.author.uid,
        text=item.text,
        created_at=item.created_at,
        attachments=len(item.media),
    )


def _row(account: Account, item: InboundItem, verdict: Verdict, author: Author, now: Any) -> dict[str, Any]:
    return {
        "platform": item.platform,
        "kind": str(item.kind),
        "platform_id": item.platform_id,
        "account_id": account.id,
        "customer_id": author.customer_id,
        "author_uid": item.author.uid,
        "author_name": item.author.screen_name[:120] or author.screen_name,
        "text": item.text,
        "created_at": item.created_at,
        "received_at": now,
        "thread_id": item.thread_id,
        "reply_target": item.reply_target.as_dict(),
        "raw": dict(item.raw),
        "attachments": [m.as_dict() for m in item.media] if item.media else None,
        "keep": verdict.keep,
        "drop_reason": verdict.reason,
        "tags": list(verdict.tags),
        "sentiment": verdict.sentiment,
        "sentiment_label": verdict.sentiment_label,
        "intent": verdict.intent,
        "escalation": list(verdict.escalation),
        "duplicate_of": verdict.duplicate_of,
        "routed": not verdict.keep,
    }


def _not_stored(session: Session, account: Account, items: list[InboundItem]) -> list[InboundItem]:
    """``items`` minus those this account already stored: a replayed page costs one query."""
    by_kind: dict[str, set[str]] = defaultdict(set)
    for item in items:
        by_kind[str(item.kind)].add(item.platform_id)
    known: set[tuple[str, str]] = set()
    for kind, ids in by_kind.items():
        for part in chunks(sorted(ids)):
            stored = session.scalars(
                select(Message.platform_id).where(
                    Message.account_id == account.id,
                    Message.kind == kind,
                    one_of(session, Message.platform_id, part),
                )
            )
            known.update((kind, platform_id) for platform_id in stored)
    return [i for i in items if (str(i.kind), i.platform_id) not in known]


def insert_messages(session: Session, rows: list[dict[str, Any]]) -> dict[int, tuple[str, str]]:
    """One multi-row insert; id -> (kind, platform id) of the rows it added (known keys are skipped)."""
    if not rows:
        return {}
    result = insert_rows(
        session,
        Message,
        rows,
        skip_conflicts_on=("account_id", "kind", "platform_id"),
        returning=("id", "kind", "platform_id"),
    )
    return {} if result is None else {message_id: (kind, pid) for message_id, kind, pid in result}


def _identities(session: Session, platform: str, uids: Sequence[str]) -> dict[str, tuple[int, int, str, int]]:
    """uid -> (identity id, customer id, screen name, followers) for the known ones."""
    found: dict[str, tuple[int, int, str, int]] = {}
    for part in chunks(uids):
        rows = session.execute(
            select(
                CustomerIdentity.platform_uid,
                CustomerIdentity.id,
                CustomerIdentity.customer_id,
                CustomerIdentity.screen_name,
                CustomerIdentity.followers_count,
            ).where(
                CustomerIdentity.platform == platform, one_of(session, CustomerIdentity.platform_uid, part)
            )
        )
        for uid, ident_id, customer_id, name, followers in rows:
            found[uid] = (ident_id, customer_id, name, followers)
    return found


def _customers(session: Session, items: Sequence[InboundItem]) -> dict[str, Author]:
    """:func:`_upsert_customers`, on PostgreSQL in a short transaction of its own.

    Two workers hearing the same new author both insert its identity; the second insert
    waits until the first one's transaction ends. Inside the intake transaction that wait
    lasted until the other worker had filtered, stored and routed its whole chunk (in a
    100k-message flood, half of the run's wall time); committed at once it lasts
    milliseconds. A customer committed without the messages that named it (the intake then
    fails) is harmless: the retried intake finds and uses it. SQLite has a single writer,
    so there it stays in the caller's transaction.
    """
    bind = session.get_bind()
    if not is_postgres(session) or not isinstance(bind, Engine):
        return _upsert_customers(session, items)
    with Session(bind) as own, own.begin():
        return _upsert_customers(own, items)


def _upsert_customers(session: Session, items: Sequence[InboundItem]) -> dict[str, Author]:
    """Customer and screen name per author uid, creating identities (and customers) that are new.

    A payload that does not carry the author's profile (a push names only the sender's uid)
    leaves the known screen name and follower count as they are. A customer first heard of
    that way is named by its uid until a screen name arrives; then it takes that name.
    """
    platform = items[0].platform
    authors = {i.author.uid: i.author for i in items}
    uids = sorted(authors)
    known = _identities(session, platform, uids)
    changed = []
    named: list[tuple[int, str, str]] = []  # (customer, uid placeholder, screen name)
    result: dict[str, Author] = {}
    for uid, (ident_id, customer_id, name, followers) in known.items():
        author = authors[uid]
        now_name = author.screen_name[:120] or name
        now_followers = followers if author.followers_count is None else author.followers_count
        if (name, followers) != (now_name, now_followers):
            changed.append({"id": ident_id, "screen_name": now_name, "followers_count": now_followers})
            if not name and now_name:
                named.append((customer_id, uid, now_name))
        result[uid] = Author(customer_id, now_name)
    if changed:  # in uid order, like the inserts below
        session.execute(update(CustomerIdentity), changed)
    for customer_id, uid, name in named:  # rare: only the first time a pushed-only author posts
        session.execute(
            update(Customer)
            .where(Customer.id == customer_id, Customer.display_name == uid)
            .values(display_name=name, updated_at=utcnow())
        )
    missing = [authors[uid] for uid in uids if uid not in known]
    if missing:
        result.update(_create_customers(session, platform, missing))
    return result


def _create_customers(session: Session, platform: str, authors: list[PlatformUser]) -> dict[str, Author]:
    """New customers with these identities; where another worker created one meanwhile, theirs."""
    now = utcnow()
    customers = [
        {"display_name": a.screen_name[:120] or a.uid, "tags": [], "created_at": now, "updated_at": now}
        for a in authors
    ]
    if is_postgres(session):  # ids first: one statement, no RETURNING
        customer_ids = reserve_ids(session, "customers", len(authors))
        insert_rows(session, Customer, [c | {"id": i} for c, i in zip(customers, customer_ids, strict=True)])
    else:
        returning = insert(Customer).returning(Customer.id, sort_by_parameter_order=True)
        customer_ids = list(session.scalars(returning, customers))
    rows = [
        {
            "customer_id": customer_id,
            "platform": platform,
            "platform_uid": a.uid,
            "screen_name": a.screen_name[:120],
            "followers_count": a.followers_count or 0,
            "updated_at": now,
        }
        for a, customer_id in zip(authors, customer_ids, strict=True)
    ]
    result = insert_rows(
        session,
        CustomerIdentity,
        rows,
        skip_conflicts_on=("platform", "platform_uid"),
        returning=("platform_uid", "customer_id"),
    )
    created: dict[str, int] = {} if result is None else {uid: cid for uid, cid in result}
    lost = [a.uid for a in authors if a.uid not in created]
    if lost:  # another worker's identity won: use its customer, drop the spare one made here
        spare = [cid for a, cid in zip(authors, customer_ids, strict=True) if a.uid not in created]
        session.execute(delete(Customer).where(Customer.id.in_(spare)))
        created.update({uid: row[1] for uid, row in _identities(session, platform, lost).items()})
    names = {a.uid: a.screen_name[:120] for a in authors}
    return {uid: Author(customer_id, names[uid]) for uid, customer_id in created.items()}


def _recent_texts(
    session: Session, account: Account, items: Sequence[InboundItem], known: dict[str, Author]
) -> dict[str, list[RecentText]]:
    """Each author's latest messages to this account (by customer: an indexed look-up)."""
    authors = sorted({i.author.uid for i in items})
    since = utcnow() - RECENT_WINDOW
    recent: dict[str, list[RecentText]] = defaultdict(list)
    for part in chunks(authors):
        ranked = (
            select(
                Message.author_uid,
                Message.platform_id,
                Message.text,
                Message.created_at,
                func.row_number()
                .over(partition_by=Message.author_uid, order_by=Message.id.desc())
                .label("rank"),
            )
            .where(
                one_of(session, Message.customer_id, sorted({known[uid].customer_id for uid in part})),
                Message.account_id == account.id,
                one_of(session, Message.author_uid, part),
                Message.received_at >= since,
            )
            .subquery()
        )
        rows = session.execute(
            select(ranked.c.author_uid, ranked.c.platform_id, ranked.c.text, ranked.c.created_at)
            .where(ranked.c.rank <= RECENT_PER_AUTHOR)
            .order_by(ranked.c.author_uid, ranked.c.rank)
        )
        for author_uid, platform_id, said, created_at in rows:
            recent[author_uid].append(RecentText(platform_id=platform_id, text=said, created_at=created_at))
    return recent
