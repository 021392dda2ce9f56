"""Exactly-once intake: filter a batch, upsert its customers, insert its messages in one statement.

The insert skips rows whose (account, kind, platform_id) already exists, so a replayed
page, a re-delivered push or two pollers racing on one account never add a duplicate;
the ids returned are only those of rows this call created, and only they are routed.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from servicehub.adapters.base import InboundItem, ItemKind, PlatformUser
from servicehub.core.db import dialect_insert, utcnow
from servicehub.core.models import Account, Customer, CustomerIdentity, Message
from servicehub.filters.chain import FilterChain
from servicehub.filters.verdict import FilterInput, RecentText, Verdict

RECENT_WINDOW = timedelta(hours=2)


def intake(session: Session, account: Account, items: Sequence[InboundItem], chain: FilterChain) -> list[int]:
    """Store ``items`` heard by ``account``; returns the ids of newly inserted messages."""
    if not items:
        return []
    unique = list({(i.kind, i.platform_id): i for i in items}.values())
    customers = _upsert_customers(session, unique)
    verdicts = chain.run_batch([_filter_input(i) for i in unique], _recent_texts(session, account, unique))
    verdicts = [_not_for_service(i, v) for i, v in zip(unique, verdicts, strict=True)]
    now = utcnow()
    rows = [
        _row(account, item, verdict, customers[item.author.uid], now)
        for item, verdict in zip(unique, verdicts, strict=True)
    ]
    return _insert_skipping_known(session, rows)


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
    )


def _row(account: Account, item: InboundItem, verdict: Verdict, customer_id: int, now: Any) -> dict[str, Any]:
    return {
        "platform": item.platform,
        "kind": str(item.kind),
        "platform_id": item.platform_id,
        "account_id": account.id,
        "customer_id": customer_id,
        "author_uid": item.author.uid,
        "author_name": item.author.screen_name[:120],
        "text": item.text,
        "created_at": item.created_at,
        "received_at": now,
        "thread_id": item.thread_id,
        "reply_target": asdict(item.reply_target),
        "raw": dict(item.raw),
        "keep": verdict.keep,
        "drop_reason": verdict.reason,
        "tags": list(verdict.tags),
        "sentiment": verdict.sentiment,
        "sentiment_label": verdict.sentiment_label,
        "duplicate_of": verdict.duplicate_of,
        "routed": not verdict.keep,
    }


def _insert_skipping_known(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    stmt = (
        dialect_insert(session)(Message)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["account_id", "kind", "platform_id"])
        .returning(Message.id)
    )
    return list(session.scalars(stmt))


def _upsert_customers(session: Session, items: Sequence[InboundItem]) -> dict[str, int]:
    """Customer id per author uid, creating identities (and customers) that are new."""
    platform = items[0].platform
    authors = {i.author.uid: i.author for i in items}
    known = {
        ident.platform_uid: ident
        for ident in session.scalars(
            select(CustomerIdentity).where(
                CustomerIdentity.platform == platform, CustomerIdentity.platform_uid.in_(authors)
            )
        )
    }
    result: dict[str, int] = {}
    for uid, author in authors.items():
        ident = known.get(uid)
        if ident is None:
            ident = _create_customer(session, platform, author)
        elif ident.screen_name != author.screen_name or ident.followers_count != author.followers_count:
            ident.screen_name = author.screen_name[:120]
            ident.followers_count = author.followers_count
        result[uid] = ident.customer_id
    session.flush()
    return result


def _create_customer(session: Session, platform: str, author: PlatformUser) -> CustomerIdentity:
    """A new customer with this identity; if another worker created it meanwhile, theirs."""
    try:
        with session.begin_nested():
            customer = Customer(display_name=author.screen_name[:120] or author.uid)
            session.add(customer)
            session.flush()
            ident = CustomerIdentity(
                customer_id=customer.id,
                platform=platform,
                platform_uid=author.uid,
                screen_name=author.screen_name[:120],
                followers_count=author.followers_count,
            )
            session.add(ident)
            session.flush()
            return ident
    except IntegrityError:
        return session.scalars(
            select(CustomerIdentity).where(
                CustomerIdentity.platform == platform, CustomerIdentity.platform_uid == author.uid
            )
        ).one()


def _recent_texts(
    session: Session, account: Account, items: Sequence[InboundItem]
) -> dict[str, list[RecentText]]:
    authors = {i.author.uid for i in items}
    since = utcnow() - RECENT_WINDOW
    rows = session.execute(
        select(Message.author_uid, Message.platform_id, Message.text, Message.created_at)
        .where(
            Message.account_id == account.id, Message.author_uid.in_(authors), Message.received_at >= since
        )
        .order_by(Message.id.desc())
        .limit(500)
    )
    recent: dict[str, list[RecentText]] = defaultdict(list)
    for author_uid, platform_id, text, created_at in rows:
        recent[author_uid].append(RecentText(platform_id=platform_id, text=text, created_at=created_at))
    return recent
