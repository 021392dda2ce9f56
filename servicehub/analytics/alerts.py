"""Spikes: a sudden rise in negative messages, or in one keyword, on an account.

A day (today or yesterday, local) is a spike when it holds at least ``spike_min_count``
messages of the kind and at least ``spike_factor`` times the mean of the
``spike_baseline_days`` days before it. Alerts are computed from the rollups when asked (no
table of their own), through ``restrict`` like every figure: a partner is alerted about its
own accounts only. Each alert carries the drill-down to its messages and the first few of
them (masked as on screen).

The managers' home page shows them with::

    alerts = active_alerts(session, who)
    {% include "analytics/_alerts.html" %}   {# reads ``alerts`` and ``t`` #}
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicehub.analytics.charts import FUNCTION, Cell
from servicehub.analytics.clock import Calendar
from servicehub.analytics.filters import Filters
from servicehub.analytics.interactions import INTERACTIONS
from servicehub.analytics.rollup import ALL_TEAMS
from servicehub.analytics.rows import page
from servicehub.core.db import utcnow
from servicehub.core.models import Account, KeywordDaily, MessageDaily
from servicehub.core.permissions import Principal, restrict
from servicehub.core.settings import AnalyticsSettings

MAX_ALERTS = 10
KEYWORDS_PER_ACCOUNT = 3  # one outage lifts several words at once; the strongest three say enough
SAMPLES = 3


@dataclass(frozen=True)
class Alert:
    kind: str  # negative | keyword
    account_id: int
    account: str
    day: date
    count: int
    usual: float
    keyword: str | None = None
    samples: list[list[Cell]] = field(default_factory=list)

    @property
    def drill(self) -> dict[str, str]:
        params = {
            "dataset": "messages",
            "kept": "1",
            "account": str(self.account_id),
            "from": self.day.isoformat(),
            "to": self.day.isoformat(),
        }
        if self.kind == "negative":
            params["sentiment"] = "negative"
        elif self.keyword:
            params["keyword"] = self.keyword
        return params

    @property
    def ratio(self) -> float:
        return self.count / self.usual if self.usual else float(self.count)


def _spikes(
    counts: dict[date, int], days: list[date], cfg: AnalyticsSettings
) -> list[tuple[date, int, float]]:
    found = []
    for day in days:
        n = counts.get(day, 0)
        before = sum(counts.get(day - timedelta(days=i), 0) for i in range(1, cfg.spike_baseline_days + 1))
        usual = before / cfg.spike_baseline_days
        if n >= cfg.spike_min_count and n >= cfg.spike_factor * usual:
            found.append((day, n, round(usual, 1)))
    return found[-1:]  # the latest spiking day


def active_alerts(
    session: Session,
    who: Principal,
    now: datetime | None = None,
    settings: AnalyticsSettings | None = None,
    *,
    samples: bool = True,
) -> list[Alert]:
    """The spikes of today and yesterday on the accounts ``who`` may see, biggest rise first."""
    if not who.can(FUNCTION):
        return []
    if settings is None:
        from servicehub.core.runtime import get_runtime

        settings = get_runtime().settings.analytics
    cal = Calendar.named(settings.timezone)
    today = cal.day_of(now or utcnow())
    days = [today - timedelta(days=1), today]
    first = days[0] - timedelta(days=settings.spike_baseline_days)
    names = dict(
        session.execute(restrict(select(Account.id, Account.display_name), who, FUNCTION, Account)).all()
    )
    negative: dict[int, dict[date, int]] = defaultdict(dict)
    stmt = (
        select(MessageDaily.account_id, MessageDaily.day, func.sum(MessageDaily.messages))
        .where(
            MessageDaily.day >= first,
            MessageDaily.day <= today,
            MessageDaily.sentiment == "negative",
            MessageDaily.drop_reason == "",
            MessageDaily.interaction.in_(INTERACTIONS),
        )
        .group_by(MessageDaily.account_id, MessageDaily.day)
    )
    for account_id, day, n in session.execute(restrict(stmt, who, FUNCTION, MessageDaily)):
        negative[account_id][day] = int(n)
    alerts = [
        Alert("negative", account_id, names.get(account_id, ""), day, n, usual)
        for account_id, counts in negative.items()
        for day, n, usual in _spikes(counts, days, settings)
    ]
    recent = (
        select(KeywordDaily.account_id, KeywordDaily.keyword)
        .where(KeywordDaily.day >= days[0], KeywordDaily.team_id == ALL_TEAMS)
        .group_by(KeywordDaily.account_id, KeywordDaily.keyword)
        .having(func.sum(KeywordDaily.messages) >= settings.spike_min_count)
    )
    candidates = session.execute(restrict(recent, who, FUNCTION, KeywordDaily)).all()
    if candidates:
        words: dict[tuple[int, str], dict[date, int]] = defaultdict(lambda: defaultdict(int))
        wanted = sorted({w for _, w in candidates})
        by_word = (
            select(
                KeywordDaily.account_id,
                KeywordDaily.keyword,
                KeywordDaily.day,
                func.sum(KeywordDaily.messages),
            )
            .where(
                KeywordDaily.day >= first,
                KeywordDaily.day <= today,
                KeywordDaily.team_id == ALL_TEAMS,
                KeywordDaily.keyword.in_(wanted),
            )
            .group_by(KeywordDaily.account_id, KeywordDaily.keyword, KeywordDaily.day)
        )
        for account_id, word, day, n in session.execute(restrict(by_word, who, FUNCTION, KeywordDaily)):
            words[(account_id, word)][day] += int(n)
        rising: dict[int, list[Alert]] = defaultdict(list)
        for (account_id, word), counts in words.items():
            for day, n, usual in _spikes(counts, days, settings):
                rising[account_id].append(
                    Alert("keyword", account_id, names.get(account_id, ""), day, n, usual, word)
                )
        for found in rising.values():
            found.sort(key=lambda a: (-a.ratio, -a.count, a.keyword or ""))
            alerts += found[:KEYWORDS_PER_ACCOUNT]
    alerts.sort(key=lambda a: (a.kind != "negative", -a.ratio, -a.count, a.account_id, a.keyword or ""))
    alerts = alerts[:MAX_ALERTS]
    if samples:
        alerts = [_with_samples(session, who, cal, a) for a in alerts]
    return alerts


def _with_samples(session: Session, who: Principal, cal: Calendar, alert: Alert) -> Alert:
    filters = Filters(first=alert.day, last=alert.day, account_ids=(alert.account_id,))
    found = page(session, who, cal, "messages", filters, alert.drill, size=SAMPLES)
    return Alert(
        alert.kind,
        alert.account_id,
        alert.account,
        alert.day,
        alert.count,
        alert.usual,
        alert.keyword,
        found.rows,
    )
