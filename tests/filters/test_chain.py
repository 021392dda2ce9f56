"""The chain: settings validation, order, stop-on-drop, batch bookkeeping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from servicehub.filters import DEFAULTS, FilterChain, FilterSettings, ListeningRule
from servicehub.filters.verdict import FilterInput, Outcome, RecentText
from tests.filters.support import earlier, msg


def test_defaults_build_a_full_chain() -> None:
    settings = FilterSettings.from_mapping({})
    assert settings.order == ("empty", "spam", "duplicate", "keywords", "sentiment")
    assert settings.duplicate_window_minutes == 30
    assert settings.negative_below == 0.4
    assert settings.positive_above == 0.6
    assert settings == FilterSettings.from_mapping(DEFAULTS)
    assert [f.name for f in FilterChain(settings).filters] == list(settings.order)


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        ({"oder": ["empty"]}, "filters.oder"),
        ({"order": ["empty", "magic"]}, "filters.order"),
        ({"order": ["empty", "empty"]}, "filters.order"),
        ({"order": "empty"}, "filters.order"),
        ({"duplicate_window_minutes": "30"}, "filters.duplicate_window_minutes"),
        ({"duplicate_window_minutes": -1}, "filters.duplicate_window_minutes"),
        ({"duplicate_similarity": 1.5}, "filters.duplicate_similarity"),
        ({"duplicate_similarity": 0}, "filters.duplicate_similarity"),
        ({"spam_max_mentions": 2.5}, "filters.spam_max_mentions"),
        ({"spam_max_mentions": True}, "filters.spam_max_mentions"),
        ({"spam_repeat_min": 1}, "filters.spam_repeat_min"),
        ({"spam_patterns": ["(unclosed"]}, "filters.spam_patterns"),
        ({"spam_patterns": [3]}, "filters.spam_patterns"),
        ({"negative_below": 1.2}, "filters.negative_below"),
        ({"positive_above": -0.1}, "filters.positive_above"),
        ({"negative_below": 0.7, "positive_above": 0.6}, "filters.negative_below"),
        ({"sentiment_reads_emoticons": "yes"}, "filters.sentiment_reads_emoticons"),
    ],
)
def test_bad_settings_name_the_key(mapping: dict[str, object], key: str) -> None:
    with pytest.raises(ValueError, match=rf"^{key} "):
        FilterSettings.from_mapping(mapping)


def test_settings_accept_integers_for_floats() -> None:
    settings = FilterSettings.from_mapping({"duplicate_similarity": 1, "negative_below": 0, "order": []})
    assert settings.duplicate_similarity == 1.0
    assert settings.negative_below == 0.0
    assert settings.order == ()


class Recorder:
    """A filter that records what it saw and drops texts containing ``word``."""

    def __init__(self, name: str, word: str | None = None, tag: str | None = None) -> None:
        self.name = name
        self.word = word
        self.tag = tag
        self.seen: list[list[str]] = []

    def run(self, items: Sequence[FilterInput], recent: Mapping[str, Sequence[RecentText]]) -> list[Outcome]:
        self.seen.append([i.platform_id for i in items])
        tags = (self.tag,) if self.tag else ()
        return [
            Outcome(drop=self.name, tags=tags) if self.word and self.word in i.text else Outcome(tags=tags)
            for i in items
        ]


def test_filters_run_in_order_and_a_drop_stops_the_chain() -> None:
    first, second, third = Recorder("first", "广告", "t1"), Recorder("second", "水", "t2"), Recorder("third")
    chain = FilterChain(FilterSettings.from_mapping({}), filters=[first, second, third])
    verdicts = chain.run_batch([msg("广告", pid="a"), msg("喝水", pid="b"), msg("你好", pid="c")])
    assert first.seen == [["a", "b", "c"]]
    assert second.seen == [["b", "c"]]
    assert third.seen == [["c"]]
    assert [(v.keep, v.reason, v.tags) for v in verdicts] == [
        (False, "first", ("t1",)),
        (False, "second", ("t1", "t2")),
        (True, None, ("t1", "t2")),
    ]


def test_once_everything_is_dropped_later_filters_are_not_called() -> None:
    first, second = Recorder("first", "广告"), Recorder("second")
    FilterChain(FilterSettings.from_mapping({}), filters=[first, second]).run_batch([msg("广告")])
    assert second.seen == []


def test_order_from_settings_changes_which_reason_wins() -> None:
    text = "@a @b @c @d @e @f @g"  # only @names: empty, and too many mentions: spam
    empty_first = FilterChain(FilterSettings.from_mapping({"order": ["empty", "spam"]}))
    spam_first = FilterChain(FilterSettings.from_mapping({"order": ["spam", "empty"]}))
    assert empty_first.run_batch([msg(text)])[0].reason == "empty"
    assert spam_first.run_batch([msg(text)])[0].reason == "spam"


def test_full_chain_on_a_realistic_batch() -> None:
    rules = [ListeningRule(12, "宽带", ("宽带",)), ListeningRule(13, "只在别的号", ("宽带",), ("acc-other",))]
    chain = FilterChain(FilterSettings.from_mapping({}), rules)
    batch = [
        msg("@联通客服 宽带又断了，投诉无门，太差劲了！", pid="2", minutes=3),
        msg("@联通客服", pid="3", minutes=2),
        msg("加微信 abc12345 免费领流量", pid="4", minutes=1, author="spammer"),
        msg("谢谢客服，问题解决了，非常满意，点赞！", pid="5", minutes=1, author="u9"),
    ]
    recent = {"u1": [earlier("宽带又断了，投诉无门，太差劲了", pid="1", minutes=-4)]}
    v = chain.run_batch(batch, recent)
    assert [x.keep for x in v] == [True, False, False, True]
    assert (v[1].reason, v[1].tags) == ("empty", ("empty:mentions",))
    assert (v[2].reason, v[2].tags) == ("spam", ("spam:wechat",))
    assert v[1].sentiment is None and v[2].sentiment is None
    assert v[0].duplicate_of == "1"
    assert v[0].tags == ("duplicate", "listen:12")
    assert v[0].listening_task_ids == (12,)
    assert v[0].sentiment is not None and v[0].sentiment < 0.4 and v[0].sentiment_label == "negative"
    assert (v[0].intent, v[0].escalation) == ("complaint", ())
    assert v[3].sentiment is not None and v[3].sentiment > 0.6 and v[3].sentiment_label == "positive"
    assert (v[3].intent, v[3].tags) == ("praise", ())
    assert v[3].duplicate_of is None and v[3].listening_task_ids == ()
    assert (v[1].intent, v[2].intent, v[2].escalation) == (None, None, ())


def test_empty_batch_and_none_recent() -> None:
    chain = FilterChain(FilterSettings.from_mapping({}))
    assert chain.run_batch([]) == []
    assert chain.run_batch([msg("你好")], None)[0].keep
