"""Reads for the publishing pages: the list of publications, and one publication as it is
received (发布监控) -- per-account deliveries, each post's reposts/comments/likes over time,
the latest replies with their sentiment, and the service requests they caused.

Everything is read through the reader's scope (``publications.seen_by``); a reply's text is
masked as the request pages mask it (phone numbers whole only where ``customer.view_phone``
reaches). A reply to a post is a comment whose thread is the post, or a repost of it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from servicehub.adapters.base import ItemKind
from servicehub.core.masking import phone_sight
from servicehub.core.models import (
    Account,
    DeliveryState,
    EngagementSnapshot,
    Message,
    OutboundKind,
    OutboundMessage,
    Publication,
    PublicationAccount,
    PublicationState,
    ServiceRequest,
    User,
)
from servicehub.core.permissions import Principal
from servicehub.publishing.publications import access_publication, needs_review, seen_by

PAGE = 50
# Platform times of replies may run a little behind ours.
_SLACK = timedelta(minutes=2)
LATEST_REACTIONS = 30
PENDING_STATES = (DeliveryState.QUEUED, DeliveryState.SENDING, DeliveryState.RETRY)


@dataclass(frozen=True)
class Row:
    """One publication in the list."""

    id: int
    text: str
    category: str
    state: str
    author: str
    created_at: datetime
    scheduled_at: datetime | None
    accounts: list[str]
    delivered: int  # targets sent
    failed: int
    waiting: int
    engagement: int  # reposts + comments + likes of its posts, latest samples


@dataclass(frozen=True)
class Delivery:
    outbound_id: int
    account_id: int
    account: str
    kind: str
    state: str
    platform_id: str | None
    recipient: str  # a private message's recipient uid, a mass send's tag; "" for a post
    error: str
    error_kind: str | None
    sent_at: datetime | None
    attempts: int


@dataclass(frozen=True)
class Sample:
    at: datetime
    reposts: int
    comments: int
    likes: int


@dataclass(frozen=True)
class Reaction:
    message_id: int
    kind: str  # "comment" or "repost"
    account: str
    author: str
    text: str
    created_at: datetime
    sentiment: str | None
    dropped: str | None  # why the filters kept it out of service (empty, spam...), if they did
    request_id: int | None


@dataclass
class Monitor:
    publication: Publication
    author: str
    reviewer: str | None
    needs_review: bool  # the reader's own publications would wait for approval
    deliveries: list[Delivery]
    series: dict[int, list[Sample]]  # outbound id of a post -> its samples, oldest first
    reactions: list[Reaction]
    reaction_count: int
    requests: list[tuple[int, str, str]]  # (request id, state, priority) caused by replies
    states: Counter[str] = field(default_factory=Counter)
    accounts: dict[int, str] = field(default_factory=dict)  # its accounts' names by id


def publications(
    session: Session, who: Principal, *, state: str | None = None, before_id: int | None = None
) -> list[Row]:
    """A page of the publications ``who`` may see, newest first (keyset by id)."""
    stmt = (
        select(Publication, User.display_name)
        .join(User, User.id == Publication.created_by)
        .where(seen_by(who))
    )
    if state:
        stmt = stmt.where(Publication.state == state)
    if before_id is not None:
        stmt = stmt.where(Publication.id < before_id)
    found = session.execute(stmt.order_by(Publication.id.desc()).limit(PAGE)).all()
    ids = [p.id for p, _ in found]
    targets: dict[int, list[int]] = defaultdict(list)  # one query for the page, not one per row
    for publication_id, account_id in session.execute(
        select(PublicationAccount.publication_id, PublicationAccount.account_id)
        .where(PublicationAccount.publication_id.in_(ids))
        .order_by(PublicationAccount.account_id)
    ):
        targets[publication_id].append(account_id)
    account_ids = {a for accounts in targets.values() for a in accounts}
    names = dict(
        session.execute(select(Account.id, Account.display_name).where(Account.id.in_(account_ids))).all()
    )
    tally: dict[int, Counter[str]] = defaultdict(Counter)
    for pid, row_state, n in session.execute(
        select(OutboundMessage.publication_id, OutboundMessage.state, func.count())
        .where(OutboundMessage.publication_id.in_(ids))
        .group_by(OutboundMessage.publication_id, OutboundMessage.state)
    ):
        tally[pid or 0][str(row_state)] += n
    engagement = _engagement_by_publication(session, ids)
    rows = []
    for publication, author in found:
        counts = tally[publication.id]
        rows.append(
            Row(
                id=publication.id,
                text=publication.text,
                category=str(publication.category),
                state=str(publication.state),
                author=author,
                created_at=publication.created_at,
                scheduled_at=publication.scheduled_at,
                accounts=[names.get(a, "") for a in targets[publication.id]],
                delivered=counts[DeliveryState.SENT] + counts[DeliveryState.DELIVERED],
                failed=counts[DeliveryState.FAILED] + counts[DeliveryState.UNKNOWN],
                waiting=sum(counts[s] for s in PENDING_STATES),
                engagement=engagement.get(publication.id, 0),
            )
        )
    return rows


def _latest_samples(session: Session, outbound_ids: list[int]) -> dict[int, EngagementSnapshot]:
    if not outbound_ids:
        return {}
    newest = (
        select(EngagementSnapshot.outbound_id, func.max(EngagementSnapshot.id).label("last"))
        .where(EngagementSnapshot.outbound_id.in_(outbound_ids))
        .group_by(EngagementSnapshot.outbound_id)
        .subquery()
    )
    return {
        e.outbound_id: e
        for e in session.scalars(
            select(EngagementSnapshot).join(newest, newest.c.last == EngagementSnapshot.id)
        )
    }


def _engagement_by_publication(session: Session, publication_ids: list[int]) -> dict[int, int]:
    posts = {
        outbound_id: publication_id or 0
        for outbound_id, publication_id in session.execute(
            select(OutboundMessage.id, OutboundMessage.publication_id).where(
                OutboundMessage.publication_id.in_(publication_ids), OutboundMessage.kind == OutboundKind.POST
            )
        )
    }
    total: Counter[int] = Counter()
    for outbound_id, sample in _latest_samples(session, list(posts)).items():
        total[posts[outbound_id]] += sample.reposts + sample.comments + sample.likes
    return dict(total)


def monitor(session: Session, who: Principal, publication_id: int) -> Monitor:
    """One publication as ``who`` may see it (missing when outside their scope)."""
    publication = access_publication(session, who, publication_id)
    names = dict(
        session.execute(
            select(Account.id, Account.display_name).where(
                Account.id.in_([t.account_id for t in publication.targets])
            )
        ).all()
    )
    rows = list(
        session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.publication_id == publication.id)
            .order_by(OutboundMessage.account_id, OutboundMessage.id)
        )
    )
    deliveries = [_delivery(r, names) for r in rows]
    posts = [r for r in rows if r.kind == OutboundKind.POST and r.platform_id]
    series: dict[int, list[Sample]] = {p.id: [] for p in posts}
    if posts:
        for e in session.scalars(
            select(EngagementSnapshot)
            .where(EngagementSnapshot.outbound_id.in_(list(series)))
            .order_by(EngagementSnapshot.sampled_at, EngagementSnapshot.id)
        ):
            series[e.outbound_id].append(Sample(e.sampled_at, e.reposts, e.comments, e.likes))
    reactions, count, requests = _reactions(session, who, posts, names)
    users = dict(
        session.execute(
            select(User.id, User.display_name).where(
                User.id.in_([i for i in (publication.created_by, publication.reviewed_by) if i])
            )
        ).all()
    )
    mine = publication.state == PublicationState.PENDING or needs_review(session, who, publication.id)
    return Monitor(
        publication=publication,
        author=users.get(publication.created_by, ""),
        reviewer=users.get(publication.reviewed_by) if publication.reviewed_by else None,
        needs_review=mine,
        deliveries=deliveries,
        series=series,
        reactions=reactions,
        reaction_count=count,
        requests=requests,
        states=Counter(d.state for d in deliveries),
        accounts=names,
    )


def _delivery(row: OutboundMessage, names: dict[int, str]) -> Delivery:
    target = row.target or {}
    recipient = str(target.get("user_uid") or target.get("tag_name") or target.get("tag_id") or "")
    return Delivery(
        outbound_id=row.id,
        account_id=row.account_id,
        account=names.get(row.account_id, ""),
        kind=str(row.kind),
        state=str(row.state),
        platform_id=row.platform_id,
        recipient=recipient,
        error=row.error,
        error_kind=str(row.error_kind) if row.error_kind else None,
        sent_at=row.sent_at,
        attempts=row.attempts,
    )


def _reactions(
    session: Session, who: Principal, posts: list[OutboundMessage], names: dict[int, str]
) -> tuple[list[Reaction], int, list[tuple[int, str, str]]]:
    if not posts:
        return [], 0, []
    clauses = []
    for post in posts:
        assert post.platform_id is not None and post.sent_at is not None
        reposted = Message.raw["retweeted_status"]["idstr"].as_string()
        clauses.append(
            and_(
                Message.account_id == post.account_id,
                Message.created_at >= post.sent_at - _SLACK,
                or_(
                    and_(
                        Message.kind.in_((ItemKind.COMMENT, ItemKind.COMMENT_MENTION)),
                        Message.thread_id == post.platform_id,
                    ),
                    and_(Message.kind == ItemKind.MENTION, reposted == post.platform_id),
                ),
            )
        )
    where = or_(*clauses)
    count = session.scalar(select(func.count()).select_from(Message).where(where)) or 0
    sight = phone_sight(session, who)
    latest = list(
        session.scalars(
            select(Message).where(where).order_by(Message.created_at.desc()).limit(LATEST_REACTIONS)
        )
    )
    reactions = [
        Reaction(
            message_id=m.id,
            kind="repost" if m.kind == ItemKind.MENTION else "comment",
            account=names.get(m.account_id, ""),
            author=m.author_name,
            text=sight.text(m.account_id, m.text),
            created_at=m.created_at,
            sentiment=m.sentiment_label,
            dropped=None if m.keep else m.drop_reason,
            request_id=m.request_id,
        )
        for m in latest
    ]
    caused = session.execute(
        select(ServiceRequest.id, ServiceRequest.state, ServiceRequest.priority)
        .where(
            ServiceRequest.id.in_(select(Message.request_id).where(where, Message.request_id.is_not(None)))
        )
        .order_by(ServiceRequest.id.desc())
        .limit(LATEST_REACTIONS)
    ).all()
    return reactions, count, [(i, str(s), str(p)) for i, s, p in caused]
