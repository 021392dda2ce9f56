"""Celery application for production mode: every registered hub task, under the same name."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init

from servicehub.core import logs
from servicehub.core.runtime import installed_runtime
from servicehub.core.settings import Settings
from servicehub.core.tasks import REGISTRY, TASK_MODULES, load_task_modules, schedule


def make_celery(settings: Settings) -> Celery:
    app = Celery("servicehub", broker=settings.broker_url, include=list(TASK_MODULES))
    app.conf.update(
        task_acks_late=True,  # tasks are idempotent; a crashed worker's task runs again
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=4,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,  # keep the hub's log lines (JSON, with task ids)
        beat_schedule={name: {"task": name, "schedule": every} for name, every in schedule(settings).items()},
    )
    load_task_modules()
    for name, fn in REGISTRY.items():
        app.task(name=name)(_bound(fn))
    return app


def _fresh_connections(**_: Any) -> None:
    """A forked worker child must not share the parent's pooled database connections."""
    runtime = installed_runtime()
    if runtime is not None:
        runtime.engine.dispose(close=False)


worker_process_init.connect(_fresh_connections, weak=False)


def _task_started(task_id: str = "", **_: Any) -> None:
    """Every log line a task writes carries its Celery task id (``core.logs``)."""
    logs.task_id.set(task_id)


def _task_ended(**_: Any) -> None:
    logs.task_id.set("")


task_prerun.connect(_task_started, weak=False)
task_postrun.connect(_task_ended, weak=False)


def _bound(fn: Any) -> Any:
    def run(**kwargs: Any) -> Any:
        return fn(**kwargs)

    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run
