"""The 48-hour window helper callers check before queuing a reply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from servicehub.adapters.wechat import reply_window_closes_at, within_reply_window

LAST = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_inside_and_outside_the_window() -> None:
    assert within_reply_window(LAST, LAST + timedelta(hours=47, minutes=59))
    assert not within_reply_window(LAST, LAST + timedelta(hours=48))
    assert not within_reply_window(LAST, LAST + timedelta(days=3))


def test_margin_keeps_room_for_queueing_delay() -> None:
    now = LAST + timedelta(hours=47, minutes=50)
    assert within_reply_window(LAST, now)
    assert not within_reply_window(LAST, now, margin=timedelta(minutes=10))


def test_never_heard_from_is_outside() -> None:
    assert not within_reply_window(None, LAST)


def test_window_close_time() -> None:
    assert reply_window_closes_at(LAST) == datetime(2024, 5, 3, 12, 0, tzinfo=UTC)
