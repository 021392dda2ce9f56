"""The process-wide runtime: settings, database, task runner, event bus, token vault.

Built once per process from settings (the CLI, a Celery worker, a test fixture). Tasks
and views reach shared services through :func:`get_runtime`, never through globals of
their own, so a test can install a runtime pointing at its own database and simulator.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from servicehub.core.db import make_engine, make_session_factory, on_commit
from servicehub.core.events import EventBus, InProcessBus, RedisBus
from servicehub.core.security import TokenVault, secret_key
from servicehub.core.settings import Settings, SettingsError, load_settings
from servicehub.core.tasks import CeleryRunner, InProcessRunner, TaskRunner, load_task_modules


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    tasks: TaskRunner
    events: EventBus
    vault: TokenVault
    secret: str
    # ``[filters]`` parsed once at start-up (a ``filters.settings.FilterSettings``): a wrong
    # key stops the process before it takes in anything.
    filters: Any = None
    # Test seam: an httpx transport handed to every adapter (e.g. httpx.MockTransport).
    adapter_transport: Any = None
    # Per-process services that the feature packages create on first use and type there (core
    # imports none of them): the adapter cache (accounts.adapters), the hourly API budget
    # (accounts.budget) and the shared token store (accounts.tokens).
    adapters: Any = None
    budget: Any = None
    tokens: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def publish_on_commit(self, session: Session, event: dict[str, Any]) -> None:
        """Tell the workbench about ``event`` once the session's transaction commits."""
        on_commit(session, lambda: self.events.publish(event))

    def close(self) -> None:
        self.tasks.shutdown()
        for value in (self.adapters, self.tokens, *self.extra.values()):
            close = getattr(value, "close", None)
            if callable(close):
                close()
        self.engine.dispose()


_current: Runtime | None = None


def build_runtime(settings: Settings, *, tasks: TaskRunner | None = None) -> Runtime:
    load_task_modules()
    engine = make_engine(
        settings.database_url, echo=settings.database.echo, pool_size=settings.database.pool_size
    )
    if tasks is None:
        if settings.tasks.backend == "celery":
            from servicehub.core.celery_app import make_celery

            tasks = CeleryRunner(make_celery(settings))
        else:
            tasks = InProcessRunner(settings.tasks.workers)
    events: EventBus = InProcessBus()
    if settings.hub.mode == "production":
        # One channel per hub database, so two hubs sharing a Redis server never hear each other.
        tag = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
        events = RedisBus(settings.redis.url, channel=f"servicehub:{tag}:events")
    secret = secret_key(settings)
    return Runtime(
        filters=_filter_settings(settings),
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        tasks=tasks,
        events=events,
        vault=TokenVault(secret),
        secret=secret,
    )


def _filter_settings(settings: Settings) -> Any:
    """``[filters]`` validated by the filters package (pure; imported here only to parse)."""
    from servicehub.filters.settings import FilterSettings

    try:
        return FilterSettings.from_mapping(settings.filters)
    except ValueError as exc:
        raise SettingsError(str(exc)) from exc


def set_runtime(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def installed_runtime() -> Runtime | None:
    """The runtime if one was built or installed in this process, without building one."""
    return _current


def get_runtime() -> Runtime:
    """The installed runtime, or one built from settings.toml on first use (Celery workers)."""
    global _current
    if _current is None:
        _current = build_runtime(load_settings())
    return _current
