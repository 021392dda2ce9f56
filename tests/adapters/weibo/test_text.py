"""Weibo's length rule and the text helpers."""

from __future__ import annotations

import pytest

from servicehub.adapters.errors import Rejected
from servicehub.adapters.weibo.text import (
    ensure_length,
    split_mentions,
    strip_emoticons,
    strip_repost_chain,
    weibo_length,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("求关注。", 4),  # CJK and full-width punctuation count 1 each
        ("a", 1),  # one ASCII character is half, rounded up
        ("ab", 1),
        ("abc", 2),
        ("é", 1),  # U+00E9 is still within U+0000..U+00FF: half
        ("ā", 1),  # U+0101 counts one
        ("😀", 2),  # above U+FFFF counts two
        ("好😀a", 4),  # 1 + 2 + 0.5 -> 3.5 -> 4
        ("http://example.com/a/very/long/path?with=query&and=more", 10),
        ("看这里https://t.cn/zjbRppQ好的", 15),  # 3 + 10 + 2: the URL ends at the CJK character
        ("a http://x.cn b", 12),  # 0.5 + 0.5 + 10 + 0.5 + 0.5 -> 12
        ("两个链接 http://a.cn http://b.cn", 25),  # 4 + 0.5 + 10 + 0.5 + 10 -> 25
    ],
)
def test_weibo_length(text: str, expected: int) -> None:
    assert weibo_length(text) == expected


def test_ascii_counts_half_so_280_letters_fit_in_140() -> None:
    assert weibo_length("x" * 280) == 140
    assert weibo_length("x" * 281) == 141


def test_ensure_length_names_the_kind_and_the_length() -> None:
    with pytest.raises(Rejected) as info:
        ensure_length("好" * 146, 140, "评论")
    assert str(info.value) == "评论超过140字 (146)"


def test_ensure_length_accepts_exactly_the_limit() -> None:
    ensure_length("好" * 139 + "ab", 140, "评论")  # 139 + 1 = 140


def test_ensure_length_refuses_blank_text() -> None:
    with pytest.raises(Rejected, match="私信内容为空"):
        ensure_length("  \n", 300, "私信")


def test_urls_count_ten_even_when_long() -> None:
    long_url = "https://example.com/" + "p" * 500
    ensure_length("好" * 130 + long_url, 140, "微博")  # 130 + 10
    with pytest.raises(Rejected, match=r"\(141\)"):
        ensure_length("好" * 131 + long_url, 140, "微博")


def test_split_mentions_in_order_without_repeats() -> None:
    names, rest = split_mentions("愿你梦圆@寒柳堂记梦@上善无境 @yye520123 你好 @寒柳堂记梦:谢谢")
    assert names == ["寒柳堂记梦", "上善无境", "yye520123"]
    assert rest == "愿你梦圆 你好 :谢谢"


def test_mentions_end_at_punctuation() -> None:
    names, _ = split_mentions("回复@中国移动客服：网络太慢了，@小王-2024,再说")
    assert names == ["中国移动客服", "小王-2024"]


def test_strip_repost_chain_keeps_the_reposters_words() -> None:
    assert strip_repost_chain("实诚人。 //@loo00://@huchao:这个太亮了...") == "实诚人。"
    assert strip_repost_chain("没有转发链") == "没有转发链"


def test_strip_emoticons() -> None:
    assert strip_emoticons("信号太差了[怒][doge] 😡😡 第[1]条") == "信号太差了 第[1]条"
    assert strip_emoticons("👍🏻谢谢客服[good]") == "谢谢客服"
