"""Spot a customer saying the same thing again, so it joins the request already open.

Customers repeat themselves when nobody answers fast enough: the same complaint as a
mention, then as a comment, then with one more ``！``. Such a message is *kept* (it is the
customer talking) but marked ``duplicate_of`` the first one and tagged ``duplicate``, and
routing joins it to that message's request instead of opening a new one.

Two texts match when their :func:`~servicehub.filters.textnorm.content_signature` (letters,
digits and CJK only) are equal, or when the Jaccard similarity of their character bigrams
reaches ``duplicate_similarity``, and they were written within ``duplicate_window_minutes``
of each other by the same author. Earlier messages of the same batch count too; the batch
is walked oldest first because platforms list newest first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from servicehub.filters.settings import FilterSettings
from servicehub.filters.textnorm import content_signature
from servicehub.filters.verdict import PASS, FilterInput, Outcome, RecentText

TAG = "duplicate"


@lru_cache(maxsize=32768)
def char_bigrams(signature: str) -> frozenset[str]:
    """Character bigrams of ``signature``; a one-character text is its own single gram."""
    if len(signature) < 2:
        return frozenset((signature,)) if signature else frozenset()
    return frozenset(signature[i : i + 2] for i in range(len(signature) - 1))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two bigram sets (1.0 for identical, 0.0 when either is empty)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return len(a & b) / len(a | b)


def as_utc(moment: datetime) -> datetime:
    """Aware UTC time; naive values (as SQLite hands them back) are taken to be UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class _Seen:
    platform_id: str
    signature: str
    grams: frozenset[str]
    at: datetime
    root: str
    """The platform id a match should point at: the first message of a run of repeats."""


class DuplicateFilter:
    """Marks near-duplicates of the same author's recent or same-batch messages."""

    name = "duplicate"

    def __init__(self, settings: FilterSettings) -> None:
        self._window = timedelta(minutes=settings.duplicate_window_minutes)
        self._threshold = settings.duplicate_similarity

    def _best(
        self, signature: str, grams: frozenset[str], at: datetime, pool: Sequence[_Seen]
    ) -> _Seen | None:
        best: _Seen | None = None
        best_score = 0.0
        for seen in pool:
            if abs(seen.at - at) > self._window:
                continue
            score = 1.0 if seen.signature == signature else similarity(grams, seen.grams)
            if score < self._threshold:
                continue
            if best is None or score > best_score or (score == best_score and seen.at < best.at):
                best, best_score = seen, score
        return best

    def run(self, items: Sequence[FilterInput], recent: Mapping[str, Sequence[RecentText]]) -> list[Outcome]:
        outcomes: list[Outcome] = [PASS] * len(items)
        pools: dict[str, list[_Seen]] = {}
        order = sorted(range(len(items)), key=lambda i: as_utc(items[i].created_at))
        batch_ids = {item.platform_id for item in items}
        for index in order:
            item = items[index]
            signature = content_signature(item.text)
            if not signature:
                continue
            pool = pools.get(item.author_uid)
            if pool is None:
                pool = pools[item.author_uid] = [
                    _Seen(r.platform_id, sig, char_bigrams(sig), as_utc(r.created_at), r.platform_id)
                    for r in recent.get(item.author_uid, ())
                    if r.platform_id not in batch_ids and (sig := content_signature(r.text))
                ]
            at = as_utc(item.created_at)
            grams = char_bigrams(signature)
            match = self._best(signature, grams, at, pool)
            root = item.platform_id
            if match is not None:
                root = match.root
                outcomes[index] = Outcome(tags=(TAG,), duplicate_of=root)
            pool.append(_Seen(item.platform_id, signature, grams, at, root))
        return outcomes
