"""Logging: one line per record, with the request id (web) or task id (Celery) it belongs to.

Production writes JSON lines (one object per record: time, level, logger, message, and
``request_id`` / ``task_id`` when set) for a log collector; the embedded hub writes the
same as readable text. The ids live in context variables: the workbench's request-id
middleware sets one per request (propagating a caller's ``X-Request-ID``), Celery's
``task_prerun`` signal sets the task id.
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
task_id: contextvars.ContextVar[str] = contextvars.ContextVar("task_id", default="")


class ContextFilter(logging.Filter):
    """Puts the current request and task ids on every record (empty when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.task_id = task_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "task_id"):
            value = getattr(record, name, "")
            if value:
                line[name] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = [f"{k}={getattr(record, k, '')}" for k in ("request_id", "task_id") if getattr(record, k, "")]
        record.ids = f" [{' '.join(ids)}]" if ids else ""
        return super().format(record)


def configure_logging(*, json_lines: bool, verbose: bool = False) -> None:
    """Send the hub's logs to stderr, JSON lines or text, with the ids of their request or task."""
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose or json_lines else logging.WARNING)
