"""The service model: three-way sentiment and intent of a customer's message, in one pass.

The binary model (:mod:`servicehub.filters.sentiment_features`) was trained on Weibo posts
and food reviews with two labels, so it has no notion of a neutral question. This model
sits on top of it, trained on the hand-labelled service messages of ``data/service-messages``
(:mod:`servicehub.filters.train_service`). Each of its two heads is a multinomial logistic
regression over

- character n-grams (1-3) of the message, TF-IDF weighted like the binary model's, with a
  vocabulary of its own from the service rows;
- dense cues: the service lexicon (:mod:`servicehub.filters.lexicon`) and the binary
  model's text and emoticon logits, standardized with the training rows' mean and spread.

A batch is cut into n-grams once; the binary and the service vocabularies both look the
grams up. The shipped file (``model/service.npz.gz``) holds only numbers; the runtime needs
numpy, not scikit-learn.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from servicehub.filters import lexicon
from servicehub.filters.escalation import threats
from servicehub.filters.sentiment_features import (
    FloatArray,
    SentimentModel,
    SparseRows,
    Vectorizer,
    char_ngrams,
    prepare,
)
from servicehub.filters.textnorm import MENTION_RE

SERVICE_FEATURE_VERSION = 1
"""Bumped when the dense features or their order change; the model file records it."""

NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"
SENTIMENTS = (NEGATIVE, NEUTRAL, POSITIVE)
INQUIRY, COMPLAINT, PRAISE, SUGGESTION, OTHER = "inquiry", "complaint", "praise", "suggestion", "other"
INTENTS = (INQUIRY, COMPLAINT, PRAISE, SUGGESTION, OTHER)
DENSE_NAMES: tuple[str, ...] = (*lexicon.FEATURE_NAMES, "binary_text", "binary_emoticons")
_CHINESE_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
"""The model reads Chinese. A message without a Chinese character outside its @names (English,
markup, code)
is labelled neutral / inquiry instead of a guess from Latin n-grams, so a person reads it
at normal priority; its probabilities are still the model's."""
_joint_lock = threading.Lock()
FURIOUS_AT = 1
"""A negative message whose :func:`~servicehub.filters.lexicon.intensity` reaches this is furious:
one rage word, angry emoticon, ``!!``/``?!`` run or three ``!`` in a message already read as
negative. On the training rows written as furious this finds 25 of 29 and flags 10 of 438
other non-spam rows (most of them heated too)."""


@dataclass(frozen=True)
class Head:
    """One multinomial logistic regression over n-gram rows and dense cues."""

    classes: tuple[str, ...]
    weights: FloatArray
    """(n-grams, classes)"""
    dense: FloatArray
    """(dense cues, classes)"""
    bias: FloatArray
    """(classes,)"""

    def probabilities(self, x: SparseRows, dense: FloatArray) -> FloatArray:
        """Softmax probabilities, one row per text, columns in :attr:`classes` order."""
        logits = dense @ self.dense + self.bias
        for k in range(len(self.classes)):
            logits[:, k] += np.bincount(
                x.rows, weights=x.values * self.weights[x.cols, k], minlength=x.n_rows
            )
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Reading:
    """What the service model read in one message."""

    label: str
    """``negative``, ``neutral`` or ``positive``: the most probable class (neutral without Chinese)."""
    probabilities: tuple[float, float, float]
    """P(negative), P(neutral), P(positive)."""
    intent: str
    """One of :data:`INTENTS`."""
    escalation: tuple[str, ...]
    """Threat words found (canonical names, :mod:`servicehub.filters.escalation`)."""
    furious: bool
    """Negative and heated (abuse, angry emoticons, ``!!!``)."""
    binary: float
    """The binary model's P(positive), computed on the way (one of the model's inputs)."""

    def score(self, negative_below: float, positive_above: float) -> float:
        """A polarity score in [0, 1] that lies in the band of :attr:`label`.

        Below ``negative_below`` for negative (lower = more certainly negative), within
        [``negative_below``, ``positive_above``] for neutral (by P(pos) - P(neg)), above
        ``positive_above`` for positive. Code that still compares the score with the
        ``[filters]`` thresholds therefore agrees with the label.
        """
        neg, _, pos = self.probabilities
        if self.label == NEGATIVE:
            return negative_below * (1.0 - neg)
        if self.label == POSITIVE:
            return positive_above + (1.0 - positive_above) * max(pos, 1e-9)
        return negative_below + (positive_above - negative_below) * (0.5 + 0.5 * (pos - neg))


@dataclass(frozen=True)
class Inputs:
    """What the heads read of a batch, and what the rules beside them need."""

    grams: SparseRows
    dense: FloatArray
    counts: list[dict[str, int]]
    binary_logits: FloatArray


@dataclass(frozen=True)
class JointVocabulary:
    """The binary and the service vocabularies in one dict, so each n-gram is looked up once.

    A gram's code is ``(binary id + 1) * stride + (service id + 1)``; 0 stands for "absent"
    on either side. Looking grams up is most of the cost of scoring, and the two models
    cut the same n-grams of the same prepared text.
    """

    binary: Vectorizer
    service: Vectorizer
    codes: dict[str, int]
    stride: int

    @classmethod
    def of(cls, binary: Vectorizer, service: Vectorizer) -> JointVocabulary:
        stride = len(service.idf) + 1
        codes = {g: (i + 1) * stride for g, i in binary.vocabulary.items()}
        for g, j in service.vocabulary.items():
            codes[g] = codes.get(g, 0) + j + 1
        return cls(binary, service, codes, stride)

    def transform(self, grams: Sequence[list[str]]) -> tuple[SparseRows, SparseRows]:
        """(binary rows, service rows) of texts cut into n-grams, as each vectorizer would give."""
        get = self.codes.get
        found: list[int] = []
        lengths: list[int] = []
        for text_grams in grams:
            hits = [c for c in map(get, text_grams) if c is not None]
            found.extend(hits)
            lengths.append(len(hits))
        codes = np.asarray(found, dtype=np.int64)
        rows = np.repeat(np.arange(len(grams), dtype=np.int64), lengths)
        b, s = np.divmod(codes, self.stride)
        b, s = b - 1, s - 1
        in_b, in_s = b >= 0, s >= 0
        return (
            self.binary.rows_from_keys(rows[in_b] * len(self.binary.idf) + b[in_b], len(grams)),
            self.service.rows_from_keys(rows[in_s] * len(self.service.idf) + s[in_s], len(grams)),
        )


@dataclass(frozen=True)
class ServiceModel:
    """Vocabulary, dense-cue standardization and the two heads."""

    vectorizer: Vectorizer
    dense_mean: FloatArray
    dense_scale: FloatArray
    """Multiplies the centred cues: 1/std times the cue block's weight chosen in training."""
    sentiment: Head
    intent: Head
    info: dict[str, str]
    _joint: dict[int, JointVocabulary] = field(default_factory=dict, compare=False, repr=False)
    """The joint vocabulary per binary model (by id), built on first use."""

    def joint(self, binary: SentimentModel) -> JointVocabulary | None:
        """The joint vocabulary with ``binary``'s, or None when their n-gram lengths differ."""
        if binary.vectorizer.max_n != self.vectorizer.max_n:
            return None
        joint = self._joint.get(id(binary))
        if joint is None or joint.binary is not binary.vectorizer:
            with _joint_lock:
                joint = self._joint.get(id(binary))
                if joint is None or joint.binary is not binary.vectorizer:
                    joint = self._joint[id(binary)] = JointVocabulary.of(binary.vectorizer, self.vectorizer)
        return joint

    def inputs(self, texts: Sequence[str], binary: SentimentModel, *, read_emoticons: bool = True) -> Inputs:
        """N-gram rows, standardized dense cues, raw lexicon counts and binary logits of a batch."""
        prepared = [prepare(t) for t in texts]
        grams = [char_ngrams(p, binary.vectorizer.max_n) for p in prepared]
        joint = self.joint(binary)
        if joint is not None:
            binary_rows, own = joint.transform(grams)
        else:
            binary_rows = binary.vectorizer.transform_grams(grams)
            own = self.vectorizer.transform_grams([char_ngrams(p, self.vectorizer.max_n) for p in prepared])
        found = [lexicon.counts(t) for t in texts]
        binary_text = binary.logits_of(binary_rows)
        emoticons = (
            binary.emoticon_logits(texts)
            if read_emoticons and binary.emoticon_weights
            else np.zeros(len(texts))
        )
        raw = np.empty((len(texts), len(DENSE_NAMES)), dtype=np.float64)
        for row, counts in enumerate(found):
            raw[row, :-2] = lexicon.vector(counts)
        raw[:, -2] = binary_text
        raw[:, -1] = emoticons
        return Inputs(
            grams=own,
            dense=(raw - self.dense_mean) * self.dense_scale,
            counts=found,
            binary_logits=binary_text + emoticons,
        )

    def read(
        self, texts: Sequence[str], binary: SentimentModel, *, read_emoticons: bool = True
    ) -> list[Reading]:
        """One :class:`Reading` per text, in order."""
        if not texts:
            return []
        inputs = self.inputs(texts, binary, read_emoticons=read_emoticons)
        sentiment = self.sentiment.probabilities(inputs.grams, inputs.dense)
        intent = self.intent.probabilities(inputs.grams, inputs.dense)
        p_binary = 1.0 / (1.0 + np.exp(-inputs.binary_logits))
        rows = zip(texts, sentiment, intent, inputs.counts, p_binary, strict=True)
        readings = []
        for text, p, q, counts, pb in rows:
            label = self.sentiment.classes[int(np.argmax(p))]
            purpose = self.intent.classes[int(np.argmax(q))]
            if _CHINESE_RE.search(MENTION_RE.sub("", text)) is None:
                label, purpose = NEUTRAL, INQUIRY  # not read: a person looks at normal priority
            negative = label == NEGATIVE or purpose == COMPLAINT
            readings.append(
                Reading(
                    label=label,
                    probabilities=(float(p[0]), float(p[1]), float(p[2])),
                    intent=purpose,
                    escalation=threats(text, negative=negative),
                    furious=label == NEGATIVE and lexicon.intensity(counts) >= FURIOUS_AT,
                    binary=float(pb),
                )
            )
        return readings
