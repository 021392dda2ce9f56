"""The process-wide runtime: settings, database, task runner, event bus, token vault.

Built once per process from settings (the CLI, a Celery worker, a test fixture). Tasks
and views reach shared services through :func:`get_runtime`, never through globals of
their own, so a test can install a runtime pointing at its own database and simulator.

Every field is typed. Settings sections that a feature validates itself (``[filters]``)
are parsed here, at start-up, so a typo stops the hub before it serves anything. The
per-process state of the ``accounts`` package (adapter cache, shared token store, API
budget) is created by that package on first use and closed with the runtime; core names
those types for the type checker only and imports no feature package at run time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from servicehub.core.db import make_engine, make_session_factory, on_commit
from servicehub.core.events import EventBus, InProcessBus, RedisBus
from servicehub.core.security import TokenVault, secret_key
from servicehub.core.settings import Settings, SettingsError, load_settings
from servicehub.core.tasks import CeleryRunner, InProcessRunner, TaskRunner, load_task_modules
from servicehub.filters.settings import FilterSettings

if TYPE_CHECKING:
    from servicehub.accounts.adapters import AdapterCache
    from servicehub.accounts.budget import Budget
    from servicehub.accounts.tokens import RedisTokens


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    tasks: TaskRunner
    events: EventBus
    vault: TokenVault
    secret: str
    filters: FilterSettings
    # Test seam: an httpx transport handed to every adapter (e.g. httpx.MockTransport).
    adapter_transport: httpx.BaseTransport | None = None
    # The accounts package's per-process state, made on first use (see the module docstring).
    adapters: AdapterCache | None = None
    tokens: RedisTokens | None = None
    budget: Budget | None = None

    def publish_on_commit(self, session: Session, event: dict[str, Any]) -> None:
        """Tell the workbench about ``event`` once the session's transaction commits."""
        on_commit(session, lambda: self.events.publish(event))

    def close(self) -> None:
        self.tasks.shutdown()
        if self.adapters is not None:
            self.adapters.close()
        if self.tokens is not None:
            self.tokens.close()
        self.engine.dispose()


_current: Runtime | None = None


def build_runtime(settings: Settings, *, tasks: TaskRunner | None = None) -> Runtime:
    load_task_modules()
    try:
        filters = FilterSettings.from_mapping(settings.filters)
    except ValueError as exc:
        raise SettingsError(f"{exc} (settings.toml [filters])") from exc
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
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        tasks=tasks,
        events=events,
        vault=TokenVault(secret),
        secret=secret,
        filters=filters,
    )


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
