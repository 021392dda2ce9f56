"""The ``[filters]`` table of settings.toml, validated once when the chain is built.

A typo in settings.toml should stop the hub at start-up with the offending key named, not
silently run with a default; so unknown keys and wrong types raise :class:`ValueError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FILTER_NAMES: tuple[str, ...] = ("empty", "spam", "duplicate", "keywords", "sentiment")

DEFAULTS: dict[str, Any] = {
    "order": list(FILTER_NAMES),
    "duplicate_window_minutes": 30,
    "duplicate_similarity": 0.9,
    "spam_max_mentions": 5,
    "spam_repeat_min": 3,
    "spam_patterns": [],
    "negative_below": 0.4,
    "positive_above": 0.6,
    "sentiment_reads_emoticons": True,
}
"""Every key ``[filters]`` accepts, with the value used when settings.toml leaves it out."""


def _fail(key: str, problem: str, value: object) -> ValueError:
    return ValueError(f"filters.{key} {problem}, got {value!r}")


def _number(m: Mapping[str, Any], key: str) -> float:
    value = m.get(key, DEFAULTS[key])
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(key, "must be a number", value)
    return float(value)


def _integer(m: Mapping[str, Any], key: str, minimum: int) -> int:
    value = m.get(key, DEFAULTS[key])
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(key, "must be an integer", value)
    if value < minimum:
        raise _fail(key, f"must be at least {minimum}", value)
    return value


def _strings(m: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = m.get(key, DEFAULTS[key])
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise _fail(key, "must be a list of strings", value)
    if not all(isinstance(v, str) for v in value):
        raise _fail(key, "must be a list of strings", value)
    return tuple(value)


def _boolean(m: Mapping[str, Any], key: str) -> bool:
    value = m.get(key, DEFAULTS[key])
    if not isinstance(value, bool):
        raise _fail(key, "must be true or false", value)
    return value


@dataclass(frozen=True)
class FilterSettings:
    """Validated ``[filters]`` settings; build with :meth:`from_mapping`."""

    order: tuple[str, ...] = FILTER_NAMES
    duplicate_window_minutes: float = 30.0
    duplicate_similarity: float = 0.9
    spam_max_mentions: int = 5
    spam_repeat_min: int = 3
    spam_patterns: tuple[re.Pattern[str], ...] = ()
    negative_below: float = 0.4
    positive_above: float = 0.6
    sentiment_reads_emoticons: bool = True

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> FilterSettings:
        """Validate ``m`` (missing keys take :data:`DEFAULTS`); raises ValueError naming the key."""
        for key in m:
            if key not in DEFAULTS:
                raise ValueError(f"filters.{key} is not a known setting (known: {', '.join(DEFAULTS)})")
        order = _strings(m, "order")
        for name in order:
            if name not in FILTER_NAMES:
                raise _fail(
                    "order", f"names unknown filter {name!r} (known: {', '.join(FILTER_NAMES)})", order
                )
        if len(set(order)) != len(order):
            raise _fail("order", "lists a filter twice", list(order))
        window = _number(m, "duplicate_window_minutes")
        if window < 0:
            raise _fail("duplicate_window_minutes", "must not be negative", window)
        similarity = _number(m, "duplicate_similarity")
        if not 0.0 < similarity <= 1.0:
            raise _fail("duplicate_similarity", "must be in (0, 1]", similarity)
        patterns = []
        for source in _strings(m, "spam_patterns"):
            try:
                patterns.append(re.compile(source, re.IGNORECASE))
            except re.error as exc:
                raise _fail("spam_patterns", f"holds an invalid regular expression ({exc})", source) from exc
        negative_below = _number(m, "negative_below")
        positive_above = _number(m, "positive_above")
        if not 0.0 <= negative_below <= 1.0:
            raise _fail("negative_below", "must be in [0, 1]", negative_below)
        if not 0.0 <= positive_above <= 1.0:
            raise _fail("positive_above", "must be in [0, 1]", positive_above)
        if negative_below > positive_above:
            raise _fail(
                "negative_below", f"must not exceed positive_above ({positive_above})", negative_below
            )
        return cls(
            order=order,
            duplicate_window_minutes=window,
            duplicate_similarity=similarity,
            spam_max_mentions=_integer(m, "spam_max_mentions", 0),
            spam_repeat_min=_integer(m, "spam_repeat_min", 2),
            spam_patterns=tuple(patterns),
            negative_below=negative_below,
            positive_above=positive_above,
            sentiment_reads_emoticons=_boolean(m, "sentiment_reads_emoticons"),
        )
