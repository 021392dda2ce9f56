"""Weibo's text rules: the 140-character count, URLs, @mentions, #topics# and t.cn links.

Written for the simulator on its own (the adapter has its own counter) so that a mismatch
between the two shows up in tests instead of being hidden by shared code.
"""

from __future__ import annotations

import hashlib
import re

URL_RE = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
MENTION_RE = re.compile(r"@([\u4e00-\u9fa5A-Za-z0-9_\-]{1,30})")
TOPIC_RE = re.compile(r"#([^#\s][^#]*?)#")
_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

STATUS_LIMIT = 140  # posts and comments, in 汉字
MESSAGE_LIMIT = 300  # private messages and fans-service replies, in 汉字
URL_HALF_UNITS = 20  # every link counts as 10 汉字 whatever its length


def weibo_half_units(text: str) -> int:
    """Length in half-width units: Latin-1 = 1, other BMP = 2, astral (emoji) = 4, URL = 20."""
    units = URL_HALF_UNITS * len(URL_RE.findall(text))
    for ch in URL_RE.sub("", text):
        code = ord(ch)
        if code <= 0xFF:
            units += 1
        elif code > 0xFFFF:
            units += 4
        else:
            units += 2
    return units


def weibo_length(text: str) -> int:
    """Length in 汉字 as Weibo counts it: half units, rounded up."""
    return (weibo_half_units(text) + 1) // 2


def url_hosts(text: str) -> list[str]:
    hosts: list[str] = []
    for url in URL_RE.findall(text):
        rest = url.split("://", 1)[1]
        host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
        hosts.append(host.lower())
    return hosts


def host_in_domains(host: str, domains: list[str] | tuple[str, ...]) -> bool:
    """True when ``host`` is a safe domain or a subdomain of one (``www.10010.com``)."""
    for domain in domains:
        d = domain.lower().lstrip(".")
        if host == d or host.endswith("." + d):
            return True
    return False


def has_topic(text: str) -> bool:
    return TOPIC_RE.search(URL_RE.sub(" ", text)) is not None


def mention_names(text: str) -> list[str]:
    """Screen names after ``@`` (URLs removed first), in order, without duplicates."""
    seen: list[str] = []
    for name in MENTION_RE.findall(URL_RE.sub(" ", text)):
        if name not in seen:
            seen.append(name)
    return seen


def short_code(url: str) -> str:
    digest = int.from_bytes(hashlib.sha1(url.encode("utf-8")).digest()[:8], "big")
    chars = []
    for _ in range(7):
        digest, rem = divmod(digest, 62)
        chars.append(_BASE62[rem])
    return "".join(chars)


def shorten_urls(text: str) -> str:
    """Rewrite links to ``http://t.cn/xxxxxxx`` the way Weibo stores posted text."""

    def swap(match: re.Match[str]) -> str:
        url = match.group(0)
        if url.startswith(("http://t.cn/", "https://t.cn/")):
            return url
        return "http://t.cn/" + short_code(url)

    return URL_RE.sub(swap, text)
