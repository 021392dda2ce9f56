"""The task seam: one task definition, run in-process (embedded) or on Celery workers (production).

Tasks carry ids (or batches of ids), never rows; they re-read what they need and are
idempotent, so running one twice -- a Celery redelivery, a retried enqueue -- is harmless.
Enqueue from inside a transaction with :func:`enqueue_on_commit`, never before the commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from sqlalchemy.orm import Session

from servicehub.core.db import on_commit
from servicehub.core.settings import Settings

log = logging.getLogger(__name__)

TaskFn = Callable[..., Any]
REGISTRY: dict[str, TaskFn] = {}

# Modules whose import registers tasks; the Celery worker imports them by name.
TASK_MODULES = (
    "servicehub.core.auth",
    "servicehub.accounts.tasks",
    "servicehub.listener.tasks",
    "servicehub.routing.tasks",
    "servicehub.publishing.tasks",
    "servicehub.analytics.tasks",
    # not tasks: panels work orders and leads add to the service dashboard, in every process
    "servicehub.workorders.panels",
    "servicehub.leads.panels",
)


def load_task_modules() -> None:
    """Import every module that registers tasks (by name: core imports no feature package)."""
    import importlib

    for module in TASK_MODULES:
        importlib.import_module(module)


# Periodic tasks: name -> seconds between runs. Celery beat and the embedded scheduler both
# read :func:`schedule`, so a sweep is declared once, next to its task.
PERIODIC: dict[str, float] = {}


def task(name: str, *, every: float | None = None) -> Callable[[TaskFn], TaskFn]:
    """Register ``fn`` under ``name`` (and run it every ``every`` seconds when given).

    The function takes JSON-serializable keyword arguments; periodic ones take none.
    """

    def register(fn: TaskFn) -> TaskFn:
        if name in REGISTRY and REGISTRY[name] is not fn:
            raise ValueError(f"task {name!r} registered twice")
        REGISTRY[name] = fn
        if every is not None:
            PERIODIC[name] = every
        return fn

    return register


def schedule(settings: Settings) -> dict[str, float]:
    """Every periodic task with its interval; polling follows ``[listener].poll_interval_seconds``."""
    load_task_modules()
    periods = dict(PERIODIC)
    if "listener.poll_due" in periods:
        periods["listener.poll_due"] = settings.listener.poll_interval_seconds
    if "analytics.rollup" in periods:
        periods["analytics.rollup"] = settings.analytics.rollup_every_seconds
    if "analytics.snapshot_followers" in periods:
        periods["analytics.snapshot_followers"] = settings.analytics.snapshot_every_seconds
    return periods


class TaskRunner(Protocol):
    def enqueue(self, name: str, **kwargs: Any) -> None: ...

    def shutdown(self) -> None: ...


class InProcessRunner:
    """Runs tasks on a small thread pool in this process (embedded mode)."""

    def __init__(self, workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hub-task")
        self._pending: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def enqueue(self, name: str, **kwargs: Any) -> None:
        fn = REGISTRY[name]
        future = self._pool.submit(_run_logged, name, fn, kwargs)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    def drain(self, timeout: float = 30.0) -> None:
        """Wait for queued tasks (and the tasks they enqueue) to finish; used by tests and the CLI."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return
            for fut in pending:
                fut.result(timeout=max(0.0, deadline - time.monotonic()))
        raise TimeoutError("in-process tasks did not finish in time")

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class SyncRunner:
    """Runs each task immediately in the caller's thread (unit tests)."""

    def enqueue(self, name: str, **kwargs: Any) -> None:
        REGISTRY[name](**kwargs)

    def shutdown(self) -> None:
        return None


class CeleryRunner:
    """Sends tasks to Celery workers over the broker (production)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def enqueue(self, name: str, **kwargs: Any) -> None:
        self.app.send_task(name, kwargs=kwargs)

    def shutdown(self) -> None:
        return None


def _run_logged(name: str, fn: TaskFn, kwargs: dict[str, Any]) -> Any:
    try:
        return fn(**kwargs)
    except Exception:
        log.exception("task %s failed", name)
        raise


def enqueue_on_commit(session: Session, runner: TaskRunner, name: str, **kwargs: Any) -> None:
    """Queue the task once the surrounding transaction commits; nothing is queued on rollback."""
    if name not in REGISTRY:
        raise KeyError(f"unknown task {name!r}")
    on_commit(session, lambda: runner.enqueue(name, **kwargs))
