"""Drop messages that carry no words of their own.

A bare ``@官方客服``, a row of ``[哈哈]`` or emoji, a lone link, Weibo's default repost text
``转发微博`` or a repost chain ``//@a://@b:`` with nothing in front of it gives an operator
nothing to answer. Such messages are dropped with reason ``empty`` and a tag saying which
kind of emptiness it was, so a reviewer can still find them. A message that brings a photo,
voice note or video is never empty: it is kept and tagged ``media``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from servicehub.filters.textnorm import anatomy, has_wordlike, normalize
from servicehub.filters.verdict import PASS, FilterInput, Outcome, RecentText

REASON = "empty"
MEDIA = Outcome(tags=("media",))


def emptiness(text: str) -> str | None:
    """Why ``text`` is empty (``blank``, ``repost``, ``link``, ``mentions``, ``emoji``,
    ``punctuation``), or None when the author wrote something."""
    norm = normalize(text)
    if not norm:
        return "blank"
    parts = anatomy(norm)
    if has_wordlike(parts.own):
        return None
    if parts.chain or parts.default_repost:
        return "repost"
    if parts.had_links:
        return "link"
    if parts.had_emoticons or parts.had_emoji:
        return "emoji"
    if parts.had_mentions:
        return "mentions"
    return "punctuation"


class EmptyFilter:
    """Drops messages for which :func:`emptiness` finds a reason."""

    name = "empty"

    def run(self, items: Sequence[FilterInput], recent: Mapping[str, Sequence[RecentText]]) -> list[Outcome]:
        outcomes = []
        for item in items:
            if item.attachments:
                outcomes.append(MEDIA)
                continue
            why = emptiness(item.text)
            outcomes.append(PASS if why is None else Outcome(drop=REASON, tags=(f"empty:{why}",)))
        return outcomes
