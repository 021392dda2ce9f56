"""The embedded stand-in for Celery beat: enqueue periodic tasks by name from a thread."""

from __future__ import annotations

import logging
import threading
import time

from servicehub.core.tasks import TaskRunner

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, tasks: TaskRunner, schedule: dict[str, float]) -> None:
        self.tasks = tasks
        self.schedule = schedule
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hub-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        due = dict.fromkeys(self.schedule, 0.0)
        while not self._stop.is_set():
            now = time.monotonic()
            for name, every in self.schedule.items():
                if now >= due[name]:
                    due[name] = now + every
                    try:
                        self.tasks.enqueue(name)
                    except Exception:  # keep ticking; the next round tries again
                        log.exception("could not enqueue %s", name)
            self._stop.wait(0.2)
