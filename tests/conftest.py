"""Shared fixtures: a migrated database (SQLite, or the machine's PostgreSQL), a runtime, seed data."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from servicehub.core import migrate
from servicehub.core.runtime import Runtime, build_runtime, set_runtime
from servicehub.core.settings import Settings, load_settings
from servicehub.core.tasks import SyncRunner
from servicehub.workbench.app import create_app
from tests.factories import World, build_world
from tests.services import fresh_pg_database


def reset_cache() -> None:
    """Forget filter settings cached from a previous test's runtime (imported lazily)."""
    from servicehub.listener.filtering import reset_cache as reset

    reset()


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> Iterator[None]:
    """Argon2 with tiny cost parameters: the same code path, without 100 ms per seeded user."""
    from argon2 import PasswordHasher

    from servicehub.core import security

    original = security._hasher
    security._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    yield
    security._hasher = original


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


def make_settings(tmp_path: Path, database_url: str = "", **sections: dict[str, object]) -> Settings:
    settings = load_settings(env={"HUB_SETTINGS": str(tmp_path / "absent.toml")})
    replaced = {
        "hub": dataclasses.replace(settings.hub, data_dir=str(tmp_path / "var"), secret_key="test-secret"),
        "database": dataclasses.replace(settings.database, url=database_url),
        "platforms": {
            "weibo": {"api_base": "http://127.0.0.1:9"},
            "wechat": {"api_base": "http://127.0.0.1:9"},
        },
    }
    for name, values in sections.items():
        current = getattr(settings, name)
        replaced[name] = (
            dataclasses.replace(current, **values) if dataclasses.is_dataclass(current) else values
        )
    return dataclasses.replace(settings, **replaced)  # type: ignore[arg-type]


def clean_pg(runtime: Runtime) -> None:
    from servicehub.core.db import Base

    with runtime.engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


def _installed_runtime(tmp_path: Path, pg_url: str = "", **sections: dict[str, object]) -> Iterator[Runtime]:
    """A migrated runtime (PostgreSQL emptied first), installed as the current one for the test."""
    rt = build_runtime(make_settings(tmp_path, pg_url, **sections), tasks=SyncRunner())
    migrate.upgrade(rt.engine)
    if pg_url:
        clean_pg(rt)
    set_runtime(rt)
    reset_cache()
    yield rt
    set_runtime(None)
    rt.close()


@pytest.fixture
def sqlite_runtime(tmp_path: Path) -> Iterator[Runtime]:
    yield from _installed_runtime(tmp_path)


@pytest.fixture
def sqlite_runtime_with(tmp_path: Path) -> Iterator[Callable[..., Runtime]]:
    """Makes an SQLite runtime with some settings sections replaced (``filters={...}``)."""
    made: list[Iterator[Runtime]] = []

    def make(**sections: dict[str, object]) -> Runtime:
        made.append(_installed_runtime(tmp_path, **sections))
        return next(made[-1])

    yield make
    for installed in made:
        next(installed, None)  # past its yield: uninstalled and closed


@pytest.fixture
def pg_runtime(pg_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """PostgreSQL only: for races that SQLite's single writer rules out."""
    yield from _installed_runtime(tmp_path, pg_url)


@pytest.fixture(params=["sqlite", "postgresql"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    """A migrated runtime on SQLite and on the machine's PostgreSQL (storage tests run on both)."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else ""
    yield from _installed_runtime(tmp_path, url)


@pytest.fixture
def world(sqlite_runtime: Runtime) -> World:
    """The seeded organizations, people and accounts (tests/factories.build_world) on SQLite."""
    return build_world(sqlite_runtime)


@pytest.fixture
def client(sqlite_runtime: Runtime) -> Iterator[TestClient]:
    """The workbench app over ``sqlite_runtime``, in-process (redirects are not followed)."""
    with TestClient(create_app(sqlite_runtime), follow_redirects=False) as c:
        yield c
