"""Filters: an ordered chain of small, pure filters that turns inbound messages into verdicts.

Pure means no database, no network and no file writes: the package only reads what it
ships -- the binary and the service sentiment models (``model/``) and its word lists
(``dicts/``) -- once per process. See :mod:`servicehub.filters.chain`.

Besides the chain, callers use :func:`~servicehub.filters.urgency.assess` (priority from a
verdict's intent, sentiment and escalation plus the customer's tier and repeat contacts),
:func:`~servicehub.filters.keyphrases.extract_keywords` (trend keywords) and
:func:`~servicehub.filters.segmenter.add_terms` (product names that must segment whole).
"""

from __future__ import annotations

from servicehub.filters.chain import FilterChain
from servicehub.filters.keyphrases import Keyword, extract_keywords
from servicehub.filters.segmenter import add_terms
from servicehub.filters.settings import DEFAULTS, FilterSettings
from servicehub.filters.urgency import Urgency, assess, assess_verdict
from servicehub.filters.verdict import FilterInput, ListeningRule, RecentText, Verdict

__all__ = [
    "DEFAULTS",
    "FilterChain",
    "FilterInput",
    "FilterSettings",
    "Keyword",
    "ListeningRule",
    "RecentText",
    "Urgency",
    "Verdict",
    "add_terms",
    "assess",
    "assess_verdict",
    "extract_keywords",
]
