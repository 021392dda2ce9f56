"""趋势分析: interactions with fans by kind, their sentiment, and what they talk about.

Counts are of kept messages (what the filters dropped -- spam, empty, follow events -- is
on the service page by reason). Keywords are those of the period against the period of the
same length just before it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select, union_all
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
from servicehub.analytics.clock import split_months
from servicehub.analytics.filters import Filters
from servicehub.analytics.interactions import INTERACTIONS, SENTIMENTS
from servicehub.analytics.rollup import ALL_TEAMS
from servicehub.core.models import KeywordDaily, KeywordMonthly, MessageDaily
from servicehub.core.permissions import Principal

TOP_KEYWORDS = 20


def interaction_counts(
    session: Session, who: Principal, filters: Filters
) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Per bucket: kept interactions by kind, and by sentiment ("" = not scored)."""
    index = bucket_index(filters)
    n = len(index)
    by_kind = {k: [0] * n for k in INTERACTIONS}
    by_sentiment = {s: [0] * n for s in (*SENTIMENTS, "")}
    stmt = (
        select(
            MessageDaily.day,
            MessageDaily.interaction,
            MessageDaily.sentiment,
            func.sum(MessageDaily.messages),
        )
        .where(
            MessageDaily.day >= filters.first,
            MessageDaily.day <= filters.last,
            MessageDaily.drop_reason == "",
            MessageDaily.interaction.in_(INTERACTIONS),
        )
        .group_by(MessageDaily.day, MessageDaily.interaction, MessageDaily.sentiment)
    )
    for day, kind, sentiment, count in session.execute(scoped(stmt, who, MessageDaily, filters)):
        at = place(filters, index, day)
        if at is None:
            continue
        by_kind[kind][at] += int(count)
        by_sentiment[sentiment if sentiment in by_sentiment else ""][at] += int(count)
    return by_kind, by_sentiment


def top_keywords(
    session: Session, who: Principal, filters: Filters, limit: int = TOP_KEYWORDS
) -> list[tuple[str, int, int]]:
    """(keyword, messages this period, messages the period before), most frequent first."""
    current = keyword_counts(session, who, filters, limit=limit)
    if not current:
        return []
    earlier = dict(keyword_counts(session, who, filters.previous(), words=[w for w, _ in current]))
    return [(w, n, int(earlier.get(w, 0))) for w, n in current]


def keyword_counts(
    session: Session,
    who: Principal,
    filters: Filters,
    *,
    limit: int | None = None,
    words: list[str] | None = None,
) -> list[tuple[str, int]]:
    """Messages per keyword in the period (whole months read from ``KeywordMonthly``), most first."""
    months, ranges = split_months(filters.first, filters.last)
    parts = []
    picks: list[tuple[Any, Any]] = []
    if ranges:
        days = or_(*(and_(KeywordDaily.day >= first, KeywordDaily.day <= last) for first, last in ranges))
        picks.append((KeywordDaily, days))
    if months:
        picks.append((KeywordMonthly, KeywordMonthly.month.in_(months)))
    for model, picked in picks:
        stmt = select(model.keyword.label("keyword"), model.messages.label("messages")).where(picked)
        if not filters.team_ids:
            stmt = stmt.where(model.team_id == ALL_TEAMS)
        if words is not None:
            stmt = stmt.where(model.keyword.in_(words))
        parts.append(scoped(stmt, who, model, filters))
    if not parts:
        return []
    both = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    total = func.sum(both.c.messages)
    stmt = select(both.c.keyword, total).group_by(both.c.keyword).order_by(total.desc(), both.c.keyword)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(str(w), int(n)) for w, n in session.execute(stmt)]


def trends(session: Session, who: Principal, filters: Filters) -> Dashboard:
    _, labels, ranges = timeline(filters)
    by_kind, by_sentiment = interaction_counts(session, who, filters)
    drill = {"dataset": "messages", "kept": "1"}
    kinds = Chart(
        key="trends-interactions",
        title="analytics.trends.interactions",
        categories=labels,
        ranges=ranges,
        drill=drill,
        series=[
            Series(f"analytics.interaction.{k}", list(by_kind[k]), stack="all", drill={"interaction": k})
            for k in INTERACTIONS
        ],
    )
    feelings = [s for s in (*SENTIMENTS, "") if s or any(by_sentiment[""])]
    sentiment = Chart(
        key="trends-sentiment",
        title="analytics.trends.sentiment",
        categories=labels,
        ranges=ranges,
        drill=drill,
        series=[
            Series(
                f"analytics.sentiment.{s or 'none'}",
                list(by_sentiment[s]),
                stack="all",
                drill={"sentiment": s or "none"},
            )
            for s in feelings
        ],
    )
    words = top_keywords(session, who, filters)
    keyword_chart = Chart(
        key="trends-keywords",
        title="analytics.trends.keywords",
        kind="hbar",
        categories=[w for w, _, _ in words],
        ranges=[(filters.first, filters.last)] * len(words),
        drill=drill,
        category_drill=[{"keyword": w} for w, _, _ in words],
        series=[
            Series("analytics.period.current", [n for _, n, _ in words]),
            Series("analytics.period.previous", [p for _, _, p in words]),
        ],
        note="analytics.trends.keywords_note",
    )
    table = Table(
        key="trends-keywords-table",
        title="analytics.trends.keywords",
        columns=[
            "analytics.col.keyword",
            "analytics.period.current",
            "analytics.period.previous",
            "analytics.col.change",
        ],
        rows=[
            [
                Cell(
                    w,
                    drill={
                        **drill,
                        "keyword": w,
                        "from": filters.first.isoformat(),
                        "to": filters.last.isoformat(),
                    },
                ),
                Cell(n),
                Cell(p),
                Cell(f"{(n - p) * 100 // p:+d}%" if p else "analytics.change.new", literal=bool(p)),
            ]
            for w, n, p in words
        ],
    )
    return Dashboard("trends", filters, [kinds, sentiment, keyword_chart], [table])
