"""Text -> sparse features -> P(positive), shared verbatim by the trainer and the runtime.

The model is a logistic regression over sublinear-TF-IDF character n-grams (1-3) of the
message with its ``[xx]`` emoticons removed, plus an optional emoticon block fitted on top
of the text score (see :mod:`servicehub.filters.train_sentiment`). Character n-grams won
over jieba words on the held-out splits and need no segmenter, which keeps scoring fast.

Scoring works on the whole batch at once: Python only slices n-grams and looks them up in
the vocabulary dict; counting, weighting, normalizing and the dot product are numpy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from servicehub.filters.textnorm import EMOTICON_RE, MENTION_RE, URL_RE, normalize

FEATURE_VERSION = 1
"""Bumped whenever :func:`prepare` or :func:`ngram_ids` change; the model file records it."""

URL_MARK = "\ue000"
"""Stands for any link: the random t.cn code says nothing, that a link is there may."""

_MENTION_MARK = "@"
_REPOST_HOP_RE = re.compile(r"//\s*@[^:\s/]{1,30}\s*:")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def prepare(text: str) -> str:
    """The string the n-grams are cut from: normalized, emoticons removed, names and links masked."""
    text = EMOTICON_RE.sub("", normalize(text))
    text = URL_RE.sub(URL_MARK, text)
    text = _REPOST_HOP_RE.sub("//@:", text)
    return MENTION_RE.sub(_MENTION_MARK, text)


def char_ngrams(prepared: str, max_n: int) -> list[str]:
    """All character n-grams of length 1..max_n, in order (repeats kept: they are counted)."""
    grams = list(prepared)
    for n in range(2, max_n + 1):
        grams.extend(prepared[i : i + n] for i in range(len(prepared) - n + 1))
    return grams


def emoticon_names(text: str) -> list[str]:
    """The emoticon codes of ``text`` as the emoticon block keys them (``[哈哈]``)."""
    return EMOTICON_RE.findall(normalize(text))


@dataclass(frozen=True)
class SparseRows:
    """A batch of sparse rows in coordinate form, one entry per (row, feature)."""

    n_rows: int
    rows: IntArray
    cols: IntArray
    values: FloatArray


@dataclass(frozen=True)
class Vectorizer:
    """Vocabulary and IDF weights: maps prepared text to L2-normalized TF-IDF rows."""

    vocabulary: dict[str, int]
    idf: FloatArray
    max_n: int

    def transform(self, texts: Sequence[str]) -> SparseRows:
        """Sublinear TF (1 + ln tf) times IDF, L2-normalized per row, unknown n-grams ignored."""
        return self.transform_grams([char_ngrams(prepare(text), self.max_n) for text in texts])

    def transform_grams(self, grams: Sequence[list[str]]) -> SparseRows:
        """:meth:`transform` of texts already cut into n-grams."""
        get = self.vocabulary.get
        width = len(self.idf)
        keys: list[int] = []
        for row, text_grams in enumerate(grams):
            base = row * width
            ids = [get(g, -1) for g in text_grams]
            keys.extend(base + i for i in ids if i >= 0)
        return self.rows_from_keys(np.asarray(keys, dtype=np.int64), len(grams))

    def rows_from_keys(self, keys: IntArray, n_rows: int) -> SparseRows:
        """TF-IDF rows from one ``row * width + column`` key per n-gram occurrence."""
        if not len(keys):
            empty = np.zeros(0, dtype=np.int64)
            return SparseRows(n_rows, empty, empty, np.zeros(0, dtype=np.float64))
        unique, counts = np.unique(keys, return_counts=True)
        rows, cols = np.divmod(unique, len(self.idf))
        values = (1.0 + np.log(counts)) * self.idf[cols]
        norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=n_rows))
        values /= norms[rows]
        return SparseRows(n_rows, rows, cols, values)


@dataclass(frozen=True)
class SentimentModel:
    """The shipped model: text weights over the vectorizer, plus emoticon weights."""

    vectorizer: Vectorizer
    weights: FloatArray
    bias: float
    emoticon_weights: dict[str, float]
    info: dict[str, str]

    def text_logits(self, texts: Sequence[str]) -> FloatArray:
        return self.logits_of(self.vectorizer.transform(texts))

    def logits_of(self, x: SparseRows) -> FloatArray:
        """Text logits of rows this model's vectorizer produced."""
        dots = np.bincount(x.rows, weights=x.values * self.weights[x.cols], minlength=x.n_rows)
        return np.asarray(dots + self.bias, dtype=np.float64)

    def emoticon_logits(self, texts: Sequence[str]) -> FloatArray:
        """Sum of the weights of each distinct known emoticon in each text."""
        weights = self.emoticon_weights
        return np.array(
            [sum(weights.get(e, 0.0) for e in set(emoticon_names(t))) for t in texts], dtype=np.float64
        )

    def predict_proba(self, texts: Sequence[str], *, read_emoticons: bool = True) -> FloatArray:
        """P(positive) per text, in input order."""
        logits = self.text_logits(texts)
        if read_emoticons and self.emoticon_weights:
            logits = logits + self.emoticon_logits(texts)
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float64)
