"""Near-duplicates: kept, pointed at the first message, within the window only."""

from __future__ import annotations

from datetime import datetime

import pytest

from servicehub.filters.duplicates import DuplicateFilter, char_bigrams, similarity
from servicehub.filters.settings import FilterSettings
from servicehub.filters.verdict import RecentText
from tests.filters.support import T0, earlier, msg


@pytest.fixture
def dup() -> DuplicateFilter:
    return DuplicateFilter(FilterSettings.from_mapping({}))


def test_similarity_of_bigrams() -> None:
    assert similarity(char_bigrams("宽带断了"), char_bigrams("宽带断了")) == 1.0
    assert similarity(char_bigrams("宽带断了"), char_bigrams("话费多扣")) == 0.0
    assert similarity(char_bigrams(""), char_bigrams("话费")) == 0.0
    assert (
        0.5
        < similarity(char_bigrams("我家宽带从昨天开始断网"), char_bigrams("我家宽带从昨天开始断网了"))
        < 1.0
    )


def test_repeat_of_recent_message_in_window_joins_it(dup: DuplicateFilter) -> None:
    recent = {"u1": [earlier("@联通客服 我家宽带断了！！", pid="old", minutes=-10)]}
    [outcome] = dup.run([msg("我家宽带断了[怒][怒] @联通客服 ", pid="new")], recent)
    assert outcome.drop is None
    assert outcome.duplicate_of == "old"
    assert outcome.tags == ("duplicate",)


def test_repeat_outside_window_is_a_new_message(dup: DuplicateFilter) -> None:
    recent = {"u1": [earlier("我家宽带断了", pid="old", minutes=-31)]}
    [outcome] = dup.run([msg("我家宽带断了", pid="new")], recent)
    assert outcome.duplicate_of is None
    assert outcome.tags == ()


def test_window_comes_from_settings() -> None:
    recent = {"u1": [earlier("我家宽带断了", pid="old", minutes=-31)]}
    wide = DuplicateFilter(FilterSettings.from_mapping({"duplicate_window_minutes": 60}))
    assert wide.run([msg("我家宽带断了", pid="new")], recent)[0].duplicate_of == "old"


def test_near_duplicate_above_threshold(dup: DuplicateFilter) -> None:
    recent = {"u1": [earlier("我家宽带从昨天晚上开始一直断网到现在还没有修好", pid="old", minutes=-5)]}
    [near] = dup.run([msg("我家宽带从昨天晚上开始一直断网到现在还没有修好啊", pid="new")], recent)
    assert near.duplicate_of == "old"
    [different] = dup.run([msg("我家宽带从昨天晚上开始一直断网，话费也多扣了", pid="new")], recent)
    assert different.duplicate_of is None


def test_threshold_comes_from_settings() -> None:
    loose = DuplicateFilter(FilterSettings.from_mapping({"duplicate_similarity": 0.3}))
    recent = {"u1": [earlier("我家宽带从昨天晚上开始一直断网", pid="old", minutes=-5)]}
    assert (
        loose.run([msg("我家宽带从昨天晚上开始断网，话费也多扣了", pid="new")], recent)[0].duplicate_of
        == "old"
    )


def test_other_authors_are_not_duplicates(dup: DuplicateFilter) -> None:
    recent = {"u2": [earlier("我家宽带断了", pid="old", minutes=-1)]}
    assert dup.run([msg("我家宽带断了", pid="new", author="u1")], recent)[0].duplicate_of is None


def test_same_batch_oldest_first_and_chains_point_at_the_root(dup: DuplicateFilter) -> None:
    # platforms list newest first: the batch arrives in reverse time order
    batch = [
        msg("宽带断了怎么办！！！[怒]", pid="c", minutes=2),
        msg("@联通客服 宽带断了怎么办", pid="b", minutes=1),
        msg("宽带断了怎么办", pid="a", minutes=0),
        msg("宽带断了怎么办", pid="x", author="u2", minutes=0),
    ]
    outcomes = dup.run(batch, {})
    assert [o.duplicate_of for o in outcomes] == ["a", "a", None, None]


def test_the_message_itself_in_recent_is_ignored(dup: DuplicateFilter) -> None:
    recent = {"u1": [earlier("我家宽带断了", pid="m1", minutes=0)]}
    assert dup.run([msg("我家宽带断了", pid="m1")], recent)[0].duplicate_of is None


def test_naive_stored_times_count_as_utc(dup: DuplicateFilter) -> None:
    naive = datetime(T0.year, T0.month, T0.day, T0.hour, T0.minute)
    recent = {"u1": [RecentText(platform_id="old", text="我家宽带断了", created_at=naive)]}
    assert dup.run([msg("我家宽带断了", pid="new", minutes=5)], recent)[0].duplicate_of == "old"


def test_texts_without_words_are_never_duplicates(dup: DuplicateFilter) -> None:
    recent = {"u1": [earlier("[哈哈]", pid="old", minutes=-1)]}
    assert dup.run([msg("[哈哈]", pid="new")], recent)[0].duplicate_of is None
