"""发布分析: posts by period, hour, weekday, category, platform and account, with engagement.

Reads ``PostFact``: each sent post (``OutboundMessage`` of kind ``post``) with its latest
engagement snapshot (``engagement_snapshots``, filled by publishing's tracking). A post's
category is its publication's (``Category``), copied into the outbox row's ``target`` so the
rollup needs no join; it is shown through ``category.<code>``. The best hours are
those whose posts drew the most engagement (reposts + comments + likes) per post, among
hours with at least two posts. Posts belong to accounts: the team filter does not apply.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicehub.analytics.charts import (
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
from servicehub.analytics.filters import Filters
from servicehub.core.models import Account, PostFact
from servicehub.core.permissions import Principal

WEEKDAYS = tuple(f"analytics.weekday.{d}" for d in range(7))
BEST_HOURS = 3


@dataclass
class Tally:
    posts: int = 0
    reposts: int = 0
    comments: int = 0
    likes: int = 0

    def add(self, row: Any) -> None:
        """One post (or a group of them, when ``row`` carries ``posts``)."""
        self.posts += int(getattr(row, "posts", 1))
        self.reposts += int(row.reposts)
        self.comments += int(row.comments)
        self.likes += int(row.likes)

    @property
    def engagement(self) -> int:
        return self.reposts + self.comments + self.likes

    @property
    def per_post(self) -> float | None:
        return round(self.engagement / self.posts, 1) if self.posts else None


def tallies(session: Session, who: Principal, filters: Filters, *by: Any) -> list[tuple[Any, Tally]]:
    """Posts of the period grouped by the ``by`` columns, counted in the database."""
    stmt = (
        select(
            *by,
            func.count().label("posts"),
            func.sum(PostFact.reposts).label("reposts"),
            func.sum(PostFact.comments).label("comments"),
            func.sum(PostFact.likes).label("likes"),
        )
        .select_from(PostFact)
        .join(Account, Account.id == PostFact.account_id)
        .where(PostFact.day >= filters.first, PostFact.day <= filters.last)
        .group_by(*by)
    )
    found = []
    for row in session.execute(scoped(stmt, who, PostFact, filters, teams=False)):
        tally = Tally()
        tally.add(row)
        found.append((tuple(row)[: len(by)], tally))
    return found


def best_hours(by_hour: dict[int, Tally], top: int = BEST_HOURS) -> list[int]:
    ranked = sorted(
        (h for h, t in by_hour.items() if t.posts >= 2), key=lambda h: (-(by_hour[h].per_post or 0), h)
    )
    return ranked[:top]


def _engagement_series(tallies: list[Tally]) -> list[Series]:
    return [
        Series("analytics.col.reposts", [t.reposts for t in tallies], stack="engagement"),
        Series("analytics.col.comments", [t.comments for t in tallies], stack="engagement"),
        Series("analytics.col.likes", [t.likes for t in tallies], stack="engagement"),
        Series("analytics.col.posts", [t.posts for t in tallies], kind="line", axis=1),
    ]


def publishing(session: Session, who: Principal, filters: Filters) -> Dashboard:
    _, labels, ranges = timeline(filters)
    index = bucket_index(filters)
    per = [Tally() for _ in labels]
    for (day,), tally in tallies(session, who, filters, PostFact.day):
        at = place(filters, index, day)
        if at is not None:
            per[at].posts += tally.posts
            per[at].reposts += tally.reposts
            per[at].comments += tally.comments
            per[at].likes += tally.likes
    by_hour: dict[int, Tally] = defaultdict(Tally)
    by_hour.update({int(h): t for (h,), t in tallies(session, who, filters, PostFact.hour)})
    by_weekday: dict[int, Tally] = defaultdict(Tally)
    by_weekday.update({int(d): t for (d,), t in tallies(session, who, filters, PostFact.weekday)})
    by_category: dict[str, Tally] = defaultdict(Tally)
    by_category.update({str(c): t for (c,), t in tallies(session, who, filters, PostFact.category)})
    by_account: dict[tuple[str, str], Tally] = {
        (str(p), str(name)): t
        for (p, _, name), t in tallies(
            session, who, filters, PostFact.platform, PostFact.account_id, Account.display_name
        )
    }
    drill = {"dataset": "posts"}
    whole = [(filters.first, filters.last)]
    over_time = Chart(
        key="publishing-time",
        title="analytics.publishing.over_time",
        categories=labels,
        ranges=ranges,
        drill=drill,
        units=("count", "count"),
        series=_engagement_series(per),
    )
    hours = list(range(24))
    hour_tallies = [by_hour[h] for h in hours]
    by_hour_chart = Chart(
        key="publishing-hours",
        title="analytics.publishing.by_hour",
        categories=[f"{h:02d}:00" for h in hours],
        ranges=whole * 24,
        drill=drill,
        category_drill=[{"hour": str(h)} for h in hours],
        units=("count", "count"),
        series=[
            Series("analytics.col.posts", [t.posts for t in hour_tallies]),
            Series("analytics.col.per_post", [t.per_post for t in hour_tallies], kind="line", axis=1),
        ],
    )
    weekday_tallies = [by_weekday[d] for d in range(7)]
    by_weekday_chart = Chart(
        key="publishing-weekdays",
        title="analytics.publishing.by_weekday",
        categories=list(WEEKDAYS),
        category_keys=True,
        ranges=whole * 7,
        drill=drill,
        category_drill=[{"weekday": str(d)} for d in range(7)],
        units=("count", "count"),
        series=[
            Series("analytics.col.posts", [t.posts for t in weekday_tallies]),
            Series("analytics.col.per_post", [t.per_post for t in weekday_tallies], kind="line", axis=1),
        ],
    )
    categories = sorted(by_category, key=lambda c: (-by_category[c].posts, c))
    by_category_chart = Chart(
        key="publishing-categories",
        title="analytics.publishing.by_category",
        kind="pie",
        categories=[f"category.{c}" if c else "analytics.uncategorized" for c in categories],
        category_keys=True,
        ranges=whole * len(categories),
        drill=drill,
        category_drill=[{"category": c or "none"} for c in categories],
        series=[Series("analytics.col.posts", [by_category[c].posts for c in categories])],
    )
    accounts = sorted(by_account, key=lambda k: (-by_account[k].posts, k))
    table = Table(
        key="publishing-accounts",
        title="analytics.publishing.by_account",
        columns=[
            "analytics.col.platform",
            "analytics.col.account",
            "analytics.col.posts",
            "analytics.col.reposts",
            "analytics.col.comments",
            "analytics.col.likes",
            "analytics.col.per_post",
        ],
        rows=[
            [
                Cell(platform, platform=True),
                Cell(name),
                Cell(by_account[(platform, name)].posts),
                Cell(by_account[(platform, name)].reposts),
                Cell(by_account[(platform, name)].comments),
                Cell(by_account[(platform, name)].likes),
                Cell(by_account[(platform, name)].per_post),
            ]
            for platform, name in accounts
        ],
    )
    notes = ["analytics.note.no_team"] if filters.team_ids else []
    return Dashboard(
        "publishing",
        filters,
        [over_time, by_hour_chart, by_weekday_chart, by_category_chart],
        [table],
        notes=notes,
        extra={"best_hours": best_hours(by_hour)},
    )
