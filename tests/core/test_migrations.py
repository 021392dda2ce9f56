from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from servicehub.core import migrate
from servicehub.core.db import Base, make_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def test_migrations_match_the_models_and_round_trip(engine_url: str) -> None:
    engine = make_engine(engine_url)
    try:
        migrate.downgrade(engine, "base")
        migrate.upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
        assert diff == [], f"models and migrations differ; write a migration: {diff}"
        migrate.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def test_the_migrations_form_one_chain() -> None:
    """Features merged from parallel branches must be chained, not left as several heads:
    an installation upgrading to "head" would otherwise stop with an error."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config(make_engine("sqlite://")))
    assert len(script.get_heads()) == 1, script.get_heads()
