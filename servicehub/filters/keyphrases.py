"""Keywords for trends: what a batch of customer messages talks about, product names whole.

:func:`extract_keywords` segments each message with the hub's shared jieba tokenizer
(:mod:`servicehub.filters.segmenter`, whose user terms keep 5G套餐, 携号转网, 宽带提速 and
副卡 whole), drops what says nothing -- the service stop-word list
``dicts/service_stopwords.txt``, single characters, punctuation, bare numbers, @names,
links and emoticons -- and ranks the rest by

    documents containing the term  x  ln(jieba dictionary total / (1 + background frequency))

so a term many messages share ranks high unless it is an everyday word (时候, 已经 …)
whose dictionary frequency is large. Registered terms rank by their frequency *before*
registration (0 for a new product name), so a product name is never demoted for being
registered. ``extra_terms`` are the administrators' terms, passed as a plain list: they are
registered with the shared tokenizer (idempotent, thread-safe) and never count as stop words.

Pure: no I/O beyond reading the packaged lists once per process.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from servicehub.filters import segmenter
from servicehub.filters.textnorm import listening_text, normalize

STOPWORDS_RESOURCE = "dicts/service_stopwords.txt"
_CONTENT_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]|[a-z]")
"""A term must hold a CJK character or a Latin letter (bare numbers are not topics)."""

_lock = threading.Lock()
_stopwords: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Keyword:
    """One ranked term: how many of the texts contain it and its score."""

    term: str
    documents: int
    score: float


def stopwords() -> frozenset[str]:
    """The packaged service stop-word list, normalized, read once per process."""
    global _stopwords
    if _stopwords is None:
        with _lock:
            if _stopwords is None:
                _stopwords = frozenset(segmenter.read_list(STOPWORDS_RESOURCE))
    return _stopwords


def terms_of(text: str, *, skip: frozenset[str], keep: Iterable[str] = ()) -> set[str]:
    """The distinct candidate terms of one message (``keep`` wins over ``skip``)."""
    kept = set(keep)
    found = set()
    for word in segmenter.words(listening_text(text)):
        if word in kept or (
            len(word) >= 2 and word not in skip and _CONTENT_RE.search(word) and not word.isspace()
        ):
            found.add(word)
    return found


def extract_keywords(
    texts: Iterable[str], *, top: int = 20, extra_terms: Iterable[str] = ()
) -> list[Keyword]:
    """The ``top`` keywords of ``texts``, best first (ties: more documents, then the term).

    ``extra_terms`` (e.g. the administrators' product names) are registered with the
    shared tokenizer first, so they segment whole here and in listening keywords alike.
    """
    extra = [t for t in (normalize(t) for t in extra_terms) if t]
    segmenter.add_terms(extra)
    registered = segmenter.user_terms()
    keep = {t for t in extra if t in registered}
    skip = stopwords() - keep
    documents: Counter[str] = Counter()
    for text in texts:
        documents.update(terms_of(text, skip=skip, keep=keep))
    total = segmenter.dictionary_total()

    def background(term: str) -> int:
        return registered[term] if term in registered else segmenter.frequency(term)

    ranked = [
        Keyword(term, count, count * math.log(total / (1 + background(term))))
        for term, count in documents.items()
    ]
    ranked.sort(key=lambda k: (-k.score, -k.documents, k.term))
    return ranked[: max(0, top)]
