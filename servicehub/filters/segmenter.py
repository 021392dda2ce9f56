"""One jieba tokenizer per process, built on first use, with the hub's service terms.

jieba's dictionary takes about a second and ~60 MB to load, so it is loaded lazily (a
worker that never sees a keyword candidate never pays) and exactly once. The hub uses a
private :class:`jieba.Tokenizer` rather than jieba's global one so that another module
calling ``jieba.add_word`` cannot change how listening keywords match. Precise mode with
the HMM off: unknown-word guessing makes boundaries less predictable and is slower.

Product and service names are registered as user terms so they segment whole (5G套餐,
携号转网, 宽带提速, 副卡): the shipped list ``dicts/service_terms.txt`` on load, and any
list given to :func:`add_terms` at runtime -- the terms administrators manage live in the
database, so the caller passes them in. Listening keywords (:mod:`servicehub.filters.keywords`)
and keyword extraction (:mod:`servicehub.filters.keyphrases`) share this tokenizer, so a
registered term segments the same way for both. :func:`add_terms` is idempotent and safe
to call from several threads while others tokenize: registration is serialized by a
lock, and jieba only reads its frequency table while cutting.

Note: on its first run jieba caches its parsed dictionary in the system temp directory;
that is jieba's own behaviour, not a file this package writes.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from importlib import resources
from types import MappingProxyType
from typing import Any

from servicehub.filters.textnorm import normalize

TERMS_RESOURCE = "dicts/service_terms.txt"
TERM_RE = re.compile(r"[\u4e00-\u9fd5a-z0-9+#&._%-]{2,40}")
"""What jieba can keep whole in precise mode: CJK, Latin, digits and ``+#&._%-``."""

_lock = threading.Lock()
_tokenizer: Any = None
_terms: dict[str, int] = {}
"""Registered term -> jieba's frequency of it before registration (0 for a new word)."""


def read_list(resource: str) -> list[str]:
    """Lines of a packaged word list, comments (``#``) and blanks dropped, normalized."""
    text = resources.files(__package__).joinpath(resource).read_text(encoding="utf-8")
    lines = (normalize(line.split("#", 1)[0]) for line in text.splitlines())
    return [line for line in lines if line]


def _register(tokenizer: Any, term: str) -> bool:
    """Add one normalized term (caller holds the lock or owns the tokenizer); True if new."""
    if term in _terms or not TERM_RE.fullmatch(term):
        return False
    before = int(tokenizer.FREQ.get(term, 0))
    # suggest_freq keeps the term whole on its own; a margin keeps it whole next to
    # neighbours that would otherwise pull a character away (主副卡, 办宽带提速).
    tokenizer.add_word(term, max(tokenizer.suggest_freq(term, False) * 10, before, 1000))
    _terms[term] = before
    return True


def _load() -> Any:
    import jieba

    # jieba logs dictionary loading at DEBUG to its own stderr handler; keep it quiet.
    logging.getLogger("jieba").setLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for term in read_list(TERMS_RESOURCE):
        _register(tokenizer, term)
    return tokenizer


def _get() -> Any:
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                _tokenizer = _load()
    return _tokenizer


def add_terms(terms: Iterable[str]) -> int:
    """Register user terms so they segment whole; returns how many were new.

    Terms are normalized like message text; blank ones, ones already known and ones jieba
    cannot keep whole (spaces, punctuation other than ``+#&._%-``, one character) are
    skipped. Registration is for the life of the process; it never removes a term.
    """
    wanted = [t for t in (normalize(term) for term in terms) if t and t not in _terms]
    if not wanted:
        return 0
    tokenizer = _get()
    with _lock:
        return sum(_register(tokenizer, term) for term in wanted)


def remove_terms(terms: Iterable[str]) -> int:
    """Forget terms registered with :func:`add_terms` (jieba gets back its own frequency for
    them, so a removed product name splits as it would have); shipped terms stay."""
    shipped = set(read_list(TERMS_RESOURCE))
    tokenizer = _get()
    removed = 0
    with _lock:
        for term in {normalize(t) for t in terms} - shipped:
            if term in _terms:
                before = _terms.pop(term)
                if before:
                    tokenizer.add_word(term, before)
                else:
                    tokenizer.del_word(term)
                removed += 1
    return removed


def user_terms() -> MappingProxyType[str, int]:
    """The registered terms (shipped and added), each with jieba's frequency of it before."""
    _get()
    return MappingProxyType(_terms)


def spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the tokens of ``text``, covering it from end to end."""
    return [(start, end) for _word, start, end in _get().tokenize(text, mode="default", HMM=False)]


def words(text: str) -> list[str]:
    """The tokens of ``text`` in order (spaces and punctuation included, as jieba cuts them)."""
    return list(_get().cut(text, HMM=False))


def is_word(text: str) -> bool:
    """Whether ``text`` is an entry of jieba's dictionary (registered terms included)."""
    return bool(_get().FREQ.get(text, 0) > 0)


def dictionary_total() -> int:
    """The sum of jieba's word frequencies (the denominator of its word probabilities)."""
    return int(_get().total)


def frequency(word: str) -> int:
    """jieba's frequency of ``word`` (0 if unknown)."""
    return int(_get().FREQ.get(word, 0))
