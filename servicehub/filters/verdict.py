"""Values that cross the filter package boundary.

The listener builds :class:`FilterInput` rows from stored messages, passes the author's
recent messages as :class:`RecentText` and the active listening tasks as
:class:`ListeningRule`; it gets one :class:`Verdict` per input back. Nothing here knows
about the database, so the same values serve unit tests, the bench and production.

:class:`Outcome` is what one small filter returns for one message; the chain folds the
outcomes of all filters into the final :class:`Verdict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FilterInput:
    """One inbound message, already normalized by an adapter."""

    platform: str
    kind: str
    platform_id: str
    account_uid: str
    author_uid: str
    text: str
    created_at: datetime
    # How many photos, voice notes or videos came with it: such a message is never empty,
    # whatever its text (WeChat's "[图片]" placeholder reads like a Weibo emoticon).
    attachments: int = 0


@dataclass(frozen=True, slots=True)
class RecentText:
    """A recent message of the same author, used for near-duplicate detection."""

    platform_id: str
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ListeningRule:
    """A keyword listening task; an empty ``account_uids`` means every account."""

    task_id: int
    name: str
    keywords: tuple[str, ...]
    account_uids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the chain decided about one message.

    ``keep=False`` never means deleted: the hub stores dropped messages with ``reason``
    so a person can review them. ``duplicate_of`` is set on *kept* messages that repeat
    an earlier one, so routing joins them to that message's request.

    The sentiment filter fills the rest for kept messages (all None / empty on dropped
    ones): ``sentiment_label`` is the service model's three-way reading (``negative``,
    ``neutral``, ``positive``); ``sentiment`` is a polarity score in [0, 1] placed in that
    label's band of the ``[filters]`` thresholds -- below ``negative_below`` exactly when
    the label is negative, above ``positive_above`` exactly when positive -- so code that
    compares the score with ``negative_below`` agrees with the label. It is no longer
    P(positive) of the binary model. ``intent`` is ``inquiry`` (咨询), ``complaint`` (投诉),
    ``praise`` (表扬), ``suggestion`` (建议) or ``other``; ``escalation`` holds the threat
    words found, by canonical name (``("工信部",)``, ``("12315", "律师")``).
    """

    keep: bool
    reason: str | None
    tags: tuple[str, ...]
    sentiment: float | None
    sentiment_label: str | None
    duplicate_of: str | None
    listening_task_ids: tuple[int, ...]
    intent: str | None = None
    escalation: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    """The partial verdict of one filter for one message.

    ``drop`` holds a reason code when the filter wants the message dropped; fields left
    at their defaults mean "no opinion".
    """

    drop: str | None = None
    tags: tuple[str, ...] = ()
    sentiment: float | None = None
    sentiment_label: str | None = None
    duplicate_of: str | None = None
    listening_task_ids: tuple[int, ...] = ()
    intent: str | None = None
    escalation: tuple[str, ...] = ()


PASS = Outcome()
"""The outcome of a filter that has nothing to say about a message."""
