"""What a dashboard shows: a period of local days, a bucket size, accounts and teams.

Parsed from a page's query string (``period=30d`` or ``from=2026-01-01&to=2026-01-31``,
``grain=week``, ``account=3&account=5``, ``team=2``); anything unusable falls back to the
default (the last 30 days by day, every visible account and team) rather than failing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from urllib.parse import urlencode

from servicehub.analytics.clock import Grain, month_of, next_month

PRESETS = ("7d", "30d", "90d", "this_month", "last_month", "12m", "custom")
LONGEST_DAYS = 3 * 366


@dataclass(frozen=True)
class Filters:
    first: date
    last: date
    grain: Grain = Grain.DAY
    account_ids: tuple[int, ...] = ()  # empty: every account the viewer may see
    team_ids: tuple[int, ...] = ()  # empty: every team (and none)
    preset: str = "30d"

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Filters:
        """The period of the same length just before this one (for comparisons)."""
        return replace(
            self, first=self.first - timedelta(days=self.days), last=self.first - timedelta(days=1)
        )

    def params(self, **extra: str | int | None) -> list[tuple[str, str]]:
        """These filters as query parameters (plus ``extra``), for links that keep them."""
        pairs = [("from", self.first.isoformat()), ("to", self.last.isoformat()), ("grain", self.grain.value)]
        pairs += [("account", str(a)) for a in self.account_ids]
        pairs += [("team", str(t)) for t in self.team_ids]
        pairs += [(k, str(v)) for k, v in extra.items() if v not in (None, "")]
        return pairs

    def query(self, **extra: str | int | None) -> str:
        return urlencode(self.params(**extra))


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _ids(values: Sequence[str]) -> tuple[int, ...]:
    return tuple(sorted({int(v) for v in values if v.isdigit() and len(v) < 10}))


def preset_span(preset: str, today: date) -> tuple[date, date, Grain]:
    if preset == "7d":
        return today - timedelta(days=6), today, Grain.DAY
    if preset == "90d":
        return today - timedelta(days=89), today, Grain.WEEK
    if preset == "this_month":
        return month_of(today), today, Grain.DAY
    if preset == "last_month":
        first = month_of(month_of(today) - timedelta(days=1))
        return first, next_month(first) - timedelta(days=1), Grain.DAY
    if preset == "12m":
        first = month_of(today).replace(year=month_of(today).year - 1)
        return next_month(first), today, Grain.MONTH
    return today - timedelta(days=29), today, Grain.DAY


def parse(
    values: Mapping[str, str], lists: Mapping[str, Sequence[str]], today: date, default: str = "30d"
) -> Filters:
    """Filters from a query string (``values`` single values, ``lists`` repeated keys)."""
    preset = values.get("period", "") if values.get("period") in PRESETS else ""
    first, last = _day(values.get("from")), _day(values.get("to"))
    if preset and preset != "custom":
        first, last, grain = preset_span(preset, today)
    elif first is not None and last is not None and first <= last:
        preset, grain = "custom", Grain.DAY
    else:
        preset = default
        first, last, grain = preset_span(default, today)
    if values.get("grain") in {g.value for g in Grain}:
        grain = Grain(values["grain"])
    if (last - first).days > LONGEST_DAYS:
        first = last - timedelta(days=LONGEST_DAYS)
    return Filters(
        first=first,
        last=last,
        grain=grain,
        account_ids=_ids(lists.get("account", ())),
        team_ids=_ids(lists.get("team", ())),
        preset=preset,
    )
