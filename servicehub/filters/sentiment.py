"""The sentiment filter: P(positive) and a three-way label for every kept message.

The whole batch is scored in one vectorized call (:class:`SentimentModel.predict_proba`)
with the model shipped in this package, loaded once per process. Scores below
``negative_below`` are ``negative``, above ``positive_above`` ``positive``, the band in
between ``neutral`` -- a model trained on two classes is honest about doubt only there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from servicehub.filters.sentiment_features import SentimentModel
from servicehub.filters.sentiment_store import default_model
from servicehub.filters.settings import FilterSettings
from servicehub.filters.verdict import FilterInput, Outcome, RecentText

NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"


def label_for(p: float, negative_below: float, positive_above: float) -> str:
    if p < negative_below:
        return NEGATIVE
    if p > positive_above:
        return POSITIVE
    return NEUTRAL


class SentimentFilter:
    """Scores every message it is given; never drops anything."""

    name = "sentiment"

    def __init__(self, settings: FilterSettings, model: Callable[[], SentimentModel] = default_model) -> None:
        self._negative_below = settings.negative_below
        self._positive_above = settings.positive_above
        self._read_emoticons = settings.sentiment_reads_emoticons
        self._model = model

    def scores(self, texts: Sequence[str]) -> list[float]:
        """P(positive) per text, in order."""
        if not texts:
            return []
        probabilities = self._model().predict_proba(texts, read_emoticons=self._read_emoticons)
        return [float(p) for p in probabilities]

    def run(self, items: Sequence[FilterInput], recent: Mapping[str, Sequence[RecentText]]) -> list[Outcome]:
        return [
            Outcome(sentiment=p, sentiment_label=label_for(p, self._negative_below, self._positive_above))
            for p in self.scores([item.text for item in items])
        ]
