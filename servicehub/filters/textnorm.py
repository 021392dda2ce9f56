"""Weibo / WeChat text surgery shared by every filter, the sentiment model and its trainer.

Keeping these rules in one place matters most for sentiment: the trainer and the runtime
must normalize text identically, or the shipped model scores something it never saw.

Facts used (reference/weibo-api.md section 6): mentions are plain ``@昵称`` text that end at
whitespace or punctuation and may follow each other without separators; a repost prepends
``//@昵称:`` per hop and an empty repost defaults to ``转发微博``; links are rewritten to
``http://t.cn/…`` and Weibo may append a zero-width space; emoticons are ``[名字]`` codes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

EMOTICON_RE = re.compile(r"\[[^\[\]\s]{1,12}\]")
"""A bracketed emoticon code such as ``[哈哈]``, ``[good]`` or ``[xkl转圈]``."""

MENTION_RE = re.compile(r"@[\u4e00-\u9fffA-Za-z0-9_\-]{1,30}")
REPOST_HOP_RE = re.compile(r"//\s*@[^:：\s/]{1,30}\s*[:：]")
"""One hop of a repost chain: ``//@name:`` (half- or full-width colon)."""

URL_RE = re.compile(
    r"(?:https?://|www\.)[^\s\u3000-\u303f\uff01-\uff5e\u4e00-\u9fff<>\"']+"
    r"|\b(?:t\.cn|url\.cn|dwz\.cn|m\.tb\.cn|tb\.cn|u\.jd\.com)/[0-9A-Za-z]+",
    re.IGNORECASE,
)
REPOST_DEFAULT_RE = re.compile(r"^\s*(?:转发微博|轉發微博|repost)\s*$", re.IGNORECASE)

_INVISIBLE_RE = re.compile(r"[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
_SPACE_RE = re.compile(r"\s+")
_EMOJI_RE = re.compile(
    "["
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, symbols & pictographs ext.
    "\u2600-\u27bf"  # misc symbols and dingbats
    "\u2b00-\u2bff"  # arrows and stars often used as emoji
    "\u2190-\u21ff"
    "\u2300-\u23ff"
    "\ufe00-\ufe0f\u200d\u20e3"  # variation selectors, ZWJ, keycap
    "\U000e0020-\U000e007f"  # tag characters (flags)
    "]"
)
_WORDLIKE_RE = re.compile(r"[^\W_]")
"""A letter, digit or CJK ideograph: what counts as "own content"."""


@lru_cache(maxsize=8192)
def normalize(text: str) -> str:
    """NFKC (full-width to half-width), case-folded, invisible characters removed, spaces collapsed.

    Every filter starts here, so results are memoized: a batch is normalized once, not once
    per filter.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE_RE.sub("", text).casefold()
    return _SPACE_RE.sub(" ", text).strip()


def strip_emoticons(text: str) -> str:
    """Remove ``[xx]`` codes without leaving a gap, so no trace of them reaches a model."""
    return EMOTICON_RE.sub("", text)


def emoticons(text: str) -> list[str]:
    """The ``[xx]`` codes in ``text``, in order (used as features of their own)."""
    return EMOTICON_RE.findall(text)


def mentions(text: str) -> list[str]:
    """@names outside repost-hop markers (``//@a:`` names who reposted, not whom was asked)."""
    return MENTION_RE.findall(REPOST_HOP_RE.sub(" ", text))


def has_wordlike(text: str) -> bool:
    return _WORDLIKE_RE.search(text) is not None


@dataclass(frozen=True, slots=True)
class Anatomy:
    """A message split into what its author wrote and what they only passed on."""

    own: str
    """Text before the first repost hop, with mentions, links, emoticons and emoji removed."""
    chain: str
    """Everything from the first ``//@name:`` hop on (raw)."""
    had_mentions: bool
    had_links: bool
    had_emoticons: bool
    had_emoji: bool
    default_repost: bool
    """The own text was only Weibo's default ``转发微博``."""


def anatomy(text: str) -> Anatomy:
    """Split ``text`` (already :func:`normalize`-d) into own words and passed-on chain."""
    hop = REPOST_HOP_RE.search(text)
    own, chain = (text[: hop.start()], text[hop.start() :]) if hop else (text, "")
    no_links = URL_RE.sub(" ", own)
    no_mentions = MENTION_RE.sub(" ", no_links)
    no_emoticons = EMOTICON_RE.sub(" ", no_mentions)
    no_emoji = _EMOJI_RE.sub(" ", no_emoticons)
    default_repost = REPOST_DEFAULT_RE.match(no_emoji) is not None
    if default_repost:
        no_emoji = ""
    return Anatomy(
        own=_SPACE_RE.sub(" ", no_emoji).strip(),
        chain=chain,
        had_mentions=no_mentions != no_links,
        had_links=no_links != own,
        had_emoticons=no_emoticons != no_mentions,
        had_emoji=_EMOJI_RE.search(no_emoticons) is not None,
        default_repost=default_repost,
    )


# Cached: an author's recent messages are compared again with every new batch, and during an
# outage many customers send the same words.
@lru_cache(maxsize=32768)
def content_signature(text: str) -> str:
    """What two messages must share to count as the same words: letters, digits and CJK only.

    Links (random t.cn codes), mentions, emoticons, emoji, punctuation and spacing are
    dropped, so ``@联通客服 宽带又断了！！[怒]`` and ``宽带又断了 @联通`` share a signature.
    """
    text = normalize(text)
    text = URL_RE.sub(" ", text)
    text = MENTION_RE.sub(" ", REPOST_HOP_RE.sub(" ", text))
    text = EMOTICON_RE.sub(" ", text)
    return "".join(_WORDLIKE_RE.findall(text))


def listening_text(text: str) -> str:
    """Normalized text a keyword may match: mentions, links and emoticons blanked out.

    Blanking (not deleting) keeps words on either side of a removed @name apart, and
    removing mentions stops a keyword like ``联通`` from matching ``@中国联通客服`` itself.
    """
    text = normalize(text)
    text = URL_RE.sub(" ", text)
    text = MENTION_RE.sub(" ", REPOST_HOP_RE.sub(" ", text))
    return EMOTICON_RE.sub(" ", text)
