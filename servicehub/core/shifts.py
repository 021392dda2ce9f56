"""Working hours: when an operator is on shift (China time), and how shifts are typed in.

Stored on the user as JSON ``[{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}]``
(Monday = 0; an end before the start runs past midnight and belongs to the day it began);
typed in forms as ``1-5 09:00-18:00; 6 10:00-16:00`` (1 = Monday).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, time, timedelta, timezone
from typing import Any

from servicehub.core.errors import ActionError

SHIFT_ZONE = timezone(timedelta(hours=8))
_SHIFT_TEXT = re.compile(
    r"^\s*([1-7](?:-[1-7])?(?:,[1-7](?:-[1-7])?)*)\s+(\d{1,2}:\d{2})-(\d{1,2}:\d{2})\s*$"
)


class ShiftError(ActionError):
    """A shift that cannot be read; ``text`` is the part that could not."""

    def __init__(self, text: str) -> None:
        super().__init__("bad_shift", f"expected e.g. '1-5 09:00-18:00', got {text!r}", text=text)


def _clock(value: str) -> time:
    hours, _, minutes = value.partition(":")
    try:
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise ShiftError(value) from exc


def on_shift(shifts: Sequence[dict[str, Any]], now: datetime) -> bool:
    """Is ``now`` inside one of ``shifts``? An empty list means always."""
    if not shifts:
        return True
    local = now.astimezone(SHIFT_ZONE)
    for shift in shifts:
        start, end = _clock(shift["start"]), _clock(shift["end"])
        days = set(shift.get("days", range(7)))
        at = local.time()
        if start <= end:
            if local.weekday() in days and start <= at < end:
                return True
        elif (local.weekday() in days and at >= start) or ((local.weekday() - 1) % 7 in days and at < end):
            return True  # an overnight shift belongs to the day it started
    return False


def parse_shifts(text: str) -> list[dict[str, Any]]:
    """``"1-5 09:00-18:00; 6 10:00-16:00"`` (1 = Monday) -> the stored JSON form."""
    shifts: list[dict[str, Any]] = []
    for part in filter(None, (p.strip() for p in text.replace("；", ";").split(";"))):
        found = _SHIFT_TEXT.match(part)
        if found is None:
            raise ShiftError(part)
        days: set[int] = set()
        for chunk in found.group(1).split(","):
            first, _, last = chunk.partition("-")
            days.update(range(int(first) - 1, int(last or first)))
        start, end = _clock(found.group(2)), _clock(found.group(3))
        shifts.append({"days": sorted(days), "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")})
    return shifts


def format_shifts(shifts: Sequence[dict[str, Any]]) -> str:
    parts = []
    for shift in shifts:
        days = ",".join(str(d + 1) for d in shift.get("days", range(7)))
        parts.append(f"{days} {shift['start']}-{shift['end']}")
    return "; ".join(parts)
