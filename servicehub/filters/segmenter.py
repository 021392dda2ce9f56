"""One jieba tokenizer per process, built on first use.

jieba's dictionary takes about a second and ~60 MB to load, so it is loaded lazily (a
worker that never sees a keyword candidate never pays) and exactly once. The hub uses a
private :class:`jieba.Tokenizer` rather than jieba's global one so that another module
calling ``jieba.add_word`` cannot change how listening keywords match. Precise mode with
the HMM off: unknown-word guessing makes boundaries less predictable and is slower.

Note: on its first run jieba caches its parsed dictionary in the system temp directory;
that is jieba's own behaviour, not a file this package writes.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

_lock = threading.Lock()
_tokenizer: Any = None


def _load() -> Any:
    import jieba

    # jieba logs dictionary loading at DEBUG to its own stderr handler; keep it quiet.
    logging.getLogger("jieba").setLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _get() -> Any:
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                _tokenizer = _load()
    return _tokenizer


def spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the tokens of ``text``, covering it from end to end."""
    return [(start, end) for _word, start, end in _get().tokenize(text, mode="default", HMM=False)]


def is_word(text: str) -> bool:
    """Whether ``text`` is an entry of jieba's dictionary."""
    return bool(_get().FREQ.get(text, 0) > 0)
