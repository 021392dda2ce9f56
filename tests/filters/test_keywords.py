"""Keyword listening: word-boundary-aware matching, per-account rules."""

from __future__ import annotations

import pytest

from servicehub.filters.keywords import KeywordFilter, KeywordMatcher
from servicehub.filters.verdict import ListeningRule
from tests.filters.support import msg

UNICOM, DATA, TELECOM, FIVE_G, PHRASE, MOBILE, BROADBAND = 1, 2, 3, 4, 5, 6, 7


@pytest.fixture(scope="module")
def matcher() -> KeywordMatcher:
    return KeywordMatcher(
        [
            ListeningRule(UNICOM, "联通", ("联通",)),
            ListeningRule(DATA, "流量", ("流量",)),
            ListeningRule(TELECOM, "电信", ("电信",)),
            ListeningRule(FIVE_G, "5G", ("5G",)),
            ListeningRule(PHRASE, "扣费", ("流量 扣费", "乱扣费")),
            ListeningRule(MOBILE, "移动", ("移动",)),
            ListeningRule(BROADBAND, "宽带(北京)", ("宽带",), ("acc-bj",)),
        ]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("流量包扣费", {DATA}),
        ("手机流量不够用", {DATA}),
        ("我的流量扣费不对", {DATA, PHRASE}),
        ("流量 扣费有问题", {DATA, PHRASE}),
        ("中国联通", {UNICOM}),
        ("联通卡怎么补办", {UNICOM}),
        ("北京电信宽带", {TELECOM}),
        ("中国联通宽带又断了", {UNICOM}),
        ("5G套餐多少钱", {FIVE_G}),
        ("ＦＩＶＥ ５ｇ套餐", {FIVE_G}),
        ("被乱扣费了", {PHRASE}),
        ("中国移动", {MOBILE}),
    ],
)
def test_keywords_match_words_and_compounds(matcher: KeywordMatcher, text: str, expected: set[int]) -> None:
    assert set(matcher.match(text, "acc-sh")) == expected


@pytest.mark.parametrize(
    "text",
    [
        "互联通信行业报告",  # 联通 straddles 互联|通信
        "电信号太弱",  # 电信号 is a signal, the cut would leave 号
        "15g的硬盘",  # 5g inside a longer Latin/digit token
        "@中国联通客服 你好",  # the account's own @name is not a keyword hit
        "http://t.cn/A6liantong 看看",
        "流扣费量",
    ],
)
def test_keywords_do_not_match_inside_unrelated_words(matcher: KeywordMatcher, text: str) -> None:
    assert matcher.match(text, "acc-sh") == ()


def test_rules_limited_to_accounts(matcher: KeywordMatcher) -> None:
    assert matcher.match("宽带断了", "acc-bj") == (BROADBAND,)
    assert matcher.match("宽带断了", "acc-sh") == ()


def test_blank_keywords_are_ignored() -> None:
    matcher = KeywordMatcher([ListeningRule(9, "blank", ("", "  "))])
    assert matcher.match("任何内容", "acc") == ()


def test_filter_sets_ids_and_listen_tags() -> None:
    rules = [ListeningRule(12, "联通", ("联通",)), ListeningRule(3, "流量", ("流量",))]
    outcomes = KeywordFilter(rules).run([msg("联通的流量包"), msg("天气不错")], {})
    assert outcomes[0].listening_task_ids == (3, 12)
    assert outcomes[0].tags == ("listen:3", "listen:12")
    assert outcomes[0].drop is None
    assert outcomes[1].listening_task_ids == ()
    assert outcomes[1].tags == ()
