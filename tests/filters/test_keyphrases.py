"""Trend keywords and the user dictionary shared with listening keywords."""

from __future__ import annotations

import threading

from servicehub.filters import segmenter
from servicehub.filters.keyphrases import extract_keywords, stopwords
from servicehub.filters.keywords import KeywordMatcher
from servicehub.filters.textnorm import normalize
from servicehub.filters.verdict import ListeningRule


def test_shipped_terms_segment_whole() -> None:
    for term in ("5G套餐", "携号转网", "宽带提速", "副卡"):
        assert normalize(term) in segmenter.words(normalize(f"我想问问{term}怎么办理"))
    assert segmenter.words("主副卡") == ["主", "副卡"]


def test_keywords_rank_shared_topics_and_skip_filler() -> None:
    texts = [
        "你好，请问携号转网需要什么材料",
        "携号转网被拒了三次，请给个说法",
        "@中国联通客服 5G套餐怎么改？[疑问]",
        "5G套餐太贵了",
        "副卡怎么办理",
        "谢谢客服 http://t.cn/A6abc12",
    ]
    found = extract_keywords(texts, top=3)
    assert [k.term for k in found] == ["5g套餐", "携号转网", "副卡"]
    assert [k.documents for k in found] == [2, 2, 1]
    every = {k.term for k in extract_keywords(texts, top=100)}
    assert not every & {"你好", "请问", "谢谢", "客服", "怎么", "中国联通客服", "t.cn"}
    assert not any(len(t) == 1 for t in every)
    assert "谢谢" in stopwords() and "5g套餐" not in stopwords()


def test_top_limits_and_empty_input() -> None:
    assert extract_keywords([], top=5) == []
    assert len(extract_keywords(["宽带断网", "话费扣费", "信号很差"], top=2)) == 2
    assert extract_keywords(["宽带断网"], top=0) == []


def test_extra_terms_segment_whole_and_are_never_stop_words() -> None:
    name = "冰激凌Pro套餐"
    texts = ["新出的冰激凌Pro套餐怎么样", "冰激凌Pro套餐贵不贵", "办理冰激凌Pro套餐"]
    found = extract_keywords(texts, top=1, extra_terms=[name, " ", name])
    assert [(k.term, k.documents) for k in found] == [("冰激凌pro套餐", 3)]
    assert "冰激凌pro套餐" in segmenter.user_terms()
    assert extract_keywords(["你好你好"], extra_terms=["你好"])[0].term == "你好"


def test_add_terms_is_idempotent_and_skips_what_jieba_cannot_keep_whole() -> None:
    assert segmenter.add_terms(["光纤到户提速包"]) == 1
    assert segmenter.add_terms(["光纤到户提速包", "光纤到户提速包 "]) == 0
    assert segmenter.add_terms(["有 空格", "单", "", "标点！"]) == 0
    assert "光纤到户提速包" in segmenter.words("办个光纤到户提速包")


def test_add_terms_from_threads_while_others_segment() -> None:
    terms = [f"测试业务{chr(0x4E00 + i)}{chr(0x4E80 + i)}包" for i in range(40)]
    errors: list[BaseException] = []

    def register(part: list[str]) -> None:
        try:
            segmenter.add_terms(part)
            segmenter.add_terms(part)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def segment() -> None:
        try:
            for _ in range(50):
                segmenter.words("我想办理测试业务包和宽带提速")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(terms[i::4],)) for i in range(4)]
    threads += [threading.Thread(target=segment) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(normalize(t) in segmenter.user_terms() for t in terms)
    assert all(normalize(t) in segmenter.words(f"我要{t}") for t in terms)


def test_listening_keywords_use_the_same_terms() -> None:
    segmenter.add_terms(["畅享融合包"])
    matcher = KeywordMatcher(
        [
            ListeningRule(1, "提速", ("宽带提速",)),
            ListeningRule(2, "流量", ("流量",)),
            ListeningRule(3, "卡", ("卡",)),
            ListeningRule(4, "融合", ("畅享融合包",)),
            ListeningRule(5, "5G", ("5G",)),
        ]
    )
    assert matcher.match("我想办宽带提速包", "acc") == (1,)
    assert matcher.match("流量包不够用", "acc") == (2,)
    assert matcher.match("副卡欠费了", "acc") == ()
    assert matcher.match("畅享融合包多少钱", "acc") == (4,)
    assert matcher.match("5G套餐多少钱", "acc") == (5,)
    assert matcher.match("15g套餐", "acc") == ()
