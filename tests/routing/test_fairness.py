"""Over 10,000 simulated requests each strategy distributes within its rules (pure, in memory)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from servicehub.core.models import Strategy
from servicehub.routing.strategies import ALL_AT_CAPACITY, STICKY, Candidate, decide

N = 10_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Floor:
    """Operators with loads; requests arrive, get assigned, and some are resolved each tick."""

    def __init__(self, capacities: dict[int, int], seed: int = 7) -> None:
        self.people = {uid: Candidate(uid, f"op{uid}", 0, cap) for uid, cap in capacities.items()}
        self.rng = random.Random(seed)
        self.tick = 0

    def candidates(self, on_duty: set[int] | None = None) -> list[Candidate]:
        return [c for uid, c in sorted(self.people.items()) if on_duty is None or uid in on_duty]

    def take(self, uid: int) -> None:
        self.tick += 1
        c = self.people[uid]
        assert c.load < c.capacity, f"capacity exceeded for {uid}"
        self.people[uid] = replace(c, load=c.load + 1, last_assigned_at=T0 + timedelta(seconds=self.tick))

    def resolve_some(self, p: float) -> None:
        for uid, c in self.people.items():
            done = sum(1 for _ in range(c.load) if self.rng.random() < p)
            self.people[uid] = replace(c, load=c.load - done)


def test_round_robin_spreads_evenly_over_10000_requests() -> None:
    floor = Floor(dict.fromkeys(range(1, 8), 10_000))
    served: Counter[int] = Counter()
    for _ in range(N):
        decision = decide(Strategy.ROUND_ROBIN, floor.candidates())
        assert decision.chosen is not None
        floor.take(decision.chosen)
        served[decision.chosen] += 1
    assert max(served.values()) - min(served.values()) <= 1
    assert sum(served.values()) == N


def test_round_robin_stays_even_when_people_come_and_go() -> None:
    floor = Floor(dict.fromkeys(range(1, 6), 10_000), seed=3)
    served: Counter[int] = Counter()
    present = {1, 2, 3, 4, 5}
    for i in range(N):
        if i % 500 == 0:
            present = set(floor.rng.sample(range(1, 6), 3))
        decision = decide(Strategy.ROUND_ROBIN, floor.candidates(present))
        assert decision.chosen in present
        floor.take(decision.chosen)
        served[decision.chosen] += 1
    # Everyone was present for roughly the same share of the time; no one is starved or flooded.
    assert min(served.values()) > N / 5 * 0.6 and max(served.values()) < N / 5 * 1.4


def test_least_loaded_never_exceeds_capacity_and_balances_utilization() -> None:
    capacities = {1: 3, 2: 5, 3: 8, 4: 12}
    floor = Floor(capacities, seed=11)
    refused = 0
    peaks: Counter[int] = Counter()
    for _ in range(N):
        before = floor.candidates()
        decision = decide(Strategy.LEAST_LOADED, before)
        if decision.chosen is not None:
            ratios = [c.load / c.capacity for c in before if c.has_room]
            assert floor.people[decision.chosen].load / capacities[decision.chosen] == min(ratios)
        if decision.chosen is None:
            assert decision.why == ALL_AT_CAPACITY
            assert all(c.load == c.capacity for c in floor.candidates())
            refused += 1
        else:
            floor.take(decision.chosen)  # asserts load < capacity before taking
        for uid, c in floor.people.items():
            assert c.load <= capacities[uid]
            peaks[uid] = max(peaks[uid], c.load)
        floor.resolve_some(0.03)
    assert refused > 0  # the load was high enough to hit the limit
    assert peaks == Counter(capacities)  # everyone was used up to, never past, capacity


def test_round_robin_respects_capacity_too() -> None:
    floor = Floor({1: 2, 2: 50}, seed=5)
    for _ in range(N):
        decision = decide(Strategy.ROUND_ROBIN, floor.candidates())
        if decision.chosen is not None:
            floor.take(decision.chosen)
        assert floor.people[1].load <= 2
        floor.resolve_some(0.05)


def test_sticky_keeps_returning_customers_with_their_operator_while_available() -> None:
    floor = Floor(dict.fromkeys(range(1, 6), 10_000), seed=9)
    rng = random.Random(1)
    previous: dict[int, int] = {}
    kept = fell_back = 0
    for _ in range(N):
        customer = rng.randrange(400)
        present = {uid for uid in range(1, 6) if rng.random() < 0.8}
        decision = decide(
            Strategy.ROUND_ROBIN, floor.candidates(present), sticky=True, previous_id=previous.get(customer)
        )
        if decision.chosen is None:
            continue
        before = previous.get(customer)
        if before is not None and before in present:
            assert decision.chosen == before and decision.why == STICKY
            kept += 1
        elif before is not None:
            assert decision.fallback_from == STICKY and decision.previous_status == "unavailable"
            assert decision.chosen != before
            fell_back += 1
        floor.take(decision.chosen)
        previous[customer] = decision.chosen
    assert kept > 5_000 and fell_back > 1_000


def test_sticky_falls_back_when_the_previous_operator_is_full() -> None:
    people = [Candidate(1, "a", 3, 3), Candidate(2, "b", 0, 3)]
    decision = decide(Strategy.LEAST_LOADED, people, sticky=True, previous_id=1)
    assert (decision.chosen, decision.previous_status, decision.fallback_from) == (2, "at_capacity", STICKY)


def test_manual_policy_never_picks() -> None:
    decision = decide(Strategy.MANUAL, [Candidate(1, "a", 0, 3)])
    assert decision.chosen is None and decision.why == "manual_policy"
