"""Weibo's own way of counting text, checked before we spend quota on a doomed write.

Weibo limits are in "汉字" (CJK characters): a code point up to U+00FF counts half, the
rest of the BMP one, anything above U+FFFF (emoji) two, and every http(s) URL a fixed 10
because the platform rewrites it to a t.cn short link (reference §6.1). Counting in half
units keeps the arithmetic exact; the result is rounded up as the platform does.
"""

from __future__ import annotations

import re

from servicehub.adapters.errors import Rejected

POST_LIMIT = 140  # posts, reposts, comments, comment replies
MESSAGE_LIMIT = 300  # direct messages and fans-service replies
URL_UNITS = 20  # half units: a URL counts as 10 characters

# RFC 3986 characters only: a URL ends at the first space or non-ASCII character,
# which is how "看这里http://t.cn/abc好的" is written on Weibo.
URL_RE = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")

# A nickname: CJK, letters, digits, '_' and '-' (reference §6.2); it ends at anything else.
MENTION_RE = re.compile(r"@([\u4e00-\u9fffA-Za-z0-9_\-]{1,30})")

# Bracketed emoticon codes such as [微笑], [doge], [二哈]; at least one letter or CJK
# character so that "[1]" and "[2024]" survive.
EMOTICON_RE = re.compile(r"\[(?=[^\]]*[\u4e00-\u9fffA-Za-z])[\u4e00-\u9fffA-Za-z0-9_]{1,8}\]")

# Unicode emoji and the joiners/selectors that glue them together.
EMOJI_RE = re.compile(
    "["
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, supplemental symbols
    "\u2600-\u27bf"  # misc symbols and dingbats
    "\u2b00-\u2bff"  # arrows and stars used as emoji
    "\ufe0e\ufe0f\u200d\u20e3"  # variation selectors, zero-width joiner, keycap
    "]+"
)


def _units(ch: str) -> int:
    code = ord(ch)
    if code <= 0xFF:
        return 1
    if code > 0xFFFF:
        return 4
    return 2


def weibo_length(text: str) -> int:
    """The length Weibo compares with its 140/300 limits."""
    units = 0
    position = 0
    for match in URL_RE.finditer(text):
        units += sum(_units(ch) for ch in text[position : match.start()]) + URL_UNITS
        position = match.end()
    units += sum(_units(ch) for ch in text[position:])
    return (units + 1) // 2


def ensure_length(text: str, limit: int, label: str) -> None:
    """Raise :class:`Rejected` ("评论超过140字 (146)") before sending text the platform would refuse."""
    if not text.strip():
        raise Rejected(f"{label}内容为空")
    length = weibo_length(text)
    if length > limit:
        raise Rejected(f"{label}超过{limit}字 ({length})")


def split_mentions(text: str) -> tuple[list[str], str]:
    """The ``@nicknames`` in ``text`` (in order, without repeats) and the text without them."""
    names: list[str] = []
    for name in MENTION_RE.findall(text):
        if name not in names:
            names.append(name)
    rest = MENTION_RE.sub("", text)
    return names, re.sub(r"[ \t]{2,}", " ", rest).strip()


def strip_repost_chain(text: str) -> str:
    """The reposter's own words: everything before the first ``//@nickname:`` hop."""
    head, _, _ = text.partition("//@")
    return head.strip()


def strip_emoticons(text: str) -> str:
    """Text without ``[表情]`` codes and Unicode emoji, for filters and sentiment scoring."""
    without = EMOJI_RE.sub("", EMOTICON_RE.sub("", text))
    return re.sub(r"[ \t]{2,}", " ", without).strip()
