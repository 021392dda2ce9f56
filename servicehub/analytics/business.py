"""Durations in business hours: the part of a wait that fell inside an operator's shifts.

Shifts are stored on the user (``core.shifts``: days, start and end in China time, an end
before the start running past midnight). A request answered at 09:10 that arrived at 18:30
the evening before waited ten minutes of business time, not fourteen hours and forty. A
user without shifts works around the clock: the wall-clock duration counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from servicehub.core.shifts import SHIFT_ZONE

MAX_DAYS = 400  # longer waits count whole beyond this many days of shifts (never reached in practice)


def _clock(value: str) -> time:
    hours, _, minutes = str(value).partition(":")
    return time(int(hours), int(minutes or 0))


def _shift_intervals(
    shifts: Sequence[dict[str, Any]], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    local_start = start.astimezone(SHIFT_ZONE)
    first = local_start.date() - timedelta(days=1)  # an overnight shift of the day before
    last = end.astimezone(SHIFT_ZONE).date()
    if (last - first).days > MAX_DAYS:
        last = first + timedelta(days=MAX_DAYS)
    found = []
    day = first
    while day <= last:
        for shift in shifts:
            if day.weekday() not in set(shift.get("days", range(7))):
                continue
            opens, closes = _clock(shift["start"]), _clock(shift["end"])
            begin = datetime.combine(day, opens, tzinfo=SHIFT_ZONE)
            finish = datetime.combine(
                day if closes > opens else day + timedelta(days=1), closes, tzinfo=SHIFT_ZONE
            )
            found.append((max(begin, start), min(finish, end)))
        day += timedelta(days=1)
    return sorted((a, b) for a, b in found if a < b)


def working_seconds(shifts: Sequence[dict[str, Any]], start: datetime, end: datetime) -> float:
    """Seconds of ``[start, end)`` inside ``shifts`` (all of them when there are no shifts)."""
    if end <= start:
        return 0.0
    if not shifts:
        return (end - start).total_seconds()
    total = 0.0
    reach: datetime | None = None
    for begin, finish in _shift_intervals(shifts, start, end):
        if reach is not None and begin < reach:
            begin = reach
        if finish > begin:
            total += (finish - begin).total_seconds()
            reach = finish
    return total


def working_minutes(shifts: Sequence[dict[str, Any]], start: datetime, end: datetime) -> int:
    return int(working_seconds(shifts, start, end) // 60)
