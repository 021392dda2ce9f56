"""趋势分析: interactions with fans by kind, their sentiment, and what they talk about.

Counts are of kept messages (what the filters dropped -- spam, empty, follow events -- is
on the service page by reason). Keywords are those of the period against the period of the
same length just before it.
"""

from __future__ import annotations

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
from servicehub.analytics.interactions import INTERACTIONS, SENTIMENTS
from servicehub.core.models import KeywordDaily, MessageDaily
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
    total = func.sum(KeywordDaily.messages)
    stmt = (
        select(KeywordDaily.keyword, total)
        .where(KeywordDaily.day >= filters.first, KeywordDaily.day <= filters.last)
        .group_by(KeywordDaily.keyword)
        .order_by(total.desc(), KeywordDaily.keyword)
        .limit(limit)
    )
    current = [(str(w), int(n)) for w, n in session.execute(scoped(stmt, who, KeywordDaily, filters))]
    if not current:
        return []
    before = filters.previous()
    earlier = dict(
        session.execute(
            scoped(
                select(KeywordDaily.keyword, func.sum(KeywordDaily.messages))
                .where(
                    KeywordDaily.day >= before.first,
                    KeywordDaily.day <= before.last,
                    KeywordDaily.keyword.in_([w for w, _ in current]),
                )
                .group_by(KeywordDaily.keyword),
                who,
                KeywordDaily,
                filters,
            )
        ).all()
    )
    return [(w, n, int(earlier.get(w, 0))) for w, n in current]


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
