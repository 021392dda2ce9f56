"""Counters and histograms every process adds to, read by ``/metrics`` in any web process.

Intake happens in Celery workers, replies fail there, assignments are made there: a
per-process registry (``prometheus_client``'s default) would show each web process only its
own share. So the numbers live where every process reaches them -- Redis hashes in
production, process memory when embedded (one process) -- and are added to only after the
transaction that did the work commits (:func:`count_on_commit`, :func:`observe_on_commit`).
``workbench/ops.py`` turns them, with gauges read at scrape time, into Prometheus text.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Mapping
from typing import Protocol

from sqlalchemy.orm import Session

from servicehub.core.db import on_commit

Labels = tuple[str, ...]
# Seconds from a message reaching the hub to its request being assigned.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


class Store(Protocol):
    def add(self, name: str, amounts: Mapping[Labels, float]) -> None: ...

    def read(self, name: str) -> dict[Labels, float]: ...


class MemoryStore:
    def __init__(self) -> None:
        self._values: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self._lock = threading.Lock()

    def add(self, name: str, amounts: Mapping[Labels, float]) -> None:
        with self._lock:
            for labels, amount in amounts.items():
                self._values[name][labels] += amount

    def read(self, name: str) -> dict[Labels, float]:
        with self._lock:
            return dict(self._values.get(name, {}))


class RedisStore:
    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix

    def add(self, name: str, amounts: Mapping[Labels, float]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for labels, amount in amounts.items():
            pipe.hincrbyfloat(self._prefix + name, json.dumps(labels), amount)
        pipe.execute()

    def read(self, name: str) -> dict[Labels, float]:
        raw = self._redis.hgetall(self._prefix + name)
        return {tuple(json.loads(k)): float(v) for k, v in raw.items()}


_store: Store = MemoryStore()


def use(store: Store) -> None:
    """Install the process's store (``build_runtime``: Redis in production)."""
    global _store
    _store = store


def store() -> Store:
    return _store


def count_on_commit(session: Session, name: str, amounts: Mapping[Labels, float]) -> None:
    """Add ``amounts`` to counter ``name`` once the session's transaction commits."""
    if amounts:
        target, values = _store, dict(amounts)
        on_commit(session, lambda: target.add(name, values))


def observe_on_commit(session: Session, name: str, labels: Labels, seconds: list[float]) -> None:
    """Record ``seconds`` in histogram ``name`` (cumulative buckets, sum, count) after commit."""
    if not seconds:
        return
    amounts: dict[Labels, float] = defaultdict(float)
    for value in seconds:
        for bound in LATENCY_BUCKETS:
            if value <= bound:
                amounts[(*labels, "le", repr(bound))] += 1
        amounts[(*labels, "le", "+Inf")] += 1
        amounts[(*labels, "sum")] += value
    count_on_commit(session, name, amounts)
