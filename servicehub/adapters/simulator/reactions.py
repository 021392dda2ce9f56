"""What a hub post draws: likes, comments and reposts from simulated customers, over minutes.

When the hub publishes (``statuses/share``) and reactions are on, the post gets a plan of
reactions on a decaying schedule: the first like and the first comment 10-25 s after the
post, the rest ~8 s + an exponential wait of mean 35 s (about 95 % within two minutes,
none after five). Comments are what people write under an operator's post -- questions and
complaints (the first comment always is one, so the hub's ``comments/to_me`` intake makes a
service request of it), remarks on the post, praise, emoji; reposts are statuses reposting
it, so ``statuses/count`` and ``statuses/repost_timeline`` show them.

Time is the simulator's clock (:class:`~.clock.SimClock`): a reaction happens once the clock
has passed its due time. :meth:`Reactions.run_due` applies what is due; it runs after every
``/_sim/clock`` advance, before every ``/2/`` call, and in a background tick, so a test
moves the clock with ``POST /_sim/clock {"advance_seconds": n}`` and reads the counts
without sleeping. Plans are reproducible: the n-th post planned under a seed draws the same
reactions, from the same customers, at the same offsets.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from servicehub.adapters.simulator import corpus
from servicehub.adapters.simulator.corpus import ACCOUNT, fill
from servicehub.adapters.simulator.models import Status

if TYPE_CHECKING:
    from servicehub.adapters.simulator.context import Simulator

log = logging.getLogger(__name__)

KINDS = ("like", "comment", "repost")
BASE_COUNTS = {"like": 24, "comment": 8, "repost": 4}  # what one post draws at intensity 1
MAX_INTENSITY = 50.0
FIRST_WINDOW = (10.0, 25.0)  # seconds after the post: the first like and the first comment
START_DELAY = 8.0  # nobody else reacts sooner
MEAN_DELAY = 35.0  # then an exponential wait of this mean
LAST_DELAY = 300.0  # and nobody after five minutes
TICK_SECONDS = 0.5  # how often the background task looks for due reactions
COMMENT_MIX = {"question": 30, "complaint": 20, "on_post": 25, "praise": 12, "emoji": 13}
SERVICE = ("question", "complaint")  # what the hub's intake should make requests of
_POOLS: dict[str, tuple[str, ...]] = {
    "question": corpus.QUESTIONS,
    "complaint": corpus.COMPLAINTS,
    "on_post": corpus.COMMENTS_ON_POST,
    "praise": corpus.PRAISE,
    "emoji": corpus.EMOJI_ONLY,
    "repost": corpus.REPOST_NOISE,
}


@dataclass(frozen=True, slots=True, order=True)
class Reaction:
    due: float
    seq: int
    status_id: int = field(compare=False)
    kind: str = field(compare=False)  # like, comment or repost
    category: str = field(compare=False)  # a comment's kind of content (see COMMENT_MIX)
    text: str = field(compare=False)  # ACCOUNT marks the post author's screen name
    customer: int = field(compare=False)  # index into the customer pool


def counts_for(rng: random.Random, intensity: float) -> dict[str, int]:
    """How many of each reaction a post draws: the base figures scaled, give or take a quarter."""
    return {kind: round(base * intensity * rng.uniform(0.75, 1.25)) for kind, base in BASE_COUNTS.items()}


def plan(rng: random.Random, counts: dict[str, int]) -> list[tuple[float, str, str, str, int]]:
    """``(delay, kind, category, text, customer)`` for each reaction, earliest first per kind;
    the earliest comment is a service question or complaint."""
    out = []
    for kind in KINDS:
        n = counts.get(kind, 0)
        delays = [min(LAST_DELAY, START_DELAY + rng.expovariate(1.0 / MEAN_DELAY)) for _ in range(n)]
        if delays and kind != "repost":
            delays[0] = rng.uniform(*FIRST_WINDOW)
        for index, delay in enumerate(sorted(delays)):
            category, text = "", ""
            if kind == "comment":
                category = (
                    rng.choice(SERVICE)
                    if index == 0
                    else rng.choices(list(COMMENT_MIX), weights=list(COMMENT_MIX.values()))[0]
                )
                text = fill(rng.choice(_POOLS[category]), rng)
            elif kind == "repost":
                category, text = "repost", fill(rng.choice(_POOLS["repost"]), rng)
            out.append((delay, kind, category, text, rng.randrange(1 << 30)))
    return out


class Reactions:
    """Scheduled reactions to posts, applied as the simulated clock passes their time."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.enabled = sim.config.reactions
        self.intensity = sim.config.reaction_intensity
        self.applied: Counter[str] = Counter()
        self._heap: list[Reaction] = []
        self._seq = 0
        self._planned: dict[int, Counter[str]] = {}
        self._done: dict[int, Counter[str]] = {}
        self._plans = 0  # plans made so far: the n-th plan of a seed is always the same
        self._task: asyncio.Task[None] | None = None

    def clear(self) -> None:
        """Forget every pending reaction (and what was planned and done)."""
        self._heap.clear()
        self._planned.clear()
        self._done.clear()
        self._plans = 0
        self.applied.clear()

    def configure(self, *, enabled: bool | None = None, intensity: float | None = None) -> None:
        if intensity is not None:
            if not 0 <= intensity <= MAX_INTENSITY:
                raise ValueError(f"intensity must be between 0 and {MAX_INTENSITY}")
            self.intensity = intensity
        if enabled is not None:
            self.enabled = enabled

    # -- planning ---------------------------------------------------------------------

    def on_hub_post(self, status: Status) -> None:
        """The hub published ``status``: plan what it draws, if reactions are on."""
        if self.enabled and self.intensity > 0:
            self.schedule(status, intensity=self.intensity)

    def schedule(
        self, status: Status, *, intensity: float | None = None, counts: dict[str, int] | None = None
    ) -> dict[str, int]:
        """Plan reactions to ``status`` from now on: ``counts`` exactly, or as many as
        ``intensity`` (default: the current one) draws. Returns the planned counts."""
        self._plans += 1
        rng = random.Random(f"reactions:{self.sim.config.seed}:{self._plans}")
        chosen = (
            counts
            if counts is not None
            else counts_for(rng, self.intensity if intensity is None else intensity)
        )
        start = self.sim.clock.now()
        planned = self._planned.setdefault(status.id, Counter())
        with self.sim.state.lock:
            for delay, kind, category, text, customer in plan(rng, chosen):
                self._seq += 1
                heapq.heappush(
                    self._heap, Reaction(start + delay, self._seq, status.id, kind, category, text, customer)
                )
                planned[kind] += 1
        return {kind: chosen.get(kind, 0) for kind in KINDS}

    def engage_now(self, status: Status, counts: dict[str, int]) -> list[dict[str, Any]]:
        """Apply ``counts`` reactions to ``status`` at once (a control route's direct push)."""
        self._plans += 1
        rng = random.Random(f"engage:{self.sim.config.seed}:{self._plans}")
        done = []
        with self.sim.state.lock:
            for _, kind, category, text, customer in plan(rng, counts):
                self._seq += 1
                reaction = Reaction(
                    self.sim.clock.now(), self._seq, status.id, kind, category, text, customer
                )
                result = self._apply(reaction)
                if result is not None:
                    done.append(result)
        return done

    # -- applying ---------------------------------------------------------------------

    def run_due(self) -> int:
        """Apply every reaction whose time has come; how many were applied."""
        if not self._heap or self._heap[0].due > self.sim.clock.now():
            return 0
        applied = 0
        with self.sim.state.lock:
            now = self.sim.clock.now()
            while self._heap and self._heap[0].due <= now:
                if self._apply(heapq.heappop(self._heap)) is not None:
                    applied += 1
        return applied

    def _apply(self, reaction: Reaction) -> dict[str, Any] | None:
        sim, state = self.sim, self.sim.state
        status = state.statuses.get(reaction.status_id)
        if status is None or not state.customer_uids:
            return None
        customer = state.users[state.customer_uids[reaction.customer % len(state.customer_uids)]]
        text = reaction.text.replace(ACCOUNT, state.users[status.uid].screen_name)
        out: dict[str, Any] = {
            "kind": reaction.kind,
            "category": reaction.category,
            "user_uid": str(customer.uid),
        }
        if reaction.kind == "like":
            status.attitudes_count += 1
            out["id"] = str(status.id)
        elif reaction.kind == "comment":
            out["id"] = str(sim.inject_comment(status, customer, text).id)
        else:
            out["id"] = str(sim.inject_status(customer, text, parent=status).id)
        self.applied[reaction.kind] += 1
        self._done.setdefault(status.id, Counter())[reaction.kind] += 1
        return out

    # -- reporting and the background tick ---------------------------------------------

    def status(self, status_id: int | None = None) -> dict[str, Any]:
        now = self.sim.clock.now()
        out: dict[str, Any] = {
            "enabled": self.enabled,
            "intensity": self.intensity,
            "pending": len(self._heap),
            "next_due_in": round(self._heap[0].due - now, 3) if self._heap else None,
            "applied": {kind: self.applied[kind] for kind in KINDS},
        }
        if status_id is not None:
            planned = self._planned.get(status_id, Counter())
            done = self._done.get(status_id, Counter())
            out["status"] = {
                "id": str(status_id),
                "planned": {kind: planned[kind] for kind in KINDS},
                "applied": {kind: done[kind] for kind in KINDS},
                "pending": sum(1 for r in self._heap if r.status_id == status_id),
            }
        return out

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                self.run_due()
            except Exception:  # a bad reaction must not stop the others
                log.exception("applying reactions failed")
