"""The tracking schedule and how an account's due posts are grouped into reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from servicehub.core.models import TrackedPost
from servicehub.publishing.tracking import BATCH, batches, interval

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _post(n: int, age: timedelta, due_in: timedelta, samples: int = 3) -> TrackedPost:
    return TrackedPost(
        outbound_id=n,
        account_id=1,
        platform_id=str(5000 + n),
        sent_at=NOW - age,
        next_at=NOW + due_in,
        samples=samples,
    )


def test_the_schedule_tapers_and_ends_after_a_week() -> None:
    assert interval(timedelta(minutes=3)) == timedelta(minutes=1)
    assert interval(timedelta(minutes=30)) == timedelta(minutes=5)
    assert interval(timedelta(hours=5)) == timedelta(minutes=15)
    assert interval(timedelta(hours=20)) == timedelta(hours=1)
    assert interval(timedelta(days=2)) == timedelta(hours=3)
    assert interval(timedelta(days=6)) == timedelta(hours=12)
    assert interval(timedelta(days=7)) is None


def test_nothing_due_means_no_call_even_with_posts_due_soon() -> None:
    posts = [_post(1, timedelta(hours=2), timedelta(minutes=5))]
    assert batches(posts, NOW) == []


def test_posts_due_within_half_their_interval_ride_along_with_a_due_one() -> None:
    due = _post(1, timedelta(minutes=30), -timedelta(seconds=5))
    soon = _post(2, timedelta(hours=2), timedelta(minutes=7))  # every 15 min: within 7.5
    later = _post(3, timedelta(hours=2), timedelta(minutes=8))  # not within half its interval
    [call] = batches([later, soon, due], NOW)
    assert [p.outbound_id for p in call] == [1, 2]


def test_calls_hold_at_most_a_hundred_ids_and_only_calls_with_a_due_post_are_made() -> None:
    due = [_post(n, timedelta(minutes=30), -timedelta(seconds=n)) for n in range(1, 151)]
    riders = [_post(n, timedelta(hours=3), timedelta(minutes=1)) for n in range(151, 301)]
    calls = batches(due + riders, NOW)
    assert [len(c) for c in calls] == [BATCH, 100]  # the third call would hold riders only
    assert {p.outbound_id for p in calls[0]} == set(range(51, 151))  # the most overdue first


def test_a_post_not_yet_sampled_waits_for_its_first_time() -> None:
    due = _post(1, timedelta(minutes=30), -timedelta(seconds=5))
    new = _post(2, timedelta(seconds=5), timedelta(seconds=25), samples=0)  # first sample at 30 s
    [call] = batches([due, new], NOW)
    assert [p.outbound_id for p in call] == [1]
    [later] = batches([_post(2, timedelta(seconds=31), -timedelta(seconds=1), samples=0)], NOW)
    assert [p.outbound_id for p in later] == [2]
