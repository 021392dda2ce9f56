"""Calendar, business hours, histograms, filters and keyword extraction, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from servicehub.adapters import registry
from servicehub.analytics import histogram
from servicehub.analytics.business import working_minutes
from servicehub.analytics.clock import Calendar, Grain, buckets, split_months
from servicehub.analytics.filters import parse
from servicehub.analytics.terms import terms

OFFICE = [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}]
NIGHT = [{"days": [4], "start": "22:00", "end": "06:00"}]  # Friday night into Saturday


def cn(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """China wall clock -> UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def test_days_are_local_in_shanghai() -> None:
    shanghai = Calendar.named("Asia/Shanghai")
    assert shanghai.day_of(datetime(2026, 1, 31, 16, 30, tzinfo=UTC)) == date(2026, 2, 1)
    assert shanghai.day_of(datetime(2026, 1, 31, 15, 59, tzinfo=UTC)) == date(2026, 1, 31)
    assert shanghai.span(date(2026, 2, 1), date(2026, 2, 1)) == (
        datetime(2026, 1, 31, 16, tzinfo=UTC),
        datetime(2026, 2, 1, 16, tzinfo=UTC),
    )


def test_a_span_is_cut_where_daylight_saving_changes() -> None:
    berlin = Calendar.named("Europe/Berlin")
    start, end = berlin.span(date(2026, 3, 28), date(2026, 3, 30))
    pieces = berlin.constant_offsets(start, end)
    assert [p[2] for p in pieces] == [timedelta(hours=1), timedelta(hours=2)]
    assert pieces[0][1] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 02:00 CET becomes 03:00 CEST
    assert Calendar.named("Asia/Shanghai").constant_offsets(start, end) == [(start, end, timedelta(hours=8))]


def test_buckets_and_whole_months() -> None:
    assert buckets(date(2026, 1, 30), date(2026, 2, 2), Grain.WEEK) == [date(2026, 1, 26), date(2026, 2, 2)]
    assert split_months(date(2026, 1, 15), date(2026, 3, 31)) == (
        [date(2026, 2, 1), date(2026, 3, 1)],
        [(date(2026, 1, 15), date(2026, 1, 31))],
    )


@pytest.mark.parametrize(
    ("shifts", "start", "end", "minutes"),
    [
        ([], cn(2026, 1, 16, 17, 30), cn(2026, 1, 19, 9, 15), 3 * 24 * 60 - 8 * 60 - 15),
        (OFFICE, cn(2026, 1, 16, 17, 30), cn(2026, 1, 19, 9, 15), 45),  # Friday evening -> Monday
        (OFFICE, cn(2026, 1, 17, 10), cn(2026, 1, 17, 12), 0),  # Saturday
        (OFFICE, cn(2026, 1, 12, 8), cn(2026, 1, 13, 10), 9 * 60 + 60),
        (NIGHT, cn(2026, 1, 17, 1), cn(2026, 1, 17, 7), 5 * 60),  # the shift began on Friday
    ],
)
def test_business_minutes(
    shifts: list[dict[str, object]], start: datetime, end: datetime, minutes: int
) -> None:
    assert working_minutes(shifts, start, end) == minutes


def test_histogram_percentiles_are_nearest_rank_at_its_resolution() -> None:
    values = [5, 30, 45, 45]
    packed = histogram.pack(histogram.of(values))
    merged = histogram.merged([packed, histogram.pack(histogram.of([]))])
    assert histogram.percentile(merged, 0.5) == 30 == histogram.nearest_rank(values, 0.5)
    assert histogram.percentile(merged, 0.9) == 45
    long = [2100, 20160]
    assert histogram.percentile(histogram.of(long), 0.9) == histogram.floor_to_bin(20160)
    assert 0.95 * 20160 <= histogram.floor_to_bin(20160) <= 20160
    assert histogram.percentile(histogram.empty(), 0.5) is None


def test_filters_from_a_query_string() -> None:
    today = date(2026, 3, 15)
    last_month = parse({"period": "last_month"}, {}, today)
    assert (last_month.first, last_month.last) == (date(2026, 2, 1), date(2026, 2, 28))
    custom = parse(
        {"from": "2026-01-01", "to": "2026-01-31", "grain": "week"}, {"account": ["3", "x"]}, today
    )
    assert (custom.first, custom.grain, custom.account_ids, custom.preset) == (
        date(2026, 1, 1),
        Grain.WEEK,
        (3,),
        "custom",
    )
    assert parse({"from": "nonsense"}, {}, today).preset == "30d"
    assert custom.previous().last == date(2025, 12, 31)


def test_keywords_leave_out_stop_words_counts_and_names() -> None:
    assert terms("@中国联通客服 你好，宽带又断网了，已经报修两次了") == frozenset({"宽带", "报修"})
    assert "5g套餐" in terms("5G套餐资费太贵")  # a product name whole


def test_weibo_texts_name_who_they_answer() -> None:
    ties = registry.text_ties("weibo", "回复@小明:同意 //@小红:转发 @老王 你看")
    assert ties == [("reply", "小明"), ("repost", "小红"), ("mention", "老王")]
    assert registry.text_ties("wechat", "@小明") == []
    assert registry.reads_followers("weibo") and not registry.reads_followers("wechat")
    assert registry.reads_following("weibo") and not registry.reads_following("wechat")
