"""Empty content: nothing of the author's own to answer."""

from __future__ import annotations

import pytest

from servicehub.filters.empty import EmptyFilter, emptiness
from tests.filters.support import msg


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "blank"),
        ("   \u3000\n", "blank"),
        ("\u200b", "blank"),
        ("@中国联通客服 ", "mentions"),
        ("@中国联通客服@联通小助手", "mentions"),
        ("[哈哈][哈哈][泪]", "emoji"),
        ("😀👍🏻❤️", "emoji"),
        ("@联通客服 [怒][怒]", "emoji"),
        ("http://t.cn/zjbRppQ \u200b", "link"),
        ("@联通客服 http://t.cn/Eq9i62b", "link"),
        ("转发微博", "repost"),
        ("轉發微博", "repost"),
        ("//@loo00://@huchao:", "repost"),
        ("//@a: //@b:", "repost"),
        ("转发微博 //@张三:@中国联通 我家宽带断了三天", "repost"),
        ("[哈哈] //@张三:宽带断了", "repost"),
        ("？？？！！", "punctuation"),
        ("^_^", "punctuation"),
    ],
)
def test_messages_without_own_words_are_empty(text: str, why: str) -> None:
    assert emptiness(text) == why


@pytest.mark.parametrize(
    "text",
    [
        "@中国联通客服 宽带断了",
        "实诚人。 //@loo00://@huchao:这个太亮了",
        "在吗",
        "233",
        "ok",
        "[怒]套餐乱扣费",
        "😡 流量又超了",
        "http://t.cn/abc 这个活动是真的吗",
        "１０086打不通",
    ],
)
def test_messages_with_own_words_are_kept(text: str) -> None:
    assert emptiness(text) is None


def test_filter_drops_with_reason_and_kind_tag() -> None:
    outcomes = EmptyFilter().run([msg("@联通客服"), msg("@联通客服 在吗")], {})
    assert outcomes[0].drop == "empty"
    assert outcomes[0].tags == ("empty:mentions",)
    assert outcomes[1].drop is None
    assert outcomes[1].tags == ()
