"""Builders for filter inputs, so each test states only what it is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from servicehub.filters.verdict import FilterInput, RecentText

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def msg(
    text: str,
    *,
    pid: str = "m1",
    author: str = "u1",
    account: str = "acc1",
    minutes: float = 0.0,
    kind: str = "mention",
) -> FilterInput:
    """A Weibo message ``minutes`` after :data:`T0`."""
    return FilterInput(
        platform="weibo",
        kind=kind,
        platform_id=pid,
        account_uid=account,
        author_uid=author,
        text=text,
        created_at=T0 + timedelta(minutes=minutes),
    )


def earlier(text: str, *, pid: str, minutes: float) -> RecentText:
    """A stored message of the same author ``minutes`` after :data:`T0` (negative: before)."""
    return RecentText(platform_id=pid, text=text, created_at=T0 + timedelta(minutes=minutes))
