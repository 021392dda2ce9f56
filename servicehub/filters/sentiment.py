"""The sentiment filter: three-way sentiment, intent and escalation of every kept message.

The whole batch is read in one vectorized call of the service model
(:mod:`servicehub.filters.service_model`), which runs the binary model too and uses its
score as one of its inputs; both are shipped in this package and loaded once per process.

Each outcome carries the three-way ``sentiment_label``, a polarity ``sentiment`` score in
that label's band of ``negative_below`` / ``positive_above`` (see
:meth:`~servicehub.filters.service_model.Reading.score`), the ``intent`` and the
``escalation`` threat words. Two tags make the rare, pressing cases visible to anything
that reads tags: ``escalation`` when a threat was found and ``furious`` for a heated
negative message; the urgency rules (:mod:`servicehub.filters.urgency`) read both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from servicehub.filters.sentiment_features import SentimentModel
from servicehub.filters.sentiment_store import default_model
from servicehub.filters.service_model import NEGATIVE, NEUTRAL, POSITIVE, Reading, ServiceModel
from servicehub.filters.service_store import default_service_model
from servicehub.filters.settings import FilterSettings
from servicehub.filters.verdict import FilterInput, Outcome, RecentText

__all__ = ["ESCALATION_TAG", "FURIOUS_TAG", "NEGATIVE", "NEUTRAL", "POSITIVE", "SentimentFilter", "label_for"]

ESCALATION_TAG = "escalation"
FURIOUS_TAG = "furious"


def label_for(p: float, negative_below: float, positive_above: float) -> str:
    """The label a polarity score stands for under the ``[filters]`` thresholds."""
    if p < negative_below:
        return NEGATIVE
    if p > positive_above:
        return POSITIVE
    return NEUTRAL


def tags_of(reading: Reading) -> tuple[str, ...]:
    return ((ESCALATION_TAG,) if reading.escalation else ()) + ((FURIOUS_TAG,) if reading.furious else ())


class SentimentFilter:
    """Reads every message it is given; never drops anything."""

    name = "sentiment"

    def __init__(
        self,
        settings: FilterSettings,
        model: Callable[[], SentimentModel] = default_model,
        service: Callable[[], ServiceModel] = default_service_model,
    ) -> None:
        self._negative_below = settings.negative_below
        self._positive_above = settings.positive_above
        self._read_emoticons = settings.sentiment_reads_emoticons
        self._model = model
        self._service = service

    def scores(self, texts: Sequence[str]) -> list[float]:
        """The binary model's P(positive) per text, in order (kept for tools and comparison)."""
        if not texts:
            return []
        probabilities = self._model().predict_proba(texts, read_emoticons=self._read_emoticons)
        return [float(p) for p in probabilities]

    def readings(self, texts: Sequence[str]) -> list[Reading]:
        """The service model's reading of each text, in order."""
        return self._service().read(texts, self._model(), read_emoticons=self._read_emoticons)

    def run(self, items: Sequence[FilterInput], recent: Mapping[str, Sequence[RecentText]]) -> list[Outcome]:
        return [
            Outcome(
                tags=tags_of(r),
                sentiment=r.score(self._negative_below, self._positive_above),
                sentiment_label=r.label,
                intent=r.intent,
                escalation=r.escalation,
            )
            for r in self.readings([item.text for item in items])
        ]
