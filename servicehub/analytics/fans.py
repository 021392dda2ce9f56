"""粉丝分析: followers over time, fans gained and lost, the top fans, the accounts we follow.

Follower counts come from the periodic snapshots (the platform's own figure); fans gained
and lost from follow / unfollow events where the platform pushes them, else from the
snapshots (newly listed fans, and the change in the count). Top fans are ranked over the
local months the period touches (fan activity is kept per month); influence is a fan's own
follower count as last seen. Fans belong to accounts, not teams: the team filter does not
apply here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicehub.adapters import registry
from servicehub.analytics.charts import (
    FUNCTION,
    Cell,
    Chart,
    Dashboard,
    Series,
    Table,
    bucket_index,
    place,
    scoped,
    timeline,
)
from servicehub.analytics.clock import month_of
from servicehub.analytics.filters import Filters
from servicehub.core.models import Account, Customer, CustomerIdentity, FanMonthly, FansDaily, Followed
from servicehub.core.permissions import Principal, restrict

TOP_FANS = 20


def visible_accounts(session: Session, who: Principal, filters: Filters) -> list[Account]:
    stmt = restrict(select(Account).order_by(Account.id), who, FUNCTION, Account)
    if filters.account_ids:
        stmt = stmt.where(Account.id.in_(filters.account_ids))
    return list(session.scalars(stmt))


def follower_lines(session: Session, who: Principal, filters: Filters) -> dict[int, list[int | None]]:
    """Per account: followers at the end of each bucket (the last count known by then)."""
    index = bucket_index(filters)
    rows = session.execute(
        scoped(
            select(FansDaily.account_id, FansDaily.day, FansDaily.followers)
            .where(FansDaily.day <= filters.last, FansDaily.followers.is_not(None))
            .order_by(FansDaily.account_id, FansDaily.day),
            who,
            FansDaily,
            filters,
            teams=False,
        )
    ).all()
    lines: dict[int, list[int | None]] = {}
    for account_id, day, followers in rows:
        line = lines.setdefault(account_id, [None] * len(index))
        at = 0 if day < filters.first else place(filters, index, day)
        if at is not None:
            for i in range(at, len(line)):
                line[i] = followers
    return lines


def gains(session: Session, who: Principal, filters: Filters) -> tuple[list[int], list[int]]:
    index = bucket_index(filters)
    gained, lost = [0] * len(index), [0] * len(index)
    for day, g, lo in session.execute(
        scoped(
            select(FansDaily.day, FansDaily.gained, FansDaily.lost).where(
                FansDaily.day >= filters.first, FansDaily.day <= filters.last
            ),
            who,
            FansDaily,
            filters,
            teams=False,
        )
    ):
        at = place(filters, index, day)
        if at is not None:
            gained[at] += g
            lost[at] += lo
    return gained, lost


def _months(filters: Filters) -> tuple[date, date]:
    return month_of(filters.first), month_of(filters.last)


def top_fans(
    session: Session, who: Principal, filters: Filters, limit: int = TOP_FANS
) -> list[dict[str, Any]]:
    """Fans with the most interactions in the months the period touches."""
    first, last = _months(filters)
    total = func.sum(FanMonthly.interactions)
    stmt = (
        select(FanMonthly.customer_id, total, func.sum(FanMonthly.negative), func.sum(FanMonthly.positive))
        .where(FanMonthly.month >= first, FanMonthly.month <= last)
        .group_by(FanMonthly.customer_id)
        .order_by(total.desc(), FanMonthly.customer_id)
        .limit(limit)
    )
    found = session.execute(scoped(stmt, who, FanMonthly, filters, teams=False)).all()
    return _described(session, [(cid, int(n), int(neg), int(pos)) for cid, n, neg, pos in found])


def influential_fans(
    session: Session, who: Principal, filters: Filters, limit: int = TOP_FANS
) -> list[dict[str, Any]]:
    """Fans active in the months the period touches, with the most followers of their own."""
    first, last = _months(filters)
    followers = func.max(CustomerIdentity.followers_count)
    stmt = (
        select(FanMonthly.customer_id, func.sum(FanMonthly.interactions), followers)
        .join(CustomerIdentity, CustomerIdentity.customer_id == FanMonthly.customer_id)
        .where(FanMonthly.month >= first, FanMonthly.month <= last)
        .group_by(FanMonthly.customer_id)
        .order_by(followers.desc(), FanMonthly.customer_id)
        .limit(limit)
    )
    found = session.execute(scoped(stmt, who, FanMonthly, filters, teams=False)).all()
    return _described(session, [(cid, int(n), 0, 0) for cid, n, _ in found])


def _described(session: Session, found: list[tuple[int, int, int, int]]) -> list[dict[str, Any]]:
    ids = [cid for cid, *_ in found]
    if not ids:
        return []
    names = dict(
        session.execute(select(Customer.id, Customer.display_name).where(Customer.id.in_(ids))).all()
    )
    followers: dict[int, int] = defaultdict(int)
    for cid, count in session.execute(
        select(CustomerIdentity.customer_id, CustomerIdentity.followers_count).where(
            CustomerIdentity.customer_id.in_(ids)
        )
    ):
        followers[cid] = max(followers[cid], int(count or 0))
    return [
        {
            "customer_id": cid,
            "name": names.get(cid, str(cid)),
            "interactions": n,
            "negative": neg,
            "positive": pos,
            "followers": followers[cid],
        }
        for cid, n, neg, pos in found
    ]


def followed_accounts(
    session: Session, who: Principal, filters: Filters
) -> list[tuple[str, str, int | None]]:
    rows = session.execute(
        scoped(
            select(Account.display_name, Followed.screen_name, Followed.followers_count)
            .join(Account, Account.id == Followed.account_id)
            .order_by(Account.id, Followed.followers_count.desc(), Followed.id),
            who,
            Followed,
            filters,
            teams=False,
        ).limit(500)
    ).all()
    return [(str(a), str(n), c) for a, n, c in rows]


def _fan_table(key: str, title: str, fans: list[dict[str, Any]], filters: Filters) -> Table:
    return Table(
        key=key,
        title=title,
        columns=["analytics.col.fan", "analytics.col.interactions", "analytics.col.followers"],
        rows=[
            [
                Cell(f["name"], customer_id=f["customer_id"]),
                Cell(
                    f["interactions"],
                    drill={
                        "dataset": "messages",
                        "customer": str(f["customer_id"]),
                        "from": month_of(filters.first).isoformat(),
                        "to": filters.last.isoformat(),
                    },
                ),
                Cell(f["followers"]),
            ]
            for f in fans
        ],
        note="analytics.fans.months_note",
    )


def fans(session: Session, who: Principal, filters: Filters) -> Dashboard:
    _, labels, ranges = timeline(filters)
    accounts = visible_accounts(session, who, filters)
    names = {a.id: a.display_name for a in accounts}
    lines = follower_lines(session, who, filters)
    followers = Chart(
        key="fans-followers",
        title="analytics.fans.followers",
        categories=labels,
        ranges=ranges,
        series=[
            Series(names.get(a, str(a)), line, kind="line", literal=True) for a, line in sorted(lines.items())
        ],
        note="analytics.fans.followers_note",
    )
    gained, lost = gains(session, who, filters)
    changes = Chart(
        key="fans-changes",
        title="analytics.fans.changes",
        categories=labels,
        ranges=ranges,
        drill={"dataset": "messages"},
        series=[
            Series("analytics.fans.gained", gained, drill={"interaction": "follow"}),
            Series("analytics.fans.lost", [-n for n in lost], drill={"interaction": "unfollow"}),
        ],
        note="analytics.fans.changes_note",
    )
    top = top_fans(session, who, filters)
    top_chart = Chart(
        key="fans-top",
        title="analytics.fans.top",
        kind="hbar",
        categories=[f["name"] for f in top],
        ranges=[(month_of(filters.first), filters.last)] * len(top),
        drill={"dataset": "messages"},
        category_drill=[{"customer": str(f["customer_id"])} for f in top],
        series=[Series("analytics.col.interactions", [f["interactions"] for f in top])],
    )
    influential = influential_fans(session, who, filters)
    influence_chart = Chart(
        key="fans-influence",
        title="analytics.fans.influence",
        kind="hbar",
        categories=[f["name"] for f in influential],
        ranges=[(month_of(filters.first), filters.last)] * len(influential),
        drill={"dataset": "messages"},
        category_drill=[{"customer": str(f["customer_id"])} for f in influential],
        series=[Series("analytics.col.followers", [f["followers"] for f in influential])],
    )
    followed = followed_accounts(session, who, filters)
    silent = sorted({a.platform for a in accounts if not registry.reads_following(a.platform)})
    following = Table(
        key="fans-following",
        title="analytics.fans.following",
        columns=["analytics.col.account", "analytics.col.followed", "analytics.col.followers"],
        rows=[[Cell(a), Cell(n), Cell(c)] for a, n, c in followed],
        note="analytics.fans.following_note" if silent else None,
    )
    notes = ["analytics.note.no_team"] if filters.team_ids else []
    return Dashboard(
        "fans",
        filters,
        [followers, changes, top_chart, influence_chart],
        [
            _fan_table("fans-top-table", "analytics.fans.top", top, filters),
            _fan_table("fans-influence-table", "analytics.fans.influence", influential, filters),
            following,
        ],
        notes=notes,
        extra={"silent_platforms": silent},
    )
