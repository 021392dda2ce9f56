"""Urgency: intent first, then sentiment, threats, tier and repeats; high and urgent stay rare."""

from __future__ import annotations

import pytest

from servicehub.filters import FilterChain, FilterSettings
from servicehub.filters.urgency import HIGH, LOW, NORMAL, URGENT, Urgency, assess, assess_verdict
from tests.filters.support import msg


@pytest.mark.parametrize(
    ("intent", "label", "expected"),
    [
        ("inquiry", "neutral", Urgency(NORMAL, ())),
        ("inquiry", "positive", Urgency(NORMAL, ())),
        ("inquiry", "negative", Urgency(HIGH, ("negative",))),
        ("complaint", "negative", Urgency(HIGH, ("complaint",))),
        ("complaint", "neutral", Urgency(HIGH, ("complaint",))),
        ("praise", "positive", Urgency(LOW, ("praise",))),
        ("suggestion", "neutral", Urgency(LOW, ("suggestion",))),
        ("suggestion", "negative", Urgency(NORMAL, ("suggestion", "negative"))),
        ("other", "neutral", Urgency(LOW, ("other",))),
        (None, None, Urgency(NORMAL, ())),
        (None, "negative", Urgency(HIGH, ("negative",))),
    ],
)
def test_intent_sets_the_base_and_negative_raises_what_is_below_high(
    intent: str | None, label: str | None, expected: Urgency
) -> None:
    assert assess(intent, label) == expected


def test_escalation_threats_are_urgent_whatever_else() -> None:
    result = assess("complaint", "negative", ("工信部", "律师"))
    assert result == Urgency(URGENT, ("complaint", "escalation:工信部", "escalation:律师"))
    assert result.name == "urgent"
    assert assess("inquiry", "neutral", ("12315",)).level == URGENT


def test_furious_counts_only_when_negative() -> None:
    assert assess("complaint", "negative", furious=True) == Urgency(URGENT, ("complaint", "furious"))
    assert assess("complaint", "neutral", furious=True).level == HIGH


def test_vip_raises_grievances_and_lifts_low_to_normal_only() -> None:
    assert assess("complaint", "negative", tier=1) == Urgency(URGENT, ("complaint", "vip"))
    assert assess("inquiry", "negative", tier=2).level == URGENT
    assert assess("inquiry", "neutral", tier=1) == Urgency(NORMAL, ())
    assert assess("praise", "positive", tier=1) == Urgency(NORMAL, ("praise", "vip"))


def test_repeated_contact_raises_questions_and_complaints() -> None:
    assert assess("inquiry", "neutral", repeat_contacts=1).level == NORMAL
    assert assess("inquiry", "neutral", repeat_contacts=2) == Urgency(HIGH, ("repeat",))
    assert assess("complaint", "negative", repeat_contacts=3).level == URGENT
    assert assess("praise", "positive", repeat_contacts=5).level == LOW


def test_levels_never_exceed_urgent() -> None:
    result = assess("complaint", "negative", ("曝光",), tier=3, repeat_contacts=9, furious=True)
    assert result.level == URGENT
    assert result.reasons == ("complaint", "escalation:曝光", "furious", "vip", "repeat")


def test_assess_verdict_reads_the_chain_output() -> None:
    chain = FilterChain(FilterSettings.from_mapping({}))
    texts = ["你好，我想问一下套餐怎么改", "再不解决我就投诉到工信部", "谢谢客服，问题解决了，非常满意"]
    verdicts = chain.run_batch([msg(t, pid=str(i), author=f"u{i}") for i, t in enumerate(texts)])
    assert [assess_verdict(v).level for v in verdicts] == [NORMAL, URGENT, LOW]
    assert assess_verdict(verdicts[1]).reasons == ("complaint", "escalation:工信部")
