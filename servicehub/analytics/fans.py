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

from sqlalchemy import Date, Integer, column, func, select, true, values
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
from servicehub.analytics.clock import month_of, next_month
from servicehub.analytics.filters import Filters
from servicehub.core.db import is_postgres
from servicehub.core.models import (
    Account,
    Customer,
    CustomerIdentity,
    FanMonthly,
    FanMonthlyAll,
    FansDaily,
    Followed,
    Scope,
)
from servicehub.core.permissions import Principal, restrict

TOP_FANS = 20
TOP_LIST = 60  # fans read from each (account, month)'s top list before counting exactly
MAX_LISTS = 2000  # more (account, month) lists than this: count every fan instead


def visible_accounts(session: Session, who: Principal, filters: Filters) -> list[Account]:
    stmt = restrict(select(Account).order_by(Account.id), who, FUNCTION, Account)
    if filters.account_ids:
        stmt = stmt.where(Account.id.in_(filters.account_ids))
    return list(session.scalars(stmt))


def follower_lines(session: Session, who: Principal, filters: Filters) -> dict[int, list[int | None]]:
    """Per account: followers at the end of each bucket (the last count known by then)."""
    index = bucket_index(filters)
    known = (FansDaily.followers.is_not(None),)
    earlier = (
        select(FansDaily.account_id, func.max(FansDaily.day).label("day"))
        .where(FansDaily.day < filters.first, *known)
        .group_by(FansDaily.account_id)
        .subquery()
    )
    carried = session.execute(
        scoped(
            select(FansDaily.account_id, FansDaily.day, FansDaily.followers).join(
                earlier, (earlier.c.account_id == FansDaily.account_id) & (earlier.c.day == FansDaily.day)
            ),
            who,
            FansDaily,
            filters,
            teams=False,
        )
    ).all()
    inside = session.execute(
        scoped(
            select(FansDaily.account_id, FansDaily.day, FansDaily.followers).where(
                FansDaily.day >= filters.first, FansDaily.day <= filters.last, *known
            ),
            who,
            FansDaily,
            filters,
            teams=False,
        )
    ).all()
    last_in: dict[int, dict[int, tuple[date, int]]] = defaultdict(dict)  # account -> bucket -> (day, count)
    for account_id, day, followers in inside:
        at = place(filters, index, day)
        if at is not None and (at not in last_in[account_id] or last_in[account_id][at][0] < day):
            last_in[account_id][at] = (day, int(followers or 0))
    lines: dict[int, list[int | None]] = {}
    start = {account_id: followers for account_id, _, followers in carried}
    for account_id in sorted(set(start) | set(last_in)):
        value: int | None = start.get(account_id)
        line: list[int | None] = []
        for at in range(len(index)):
            if at in last_in[account_id]:
                value = last_in[account_id][at][1]
            line.append(value)
        lines[account_id] = line
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


def _ranked(
    session: Session, who: Principal, filters: Filters, measure: str, limit: int
) -> list[tuple[int, int, int, int]]:
    """(customer, measure, negative, positive) of the ``limit`` fans ranked by ``measure``
    (``interactions``: summed over the months and accounts; ``followers``: the largest seen),
    ties by customer id.

    On PostgreSQL the ranking first reads only each (account, month)'s top list -- each
    month's, over all accounts, for a viewer of every account -- an index range each (see
    :func:`_top_lists`), and counts exactly just the fans that can still make it; when those
    lists cannot prove the ranking, every fan of the period is counted.
    """
    ids: list[int] | None = None
    if is_postgres(session):
        ids = _shortlist(session, who, filters, measure, limit)
    return _counted(session, who, filters, measure, limit, ids)


def _table(who: Principal, filters: Filters) -> type[FanMonthly] | type[FanMonthlyAll]:
    """Per-account rows, or -- for a viewer of every account, unfiltered -- their sums."""
    everyone = who.scope(FUNCTION) is Scope.ALL and not filters.account_ids
    return FanMonthlyAll if everyone else FanMonthly


def _counted(
    session: Session, who: Principal, filters: Filters, measure: str, limit: int, ids: list[int] | None
) -> list[tuple[int, int, int, int]]:
    first, last = _months(filters)
    table = _table(who, filters)
    value = func.sum(table.interactions) if measure == "interactions" else func.max(table.followers)
    stmt = select(table.customer_id, value, func.sum(table.negative), func.sum(table.positive)).where(
        table.month >= first, table.month <= last
    )
    if ids is not None:
        stmt = stmt.where(table.customer_id.in_(ids))
    stmt = stmt.group_by(table.customer_id).order_by(value.desc(), table.customer_id).limit(limit)
    return [
        (int(c), int(v or 0), int(n), int(p))
        for c, v, n, p in session.execute(scoped(stmt, who, table, filters, teams=False))
    ]


def _shortlist(
    session: Session, who: Principal, filters: Filters, measure: str, limit: int
) -> list[int] | None:
    """The fans that can be among the top ``limit``, or None when the top lists cannot tell.

    By followers a fan's value is not summed, so the top of the union of the lists is the
    top overall. By interactions (Fagin's threshold algorithm) a fan counts at least what the
    lists show of it and at most that plus, for each full list it is missing from, that
    list's last value; a fan in no list at most the sum of those last values. Fans whose most
    cannot reach the ``limit``-th best least are dropped.
    """
    found = _top_lists(session, who, filters, measure, limit)
    if found is None:
        return None
    lists, depth = found
    seen: dict[int, dict[tuple[int, date], int]] = defaultdict(dict)
    floor: dict[tuple[int, date], int] = {}
    for key, entries in lists.items():
        for customer_id, value in entries:
            seen[customer_id][key] = value
        if len(entries) == depth:
            floor[key] = entries[-1][1]
    if measure == "followers":
        best = sorted(seen, key=lambda c: (-max(seen[c].values()), c))
        return best[:limit]
    unseen_most = sum(floor.values())
    least = {c: sum(v.values()) for c, v in seen.items()}
    most = {c: least[c] + unseen_most - sum(floor.get(k, 0) for k in seen[c]) for c in seen}
    ranked = sorted(least.values(), reverse=True)
    if len(ranked) < limit:
        return None if unseen_most > 0 else sorted(seen)
    threshold = ranked[limit - 1]
    if unseen_most >= threshold:
        return None
    return sorted(c for c in seen if most[c] >= threshold)


def _top_lists(
    session: Session, who: Principal, filters: Filters, measure: str, limit: int
) -> tuple[dict[tuple[int, date], list[tuple[int, int]]], int] | None:
    """Each (account, month)'s top fans by ``measure`` as [(customer, value)], best first."""
    first, last = _months(filters)
    table = _table(who, filters)
    accounts = [0] if table is FanMonthlyAll else [a.id for a in visible_accounts(session, who, filters)]
    months = [first, *_following_months(first, last)]
    if not accounts or len(accounts) * len(months) > MAX_LISTS:
        return None
    depth = max(TOP_LIST, 3 * limit)
    lists = values(column("account_id", Integer), column("month", Date), name="lists").data(
        [(a, m) for a in accounts for m in months]
    )
    column_ = table.interactions if measure == "interactions" else table.followers
    same_list = [table.month == lists.c.month]
    if table is FanMonthly:
        same_list.append(FanMonthly.account_id == lists.c.account_id)
    top = (
        restrict(select(table.customer_id, column_.label("v")), who, FUNCTION, table)
        .where(*same_list)
        .order_by(column_.desc(), table.customer_id)
        .limit(depth)
        .lateral("top")
    )
    rows = session.execute(
        select(lists.c.account_id, lists.c.month, top.c.customer_id, top.c.v).join_from(lists, top, true())
    ).all()
    found: dict[tuple[int, date], list[tuple[int, int]]] = defaultdict(list)
    for account_id, month, customer_id, value in rows:
        found[(int(account_id), month)].append((int(customer_id), int(value)))
    return found, depth


def _following_months(first: date, last: date) -> list[date]:
    found = []
    month = next_month(first)
    while month <= last:
        found.append(month)
        month = next_month(month)
    return found


def top_fans(
    session: Session, who: Principal, filters: Filters, limit: int = TOP_FANS
) -> list[dict[str, Any]]:
    """Fans with the most interactions in the months the period touches."""
    return _described(session, _ranked(session, who, filters, "interactions", limit), "interactions")


def influential_fans(
    session: Session, who: Principal, filters: Filters, limit: int = TOP_FANS
) -> list[dict[str, Any]]:
    """Fans active in the months the period touches, with the most followers of their own."""
    return _described(session, _ranked(session, who, filters, "followers", limit), "followers")


def _described(
    session: Session, found: list[tuple[int, int, int, int]], measure: str
) -> list[dict[str, Any]]:
    ids = [cid for cid, *_ in found]
    if not ids:
        return []
    names = {
        cid: str(name)
        for cid, name in session.execute(
            select(Customer.id, Customer.display_name).where(Customer.id.in_(ids))
        )
    }
    other = "followers" if measure == "interactions" else "interactions"
    others: dict[int, int] = {}
    if other == "followers":
        for cid, count in session.execute(
            select(CustomerIdentity.customer_id, func.max(CustomerIdentity.followers_count))
            .where(CustomerIdentity.customer_id.in_(ids))
            .group_by(CustomerIdentity.customer_id)
        ):
            others[cid] = int(count or 0)
    return [
        {
            "customer_id": cid,
            "name": names.get(cid, str(cid)),
            measure: value,
            other: others.get(cid, 0),
            "negative": neg,
            "positive": pos,
        }
        for cid, value, neg, pos in found
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
