"""The ordered filter chain the listener runs over every polled or pushed batch.

Each filter is a small object with ``name`` and ``run(items, recent) -> list[Outcome]``;
the chain calls them in ``[filters].order``, each on the messages still alive, so a filter
sees the whole remaining batch at once (sentiment scores it in one vectorized call, the
duplicate and spam filters compare messages within it). A drop stops the chain for that
message, but its verdict keeps the reason and the tags gathered so far: the hub stores
dropped messages for review, it deletes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from servicehub.filters.duplicates import DuplicateFilter
from servicehub.filters.empty import EmptyFilter
from servicehub.filters.keywords import KeywordFilter
from servicehub.filters.sentiment import SentimentFilter
from servicehub.filters.settings import DEFAULTS, FILTER_NAMES, FilterSettings
from servicehub.filters.spam import SpamFilter
from servicehub.filters.verdict import FilterInput, ListeningRule, Outcome, RecentText, Verdict

__all__ = ["DEFAULTS", "FILTER_NAMES", "BatchFilter", "FilterChain", "FilterSettings"]

_NO_RECENT: Mapping[str, Sequence[RecentText]] = MappingProxyType({})


class BatchFilter(Protocol):
    """What the chain needs of a filter: one outcome per item, in order."""

    @property
    def name(self) -> str: ...

    def run(
        self, items: Sequence[FilterInput], recent: Mapping[str, Sequence[RecentText]]
    ) -> list[Outcome]: ...


_FACTORIES: dict[str, Callable[[FilterSettings, Sequence[ListeningRule]], BatchFilter]] = {
    "empty": lambda settings, rules: EmptyFilter(),
    "spam": lambda settings, rules: SpamFilter(settings),
    "duplicate": lambda settings, rules: DuplicateFilter(settings),
    "keywords": lambda settings, rules: KeywordFilter(rules),
    "sentiment": lambda settings, rules: SentimentFilter(settings),
}


@dataclass
class _Draft:
    """A verdict being assembled as the filters run."""

    reason: str | None = None
    tags: list[str] = field(default_factory=list)
    sentiment: float | None = None
    sentiment_label: str | None = None
    duplicate_of: str | None = None
    listening_task_ids: tuple[int, ...] = ()
    intent: str | None = None
    escalation: tuple[str, ...] = ()

    def absorb(self, outcome: Outcome) -> None:
        self.tags.extend(t for t in outcome.tags if t not in self.tags)
        if outcome.drop is not None:
            self.reason = outcome.drop
        if outcome.sentiment is not None:
            self.sentiment, self.sentiment_label = outcome.sentiment, outcome.sentiment_label
        if outcome.duplicate_of is not None:
            self.duplicate_of = outcome.duplicate_of
        if outcome.intent is not None:
            self.intent = outcome.intent
        if outcome.escalation:
            self.escalation = outcome.escalation
        if outcome.listening_task_ids:
            self.listening_task_ids = tuple(sorted({*self.listening_task_ids, *outcome.listening_task_ids}))

    def verdict(self) -> Verdict:
        return Verdict(
            keep=self.reason is None,
            reason=self.reason,
            tags=tuple(self.tags),
            sentiment=self.sentiment,
            sentiment_label=self.sentiment_label,
            duplicate_of=self.duplicate_of,
            listening_task_ids=self.listening_task_ids,
            intent=self.intent,
            escalation=self.escalation,
        )


class FilterChain:
    """Runs the configured filters over batches; build once per settings and rule set.

    Stateless between batches and safe to share between threads; the heavy parts
    (jieba, the sentiment model) are loaded on first use and cached per process.
    """

    def __init__(
        self,
        settings: FilterSettings,
        rules: Sequence[ListeningRule] = (),
        *,
        filters: Sequence[BatchFilter] | None = None,
    ) -> None:
        """Build the filters named in ``settings.order``; ``filters`` replaces them (tests, tools)."""
        self.settings = settings
        self.rules = tuple(rules)
        self.filters: tuple[BatchFilter, ...] = (
            tuple(filters)
            if filters is not None
            else tuple(_FACTORIES[n](settings, self.rules) for n in settings.order)
        )

    def run_batch(
        self,
        items: Sequence[FilterInput],
        recent: Mapping[str, Sequence[RecentText]] | None = _NO_RECENT,
    ) -> list[Verdict]:
        """One verdict per item, in order. ``recent`` maps author uid to their recent messages."""
        recent = _NO_RECENT if recent is None else recent
        drafts = [_Draft() for _ in items]
        for stage in self.filters:
            alive = [i for i, d in enumerate(drafts) if d.reason is None]
            if not alive:
                break
            outcomes = stage.run([items[i] for i in alive], recent)
            if len(outcomes) != len(alive):
                raise RuntimeError(
                    f"filter {stage.name!r} returned {len(outcomes)} outcomes for {len(alive)} items"
                )
            for i, outcome in zip(alive, outcomes, strict=True):
                drafts[i].absorb(outcome)
        return [d.verdict() for d in drafts]
