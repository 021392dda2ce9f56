"""Priority from what a message says and who says it: a pure function for the routing layer.

Today routing raises a request one level from normal for each of negative sentiment, a VIP
tier, repeated contact and a long wait. With a binary model that called most questions
negative, nearly everything became high or urgent, and the queue order meant nothing.
:func:`assess` starts from the intent instead, so that in ordinary traffic high and urgent
stay the minority that deserves them:

=====================================  ================================================
signal                                 effect
=====================================  ================================================
intent ``complaint``                   high (``complaint``)
intent ``inquiry`` or unknown          normal
intent ``praise``/``suggestion``/      low (``praise``, ``suggestion``, ``other``)
``other``
label ``negative``, below high         one level up (``negative``): a negative question
                                       is high, negative chatter normal
escalation threat                      urgent (``escalation:<word>`` per word)
furious (heated and negative)          urgent (``furious``)
customer tier > 0                      complaints and negative messages one level up, so
                                       a VIP complaint is urgent; anything else at least
                                       normal (``vip``)
repeat contacts >= :data:`REPEAT_AT`   complaints, questions and negative messages one
                                       level up (``repeat``)
=====================================  ================================================

Levels are capped at urgent. The levels are the integers of
:class:`servicehub.core.models.Priority` (0 low … 3 urgent); this module does not import
it, to keep the filters free of the database layer. Waiting time is not an input: routing
escalates requests that wait too long on its own clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from servicehub.filters.sentiment import FURIOUS_TAG
from servicehub.filters.service_model import COMPLAINT, INQUIRY, NEGATIVE
from servicehub.filters.verdict import Verdict

LOW, NORMAL, HIGH, URGENT = 0, 1, 2, 3
LEVEL_NAMES = ("low", "normal", "high", "urgent")
REPEAT_AT = 2
"""Earlier contacts (other recent requests plus follow-ups) from which a customer is 'repeating'."""

_BASE = {COMPLAINT: HIGH, INQUIRY: NORMAL, "praise": LOW, "suggestion": LOW, "other": LOW}


@dataclass(frozen=True, slots=True)
class Urgency:
    """A priority level and the signals that set it, in the order they applied."""

    level: int
    reasons: tuple[str, ...]

    @property
    def name(self) -> str:
        return LEVEL_NAMES[self.level]


def assess(
    intent: str | None,
    sentiment_label: str | None,
    escalation: Sequence[str] = (),
    *,
    tier: int = 0,
    repeat_contacts: int = 0,
    furious: bool = False,
) -> Urgency:
    """The priority level (0 low … 3 urgent) of a message and why; see the module table."""
    level = _BASE.get(intent, NORMAL) if intent is not None else NORMAL
    reasons: list[str] = [intent] if intent is not None and intent != INQUIRY and intent in _BASE else []
    negative = sentiment_label == NEGATIVE
    if negative and level < HIGH:
        level += 1
        reasons.append("negative")
    if escalation:
        level = URGENT
        reasons.extend(f"escalation:{word}" for word in escalation)
    if furious and negative:
        level = URGENT
        reasons.append("furious")
    grievance = intent == COMPLAINT or negative
    if tier > 0 and (grievance or level < NORMAL):
        level = min(URGENT, level + 1)
        reasons.append("vip")
    if repeat_contacts >= REPEAT_AT and (grievance or intent == INQUIRY):
        level = min(URGENT, level + 1)
        reasons.append("repeat")
    return Urgency(level, tuple(reasons))


def assess_verdict(verdict: Verdict, *, tier: int = 0, repeat_contacts: int = 0) -> Urgency:
    """:func:`assess` of a kept message's verdict (its ``furious`` tag included)."""
    return assess(
        verdict.intent,
        verdict.sentiment_label,
        verdict.escalation,
        tier=tier,
        repeat_contacts=repeat_contacts,
        furious=FURIOUS_TAG in verdict.tags,
    )
