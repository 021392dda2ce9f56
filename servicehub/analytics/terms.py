"""The keywords of one customer message, for the trends page.

The same terms keyword extraction sees (:func:`servicehub.filters.keyphrases.terms_of`: the
shared jieba tokenizer keeping product names such as 5G套餐 whole, minus the service
stop-word list), less counts said in words (两次, 三天), which say how much, not what
about, and tokens longer than the rollup's column.

Cached per text: during an outage thousands of customers send the same words.
"""

from __future__ import annotations

import re
from functools import lru_cache

from servicehub.filters.keyphrases import stopwords, terms_of

MAX_LENGTH = 32  # the column's width; longer tokens are not words people search for

# Counts said in words (两次, 三天, 几个, 一整天): how much, not what about.
_COUNTED = re.compile(r"^[一二两三四五六七八九十百千几半每整]+[次个天条遍下回块元分秒年月周号片]?[天次]?$")


@lru_cache(maxsize=65536)
def terms(text: str) -> frozenset[str]:
    """The distinct keywords of ``text``."""
    return frozenset(
        w for w in terms_of(text, skip=stopwords()) if len(w) <= MAX_LENGTH and not _COUNTED.match(w)
    )
