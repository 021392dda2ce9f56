"""Simulated time, Weibo date strings and time-ordered int64 ids.

All simulator time comes from one :class:`SimClock` so tests can jump forward (token
expiry, the 48 h fans-service window, hourly quota resets) without sleeping. Ids grow
with that clock, which is what makes ``since_id``/``max_id`` paging meaningful.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

ID_BASE = 4_900_000_000_000_000  # ~ the size of 2023 Weibo ids
ID_EPOCH_MS = 1_704_038_400_000  # 2024-01-01 00:00 +0800
ID_PER_MS = 1000  # room for 1000 ids per millisecond before ids run ahead of the clock
MAX_SAFE_ID = 2**53 - 1  # ids must survive a JavaScript / float round trip


def weibo_date(ts: float) -> str:
    """``Tue May 31 17:46:55 +0800 2011`` -- English names regardless of the process locale."""
    d = datetime.fromtimestamp(ts, CST)
    return f"{_WEEKDAYS[d.weekday()]} {_MONTHS[d.month - 1]} {d.day:02d} {d:%H:%M:%S} +0800 {d.year}"


def local_time(ts: float) -> str:
    """``2011-06-03 18:00:00`` in +0800, the format of rate_limit_status ``reset_time``."""
    return datetime.fromtimestamp(ts, CST).strftime("%Y-%m-%d %H:%M:%S")


def hour_bucket(ts: float) -> int:
    """Quota window number. +0800 is a whole-hour offset, so UTC hours line up with local ones."""
    return int(ts // 3600)


def next_hour(ts: float) -> float:
    return float((hour_bucket(ts) + 1) * 3600)


class SimClock:
    """Wall-clock time plus a forward-only offset that ``/_sim/clock`` can grow."""

    def __init__(self, base: Callable[[], float] = time.time) -> None:
        self._base = base
        self._offset = 0.0

    def now(self) -> float:
        return self._base() + self._offset

    @property
    def offset(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        self._offset += seconds


class IdGenerator:
    """Monotonic ids of ~16 digits derived from the time they are made, always < 2**53."""

    def __init__(self) -> None:
        self._last = ID_BASE
        self._lock = threading.Lock()

    def next_id(self, ts: float) -> int:
        candidate = ID_BASE + max(0, int(ts * 1000) - ID_EPOCH_MS) * ID_PER_MS
        with self._lock:
            value = max(candidate, self._last + 1)
            if value > MAX_SAFE_ID:
                raise OverflowError("simulated id space exhausted (clock advanced too far)")
            self._last = value
            return value

    def id_at(self, ts: float, taken: Mapping[int, object]) -> int:
        """An id for a record made at ``ts`` in the past (a backlog), below every id made
        since and unused in ``taken``: ids stay in time order, which paging relies on."""
        value = ID_BASE + max(0, int(ts * 1000) - ID_EPOCH_MS) * ID_PER_MS
        with self._lock:
            if value >= self._last:
                raise ValueError("a backdated record must be older than the newest one")
            while value in taken:
                value += 1
            return value
