"""Generated customer traffic: what a telecom operator's official accounts hear all day.

Two halves. :class:`TrafficPlanner` turns a seed into an endless, reproducible stream of
abstract events (kind, category, text, which customer, which target) without looking at
the state, so the same seed always tells the same story. :class:`TrafficRunner` applies
events to the live simulator -- at a configurable rate in a background task, or on
demand -- resolving "which post" and "which account" against whatever exists by then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from servicehub.adapters.simulator import corpus
from servicehub.adapters.simulator.corpus import ACCOUNT, fill
from servicehub.adapters.simulator.textrules import weibo_length

if TYPE_CHECKING:
    from servicehub.adapters.simulator.context import Simulator

log = logging.getLogger(__name__)

KIND_WEIGHTS: dict[str, int] = {
    "mention": 34,
    "comment": 22,
    "comment_mention": 8,
    "comment_reply": 5,
    "message": 16,
    "repost": 5,
    "like": 5,
    "follow": 3,
    "unfollow": 2,
}
# Service traffic is mostly questions: a complaint is common, not the norm (about a third).
MENTION_MIX: dict[str, int] = {
    "complaint": 22,
    "question": 28,
    "praise": 10,
    "spam": 8,
    "emoji": 6,
    "at_only": 4,
    "repost_noise": 5,
    "duplicate": 6,
    "long": 5,
    "injection": 3,
    "other": 5,
}
COMMENT_MIX: dict[str, int] = {
    "on_post": 22,
    "complaint": 18,
    "question": 24,
    "praise": 8,
    "spam": 10,
    "emoji": 8,
    "duplicate": 4,
    "injection": 3,
    "long": 2,
}
MESSAGE_MIX: dict[str, int] = {
    "dm": 40,
    "complaint": 15,
    "question": 22,
    "spam": 5,
    "emoji": 5,
    "duplicate": 4,
    "injection": 3,
    "other": 4,
    "long": 2,
}
_POOLS: dict[str, tuple[str, ...]] = {
    "complaint": corpus.COMPLAINTS,
    "question": corpus.QUESTIONS,
    "praise": corpus.PRAISE,
    "spam": corpus.SPAM,
    "emoji": corpus.EMOJI_ONLY,
    "at_only": corpus.AT_ONLY,
    "repost_noise": corpus.REPOST_NOISE,
    "injection": corpus.INJECTIONS,
    "other": corpus.OTHER,
    "on_post": corpus.COMMENTS_ON_POST,
    "dm": corpus.MESSAGES,
    "follow_up": corpus.FOLLOW_UPS,
}
_REPLAYABLE = frozenset({"mention", "comment", "comment_mention", "message"})


@dataclass(frozen=True, slots=True)
class TrafficEvent:
    seq: int
    kind: str
    category: str
    text: str  # ACCOUNT marks the managed account's screen name
    customer: int  # index into the customer pool
    pick: float  # which target post / comment, resolved when applied
    account_pick: float  # which managed account, resolved when applied


class TrafficPlanner:
    """Reproducible event stream; customers recur with a Zipf-like skew."""

    def __init__(self, seed: int, customers: int, skew: float = 0.9) -> None:
        self._rng = random.Random(f"traffic:{seed}")
        self._customers = max(1, customers)
        self._weights = [1.0 / (rank + 1) ** skew for rank in range(self._customers)]
        self._order = list(range(self._customers))
        self._rng.shuffle(self._order)
        self._history: deque[TrafficEvent] = deque(maxlen=40)
        self._seq = 0

    def _choose(self, weights: dict[str, int]) -> str:
        return self._rng.choices(list(weights), weights=list(weights.values()))[0]

    def _customer(self) -> int:
        return self._order[self._rng.choices(range(self._customers), weights=self._weights)[0]]

    def _long_text(self) -> str:
        target = self._rng.randrange(125, 190)
        parts = [fill(self._rng.choice(corpus.COMPLAINTS), self._rng)]
        while weibo_length("，".join(parts)) < target:
            parts.append(fill(self._rng.choice(corpus.COMPLAINTS + corpus.QUESTIONS), self._rng))
        text = "，".join(parts)
        while weibo_length(text) > target + 8:
            text = text[:-1]
        return text

    def _body(self, category: str) -> str:
        if category == "long":
            return self._long_text()
        return fill(self._rng.choice(_POOLS[category]), self._rng)

    def _with_mention(self, body: str) -> str:
        if ACCOUNT in body:
            return body
        return f"@{ACCOUNT} {body}" if self._rng.random() < 0.65 else f"{body} @{ACCOUNT}"

    def next_event(self) -> TrafficEvent:
        self._seq += 1
        kind = self._choose(KIND_WEIGHTS)
        mix = {
            "mention": MENTION_MIX,
            "comment": COMMENT_MIX,
            "comment_mention": COMMENT_MIX,
            "message": MESSAGE_MIX,
        }.get(kind)
        category = self._choose(mix) if mix else kind
        pick, account_pick = self._rng.random(), self._rng.random()
        if category == "duplicate":
            earlier = [e for e in self._history if e.kind in _REPLAYABLE]
            if earlier:
                source = self._rng.choice(earlier)
                customer = source.customer if self._rng.random() < 0.7 else self._customer()
                event = TrafficEvent(
                    self._seq, source.kind, "duplicate", source.text, customer, pick, account_pick
                )
                self._history.append(event)
                return event
            category = "complaint"
        customer = self._customer()
        if kind == "mention":
            text = self._with_mention(self._body(category))
        elif kind == "comment_mention":
            text = f"@{ACCOUNT} {self._body(category)}"
        elif kind in ("comment", "message"):
            text = self._body(category).replace(f"@{ACCOUNT}", "").strip() or "[微笑]"
        elif kind == "comment_reply":
            text = self._body("follow_up")
        elif kind == "repost":
            text = self._body("repost_noise")
        else:
            text = ""
        event = TrafficEvent(self._seq, kind, category, text, customer, pick, account_pick)
        self._history.append(event)
        return event

    def take(self, n: int) -> list[TrafficEvent]:
        return [self.next_event() for _ in range(n)]


class TrafficRunner:
    """Applies planned events to the simulator, in the background at ``rate`` items/second."""

    def __init__(self, sim: Simulator, seed: int, rate: float) -> None:
        self.sim = sim
        self.seed = seed
        self.rate = max(0.0, rate)
        self.accounts: list[int] | None = None  # None = every managed account
        self.counts: Counter[str] = Counter()
        self.skipped = 0
        self._planner = TrafficPlanner(seed, sim.config.customers, sim.config.customer_skew)
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None

    def reset_plan(self) -> None:
        self._planner = TrafficPlanner(self.seed, self.sim.config.customers, self.sim.config.customer_skew)
        self.counts.clear()
        self.skipped = 0

    def status(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "accounts": None if self.accounts is None else [str(a) for a in self.accounts],
            "generated": sum(self.counts.values()),
            "skipped": self.skipped,
            "by_kind": dict(self.counts),
            "running": self._task is not None and not self._task.done(),
        }

    def set_rate(self, rate: float) -> None:
        self.rate = max(0.0, rate)
        if self._wake is not None:
            self._wake.set()

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(self._wake))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self, wake: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        carry, last = 0.0, loop.time()
        while True:
            if self.rate <= 0:
                await wake.wait()
                wake.clear()
                carry, last = 0.0, loop.time()
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), min(1.0, max(0.02, 1.0 / self.rate)))
            wake.clear()
            now = loop.time()
            carry += (now - last) * self.rate
            last = now
            due = int(carry)
            carry -= due
            try:
                self.step(min(due, 5000))
            except Exception:  # a bad event must not stop the generator
                log.exception("traffic step failed")

    def step(self, n: int) -> list[dict[str, Any]]:
        """Apply the next ``n`` planned events now; returns what each one became."""
        done = []
        for event in self._planner.take(n):
            result = self.apply(event)
            if result is None:
                self.skipped += 1
            else:
                self.counts[result["kind"]] += 1
                done.append(result)
        return done

    def apply(self, event: TrafficEvent) -> dict[str, Any] | None:
        sim, state = self.sim, self.sim.state
        targets = [uid for uid in (self.accounts or sorted(state.accounts)) if uid in state.accounts]
        if not targets or not state.customer_uids:
            return None
        account_uid = targets[min(len(targets) - 1, int(event.account_pick * len(targets)))]
        customer = state.users[state.customer_uids[event.customer % len(state.customer_uids)]]
        text = event.text.replace(ACCOUNT, state.users[account_uid].screen_name)
        out: dict[str, Any] = {
            "seq": event.seq,
            "kind": event.kind,
            "category": event.category,
            "account_uid": str(account_uid),
            "user_uid": str(customer.uid),
        }

        def recent(ids: list[int]) -> int | None:
            window = ids[-10:]
            return window[-1 - min(len(window) - 1, int(event.pick * len(window)))] if window else None

        own_post = recent(state.statuses_by.get(account_uid, []))
        kind = event.kind
        if kind == "comment_reply":
            hub_comment = recent(state.comments_by.get(account_uid, []))
            if hub_comment is not None:
                replied = state.comments[hub_comment]
                answered = state.comments.get(replied.reply_to or 0)
                fan = state.users[answered.uid if answered else state.statuses[replied.status_id].uid]
                if fan.uid != account_uid:
                    comment = sim.inject_comment(
                        state.statuses[replied.status_id], fan, text, reply_to=replied
                    )
                    return {**out, "user_uid": str(fan.uid), "id": str(comment.id)}
            kind = out["kind"] = "comment"
        if kind == "comment_mention":
            mention = recent(state.mentions_of.get(account_uid, []))
            if mention is None:
                kind = out["kind"] = "mention"
            else:
                comment = sim.inject_comment(state.statuses[mention], customer, text)
                return {**out, "id": str(comment.id)}
        if kind == "mention":
            return {**out, "id": str(sim.inject_mention(account_uid, customer, text).id)}
        if kind == "message":
            message = sim.inject_message(account_uid, customer, text)
            sim.push_message_later(message)
            return {**out, "id": str(message.id)}
        if kind in ("follow", "unfollow"):
            changed = (
                state.follow(customer.uid, account_uid)
                if kind == "follow"
                else state.unfollow(customer.uid, account_uid)
            )
            if changed:
                sim.push_event_later(account_uid, customer.uid, kind)
            return {**out, "changed": changed}
        if own_post is None:
            return None
        if kind == "comment":
            return {**out, "id": str(sim.inject_comment(state.statuses[own_post], customer, text).id)}
        if kind == "repost":
            status = sim.inject_status(customer, text, parent=state.statuses[own_post])
            return {**out, "id": str(status.id)}
        state.statuses[own_post].attitudes_count += 1  # like
        return {**out, "id": str(own_post)}
