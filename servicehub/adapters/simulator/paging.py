"""Weibo's two paging schemes, in one place so every list endpoint behaves the same.

Timelines (statuses, comments, DMs): newest first; ``since_id`` keeps ids strictly
greater, ``max_id`` keeps ids less than *or equal*; then 1-based ``page`` of ``count``
(clamped silently to the endpoint's maximum). User lists use an offset ``cursor`` whose
``next_cursor`` is 0 at the end.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from servicehub.adapters.simulator.api_errors import invalid

T = TypeVar("T")


def int_param(params: Mapping[str, str], name: str, default: int) -> int:
    """An integer parameter; absent or empty gives ``default``, garbage gives 10017."""
    raw = params.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise invalid(name, "int64", raw) from None


@dataclass(frozen=True, slots=True)
class PageRequest:
    since_id: int
    max_id: int
    count: int
    page: int

    @classmethod
    def from_params(cls, params: Mapping[str, str], default_count: int, max_count: int) -> PageRequest:
        count = int_param(params, "count", default_count)
        count = default_count if count <= 0 else min(count, max_count)
        return cls(
            since_id=max(0, int_param(params, "since_id", 0)),
            max_id=max(0, int_param(params, "max_id", 0)),
            count=count,
            page=max(1, int_param(params, "page", 1)),
        )


@dataclass(frozen=True, slots=True)
class Page:
    ids: list[int]  # newest first
    total: int  # items inside the since/max window
    next_cursor: int  # id of the next older item after this page, 0 at the end


def page_ids(ascending: Sequence[int], req: PageRequest, keep: Callable[[int], bool] | None = None) -> Page:
    """Cut one page out of an ascending id list."""
    lo = bisect_right(ascending, req.since_id) if req.since_id else 0
    hi = bisect_right(ascending, req.max_id) if req.max_id else len(ascending)
    window: Sequence[int] = ascending[lo:hi]
    if keep is not None:
        window = [item for item in window if keep(item)]
    total = len(window)
    start = total - (req.page - 1) * req.count  # exclusive upper index of this page
    if start <= 0:
        return Page([], total, 0)
    stop = max(0, start - req.count)
    ids = list(reversed(window[stop:start]))
    return Page(ids, total, window[stop - 1] if stop > 0 else 0)


def envelope(key: str, items: list[Any], page: Page) -> dict[str, Any]:
    return {
        key: items,
        "hasvisible": False,
        "previous_cursor": 0,
        "next_cursor": page.next_cursor,
        "total_number": page.total,
        "interval": 0,
    }


@dataclass(frozen=True, slots=True)
class CursorPage(Generic[T]):
    items: list[T]
    next_cursor: int
    previous_cursor: int
    total: int


def cursor_page(
    items: Sequence[T], params: Mapping[str, str], default_count: int, max_count: int
) -> CursorPage[T]:
    """Offset paging for user lists: ``cursor`` is where to start, ``next_cursor`` 0 = end."""
    count = int_param(params, "count", default_count)
    count = default_count if count <= 0 else min(count, max_count)
    cursor = max(0, int_param(params, "cursor", 0))
    chunk = list(items[cursor : cursor + count])
    end = cursor + len(chunk)
    return CursorPage(chunk, end if end < len(items) else 0, max(0, cursor - count), len(items))
