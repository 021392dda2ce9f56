"""The shipped sentiment model: loads, is sane, scores batches like single items."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from servicehub.filters.sentiment import SentimentFilter, label_for
from servicehub.filters.sentiment_features import SentimentModel, prepare
from servicehub.filters.sentiment_store import default_model, load_model, load_model_bytes
from servicehub.filters.service_store import default_service_model, load_service_model_bytes
from servicehub.filters.settings import FilterSettings
from tests.filters.support import msg

COMPLAINTS = [
    "你们的客服太差了，打了十几个电话都没人管，投诉！",
    "宽带断网三天了还没人来修，垃圾服务，气死了",
    "莫名其妙扣了我五十块话费，骗子公司，必须退钱",
    "信号差得要命，打个电话都断断续续，失望透顶",
    "送餐太慢了，菜都凉了，再也不会点了",
]
PRAISE = [
    "谢谢客服耐心解答，问题很快解决了，非常满意！",
    "网速很快，服务态度也好，点赞",
    "太棒了，装机师傅很专业，很喜欢",
    "味道很好，送餐也快，下次还点",
]


def test_shipped_model_loads_once() -> None:
    model = default_model()
    assert isinstance(model, SentimentModel)
    assert model is default_model()
    assert len(model.vectorizer.vocabulary) == len(model.weights) > 100_000
    assert model.emoticon_weights["[泪]"] < 0 < model.emoticon_weights["[哈哈]"]
    assert "weibo_senti_train.csv" in model.info["trained_on"]


def test_loading_twice_gives_identical_scores() -> None:
    texts = ["宽带断了", "谢谢客服"]
    assert np.array_equal(load_model().predict_proba(texts), default_model().predict_proba(texts))


def test_a_file_that_is_not_a_model_is_refused() -> None:
    with pytest.raises(ValueError, match="not a sentiment model file"):
        load_model_bytes(b"definitely not gzip")


@pytest.mark.parametrize("text", COMPLAINTS)
def test_clear_complaints_score_negative(text: str) -> None:
    assert default_model().predict_proba([text])[0] < 0.4


@pytest.mark.parametrize("text", PRAISE)
def test_clear_praise_scores_positive(text: str) -> None:
    assert default_model().predict_proba([text])[0] > 0.6


def test_batch_scores_equal_single_scores() -> None:
    model = default_model()
    texts = [*COMPLAINTS, *PRAISE, "", "[哈哈]", "http://t.cn/abc", "@联通客服 在吗"]
    batch = model.predict_proba(texts)
    single = np.array([model.predict_proba([t])[0] for t in texts])
    assert batch.shape == (len(texts),)
    assert np.allclose(batch, single, atol=1e-12)
    assert ((batch >= 0) & (batch <= 1)).all()


def test_text_without_known_ngrams_scores_the_prior() -> None:
    model = default_model()
    [p] = model.predict_proba(["\U0001f9ff\U0001f9ff"], read_emoticons=False)
    assert p == pytest.approx(1 / (1 + np.exp(-model.bias)))


def test_emoticons_count_only_when_asked() -> None:
    model = default_model()
    plain, tearful = model.predict_proba(["今天下雨了", "今天下雨了[泪][泪]"])
    assert tearful < plain
    plain_text_only, tearful_text_only = model.predict_proba(
        ["今天下雨了", "今天下雨了[泪][泪]"], read_emoticons=False
    )
    assert plain_text_only == pytest.approx(tearful_text_only)


def test_prepare_masks_what_carries_no_sentiment() -> None:
    assert prepare("@张三 看这个 http://t.cn/Eq9i62b [哈哈]！") == "@ 看这个 \ue000 !"
    assert prepare("说得好 //@李四:转发") == "说得好 //@:转发"


def test_labels_follow_the_thresholds() -> None:
    assert [label_for(p, 0.4, 0.6) for p in (0.1, 0.4, 0.5, 0.6, 0.9)] == [
        "negative",
        "neutral",
        "neutral",
        "neutral",
        "positive",
    ]


def test_filter_score_lies_in_the_band_of_its_label() -> None:
    settings = FilterSettings.from_mapping({"negative_below": 0.2, "positive_above": 0.8})
    texts = [COMPLAINTS[0], "请问宽带续费在哪里交", PRAISE[0]]
    outcomes = SentimentFilter(settings).run([msg(t, pid=str(i)) for i, t in enumerate(texts)], {})
    assert [o.sentiment_label for o in outcomes] == ["negative", "neutral", "positive"]
    for outcome in outcomes:
        assert outcome.sentiment is not None and outcome.drop is None
        assert label_for(outcome.sentiment, 0.2, 0.8) == outcome.sentiment_label
    assert outcomes[0].sentiment < 0.2 <= outcomes[1].sentiment <= 0.8 < outcomes[2].sentiment


def test_runtime_path_imports_neither_sklearn_nor_snownlp() -> None:
    code = (
        "import sys\n"
        "from datetime import datetime, UTC\n"
        "from servicehub.filters import FilterChain, FilterSettings, FilterInput, ListeningRule\n"
        "chain = FilterChain(FilterSettings.from_mapping({}), [ListeningRule(1, 'k', ('宽带',))])\n"
        "item = FilterInput('weibo', 'mention', '1', 'a', 'u', '宽带断了，太差了', datetime.now(UTC))\n"
        "assert chain.run_batch([item])[0].sentiment is not None\n"
        "bad = [m for m in ('sklearn', 'snownlp', 'scipy') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_service_model_loads_once_and_refuses_other_files() -> None:
    model = default_service_model()
    assert model is default_service_model()
    assert model.sentiment.classes == ("negative", "neutral", "positive")
    assert model.intent.classes == ("inquiry", "complaint", "praise", "suggestion", "other")
    assert "train+dev" in model.info["trained_on"]
    with pytest.raises(ValueError, match="not a service model file"):
        load_service_model_bytes(b"definitely not gzip")


def test_service_readings_of_a_batch_equal_single_readings() -> None:
    texts = [*COMPLAINTS, *PRAISE, "请问宽带续费在哪里交", "", "[哈哈]", "@联通客服 在吗"]
    batch = default_service_model().read(texts, default_model())
    single = [default_service_model().read([t], default_model())[0] for t in texts]
    assert [r.label for r in batch] == [r.label for r in single]
    assert [r.intent for r in batch] == [r.intent for r in single]
    assert np.allclose([r.probabilities for r in batch], [r.probabilities for r in single], atol=1e-12)
    assert np.allclose([r.binary for r in batch], default_model().predict_proba(texts), atol=1e-12)


def test_text_without_chinese_is_left_to_a_person() -> None:
    readings = default_service_model().read(
        ["<script>alert(1)</script>", "@中国联通客服 My phone has no signal!!!"], default_model()
    )
    assert [(r.label, r.intent, r.furious) for r in readings] == [("neutral", "inquiry", False)] * 2


@pytest.mark.parametrize(
    ("text", "furious"),
    [
        ("垃圾宽带，一天断八回[怒]", True),
        ("还不给我退钱？？？", True),
        ("宽带断了，麻烦尽快派人看看", False),
        ("营业厅态度太差了", False),
        ("太开心了！！！", False),
    ],
)
def test_furious_means_negative_and_heated(text: str, furious: bool) -> None:
    [reading] = default_service_model().read([text], default_model())
    assert reading.furious is furious
