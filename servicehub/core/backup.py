"""Backing the database up to one file and restoring it: ``servicehub backup`` / ``restore``.

PostgreSQL goes through its own tools, ``pg_dump --format=custom`` and ``pg_restore`` (from
the PostgreSQL client package, of the server's major version or newer), so a dump taken
while the hub runs is consistent and can be restored by hand as well. SQLite (the embedded
mode) is copied with SQLite's online backup API. Either way the restore refuses a database
that already holds a hub unless told to replace it, and both print the row count of every
table so the two can be compared.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url

from servicehub.core.errors import HubError


class BackupError(HubError):
    """A backup or restore could not be done; the message says what to fix."""


def libpq_url(engine: Engine) -> str:
    """The engine's URL as PostgreSQL's own tools take it (no ``+psycopg`` driver part)."""
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client (Debian: postgresql-client)"
        )
    return found


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else f'exit status {done.returncode}'}")


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy even while the hub writes."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table, every table of the database (Alembic's bookkeeping included)."""
    names = sorted(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {
            name: int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()) for name in names
        }


def backup(engine: Engine, target: Path) -> dict[str, int]:
    """Write the whole database to ``target``; returns the row counts it held."""
    target.parent.mkdir(parents=True, exist_ok=True)
    counts = row_counts(engine)
    if engine.dialect.name == "postgresql":
        _run(
            [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}", libpq_url(engine)],
            "pg_dump",
        )
    else:
        database = make_url(str(engine.url)).database
        if not database or database == ":memory:":
            raise BackupError("the database is in memory: there is nothing on disk to back up")
        _sqlite_copy(Path(database), target)
    return counts


def restore(engine: Engine, source: Path, *, replace: bool = False) -> dict[str, int]:
    """Load a backup made by :func:`backup` into the engine's database; returns its row counts.

    A database that already holds a hub (it has Alembic's version table) is only
    overwritten with ``replace``: a restore into the wrong database would be a loss.
    """
    if not source.is_file():
        raise BackupError(f"no backup file {source}")
    if "alembic_version" in inspect(engine).get_table_names() and not replace:
        raise BackupError(
            f"{engine.url.render_as_string(hide_password=True)} already holds a hub; "
            "restore into an empty database, or pass --replace to overwrite it"
        )
    engine.dispose()  # our own pooled connections would hold locks on what is replaced
    if engine.dialect.name == "postgresql":
        argv = [_tool("pg_restore"), "--no-owner", "--single-transaction", f"--dbname={libpq_url(engine)}"]
        if replace:
            argv += ["--clean", "--if-exists"]
        _run([*argv, str(source)], "pg_restore")
    else:
        database = make_url(str(engine.url)).database
        if not database or database == ":memory:":
            raise BackupError("the database is in memory: restore into a file")
        _sqlite_copy(source, Path(database))
    return row_counts(engine)
