"""Local days, weeks and months in the analytics time zone, and the periods charts cover.

Every figure is bucketed by the calendar of ``[analytics] timezone`` (Asia/Shanghai by
default): a message sent at 2026-01-31T16:30Z is on 1 February in Shanghai. The database
keeps UTC; a local day is turned into its UTC bounds here, and SQL that must name the day
of each row adds a UTC offset that is constant over the whole span it reads
(:func:`constant_offsets` splits a span at daylight-saving changes, should the zone have any).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


class Grain(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@lru_cache(maxsize=8)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class Calendar:
    """Local calendar arithmetic in one time zone."""

    tz: ZoneInfo

    @classmethod
    def named(cls, name: str) -> Calendar:
        return cls(zone(name))

    def day_of(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def start_of(self, day: date) -> datetime:
        """The UTC instant the local ``day`` begins."""
        return datetime.combine(day, time(0), tzinfo=self.tz).astimezone(UTC)

    def span(self, first: date, last: date) -> tuple[datetime, datetime]:
        """UTC ``[start, end)`` of the local days ``first`` .. ``last`` inclusive."""
        return self.start_of(first), self.start_of(last + timedelta(days=1))

    def offset_at(self, moment: datetime) -> timedelta:
        found = moment.astimezone(self.tz).utcoffset()
        return found if found is not None else timedelta(0)

    def constant_offsets(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime, timedelta]]:
        """``[start, end)`` cut where the zone's UTC offset changes: (from, to, offset) pieces."""
        pieces: list[tuple[datetime, datetime, timedelta]] = []
        cursor = start
        while cursor < end:
            offset = self.offset_at(cursor)
            step = cursor
            # Walk a day at a time while the offset holds, then narrow down to the minute.
            while step < end and self.offset_at(min(step + timedelta(days=1), end)) == offset:
                step = min(step + timedelta(days=1), end)
            if step < end:
                low, high = step, min(step + timedelta(days=1), end)
                while high - low > timedelta(minutes=1):
                    middle = low + (high - low) / 2
                    if self.offset_at(middle) == offset:
                        low = middle
                    else:
                        high = middle
                step = high.replace(second=0, microsecond=0)
                if step <= cursor:
                    step = high
            pieces.append((cursor, min(step, end), offset))
            cursor = min(step, end)
        return pieces


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def bucket_of(day: date, grain: Grain) -> date:
    if grain is Grain.MONTH:
        return month_of(day)
    if grain is Grain.WEEK:
        return week_of(day)
    return day


def days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def buckets(first: date, last: date, grain: Grain) -> list[date]:
    """Every bucket start from the one holding ``first`` to the one holding ``last``."""
    found: list[date] = []
    for day in days(first, last):
        start = bucket_of(day, grain)
        if not found or found[-1] != start:
            found.append(start)
    return found


def label(bucket: date, grain: Grain) -> str:
    """How a bucket reads on a chart axis: 2026-02-03, 2026-02-02 周 (a week), 2026-02."""
    if grain is Grain.MONTH:
        return bucket.strftime("%Y-%m")
    return bucket.isoformat()


def months(first: date, last: date) -> list[date]:
    return buckets(first, last, Grain.MONTH)


def split_months(first: date, last: date) -> tuple[list[date], list[tuple[date, date]]]:
    """``first`` .. ``last`` as the whole months inside it and the (one or two) day ranges left."""
    whole: list[date] = []
    month = month_of(first) if first.day == 1 else next_month(first)
    while next_month(month) - timedelta(days=1) <= last:
        whole.append(month)
        month = next_month(month)
    if not whole:
        return [], [(first, last)]
    ranges = []
    if first < whole[0]:
        ranges.append((first, whole[0] - timedelta(days=1)))
    end = next_month(whole[-1])
    if end <= last:
        ranges.append((end, last))
    return whole, ranges


def runs(sorted_days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days grouped into (first, last) runs."""
    found: list[tuple[date, date]] = []
    for day in sorted_days:
        if found and found[-1][1] + timedelta(days=1) == day:
            found[-1] = (found[-1][0], day)
        else:
            found.append((day, day))
    return found
