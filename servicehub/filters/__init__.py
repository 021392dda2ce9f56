"""Filters: an ordered chain of small, pure filters that turns inbound messages into verdicts.

Pure means no database, no network and no file writes: the package only reads its own
shipped sentiment model, once per process. See :mod:`servicehub.filters.chain`.
"""

from __future__ import annotations

from servicehub.filters.chain import FilterChain
from servicehub.filters.settings import DEFAULTS, FilterSettings
from servicehub.filters.verdict import FilterInput, ListeningRule, RecentText, Verdict

__all__ = [
    "DEFAULTS",
    "FilterChain",
    "FilterInput",
    "FilterSettings",
    "ListeningRule",
    "RecentText",
    "Verdict",
]
