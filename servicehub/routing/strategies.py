"""The assignment strategies as pure functions over in-memory candidates.

No database here: :mod:`servicehub.routing.assign` locks the rows, builds the candidate
list and applies the :class:`Decision`. Keeping the choice pure makes it testable over
tens of thousands of simulated requests and makes every decision explainable: the
``why`` code says which rule picked (or why nobody was picked).

Capacity is a hard limit for every automatic strategy: a candidate at capacity is never
chosen. Round robin serves the candidate who was handed a request longest ago (a per-user
timestamp instead of a per-pool pointer, so overlapping pools stay fair); least-loaded
serves the lowest load relative to capacity; sticky prefers the customer's previous
operator while they are available and have room, and otherwise falls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from servicehub.core.models import Strategy

NO_CANDIDATES = "no_candidates"
ALL_AT_CAPACITY = "all_at_capacity"
MANUAL_POLICY = "manual_policy"
STICKY = "sticky"
ROTATION = "rotation"
LEAST_LOADED = "least_loaded"

_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    """One operator who may serve the request and is available now."""

    id: int
    name: str
    load: int  # open requests assigned right now
    capacity: int
    last_assigned_at: datetime | None = None

    @property
    def has_room(self) -> bool:
        return self.load < self.capacity


@dataclass(frozen=True)
class Decision:
    chosen: int | None
    strategy: str  # what actually picked: sticky, round_robin, least_loaded, manual
    why: str  # a code from this module, shown translated in the workbench
    fallback_from: str | None = None  # "sticky" when the previous operator could not take it
    previous_status: str | None = None  # chosen / unavailable / at_capacity, when there was one


def round_robin(candidates: Sequence[Candidate]) -> Candidate | None:
    """The candidate with room who was served longest ago (never served: first), by id on ties."""
    room = [c for c in candidates if c.has_room]
    if not room:
        return None
    return min(room, key=lambda c: (c.last_assigned_at or _NEVER, c.id))


def least_loaded(candidates: Sequence[Candidate]) -> Candidate | None:
    """The candidate with room whose load is lowest relative to capacity (then lowest load, id)."""
    room = [c for c in candidates if c.has_room]
    if not room:
        return None
    return min(room, key=lambda c: (c.load / c.capacity, c.load, c.id))


def decide(
    strategy: Strategy | str,
    candidates: Sequence[Candidate],
    *,
    sticky: bool = False,
    previous_id: int | None = None,
) -> Decision:
    """Choose among ``candidates`` (already filtered to people available and allowed)."""
    strategy = Strategy(strategy)
    previous_status: str | None = None
    fallback: str | None = None
    if sticky and previous_id is not None:
        previous = next((c for c in candidates if c.id == previous_id), None)
        if previous is not None and previous.has_room:
            return Decision(previous.id, STICKY, STICKY, previous_status="chosen")
        previous_status = "unavailable" if previous is None else "at_capacity"
        fallback = STICKY
    if strategy is Strategy.MANUAL:
        return Decision(None, str(strategy), MANUAL_POLICY, fallback, previous_status)
    if not candidates:
        return Decision(None, str(strategy), NO_CANDIDATES, fallback, previous_status)
    if strategy is Strategy.LEAST_LOADED:
        chosen, why = least_loaded(candidates), LEAST_LOADED
    else:
        chosen, why = round_robin(candidates), ROTATION
    if chosen is None:
        return Decision(None, str(strategy), ALL_AT_CAPACITY, fallback, previous_status)
    return Decision(chosen.id, str(strategy), why, fallback, previous_status)
