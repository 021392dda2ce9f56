"""Text surgery shared by the filters, the model and its trainer."""

from __future__ import annotations

from servicehub.filters.textnorm import (
    anatomy,
    content_signature,
    emoticons,
    listening_text,
    mentions,
    normalize,
    strip_emoticons,
)


def test_normalize_folds_width_case_and_invisible_characters() -> None:
    assert normalize("  ＡＢＣ１２３\u200b，Ｈｉ！ \n ") == "abc123,hi!"


def test_emoticons_are_removed_without_a_trace() -> None:
    assert strip_emoticons("好[哈哈]开心[xkl转圈]") == "好开心"
    assert emoticons("好[哈哈]开心[good]") == ["[哈哈]", "[good]"]
    assert strip_emoticons("[一个超过十二个字的方括号里面的内容不是表情]") != ""


def test_mentions_skip_repost_hops_and_split_run_together_names() -> None:
    assert mentions("@寒柳堂记梦@上善无境 你好 //@转发者: 原文 @联通客服") == [
        "@寒柳堂记梦",
        "@上善无境",
        "@联通客服",
    ]


def test_anatomy_separates_own_words_from_the_chain() -> None:
    parts = anatomy(normalize("实诚人。@张三 http://t.cn/zjbRppQ [哈哈] //@loo00://@huchao:这个太亮了"))
    assert parts.own == "实诚人。"
    assert parts.chain.startswith("//@loo00:")
    assert (parts.had_mentions, parts.had_links, parts.had_emoticons, parts.had_emoji) == (
        True,
        True,
        True,
        False,
    )


def test_signature_keeps_only_words() -> None:
    assert content_signature("@联通客服 宽带又断了！！[怒] http://t.cn/abc") == "宽带又断了"
    assert content_signature("宽带又断了 @联通") == "宽带又断了"


def test_listening_text_blanks_names_links_and_emoticons() -> None:
    assert listening_text("@中国联通 流量[怒]http://t.cn/x扣费").split() == ["流量", "扣费"]
