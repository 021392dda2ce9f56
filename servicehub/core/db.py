"""Engine, sessions and the after-commit hook.

The hub uses synchronous SQLAlchemy sessions: listener and routing work runs in Celery
workers or worker threads, and Starlette runs sync endpoints in its thread pool. Side
effects that leave the process (tasks, events) are registered with :func:`on_commit` and
fire only after the transaction commits, so a worker never reads a row that is not there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import DateTime, MetaData, TypeDecorator, create_engine, event, exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, sessionmaker

from servicehub.core.errors import HubError

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored as naive UTC and always come back timezone-aware (UTC).

    SQLite keeps no zone and PostgreSQL's ``timestamptz`` converts to the session zone;
    normalizing here means every comparison in the code is between aware UTC datetimes.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class DatabaseUnavailable(HubError, RuntimeError):
    """The database cannot be reached; the message says which URL and what to check."""


def utcnow() -> datetime:
    return datetime.now(UTC)


# psycopg prepares a statement after its fifth run, and PostgreSQL may then keep one generic
# plan for it. A generic plan of a bulk look-up (``key = ANY(:keys)``) made while a table was
# still small scanned the whole table later: 170 ms instead of 2 ms per look-up once the
# intake had stored 100k messages. Planning each run with its values costs a fraction of that.
# Set per connection rather than as a startup option, which connection poolers such as
# PgBouncer refuse.
POSTGRES_SESSION = "SET plan_cache_mode = force_custom_plan"


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    event.listen(engine, "connect", _postgres_session)
    return engine


def _postgres_session(dbapi_conn: Any, _record: Any) -> None:
    with dbapi_conn.cursor() as cur:
        cur.execute(POSTGRES_SESSION)
    dbapi_conn.commit()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, see below
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    """Take SQLite's write lock at BEGIN: concurrent writers then wait (busy_timeout) instead
    of failing with "database is locked" when a read transaction tries to upgrade."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def check_connection(engine: Engine) -> None:
    """Fail fast with a one-line, actionable message when the database is unreachable."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except exc.OperationalError as e:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(e.orig).strip().splitlines()[0] if e.orig else str(e)
        raise DatabaseUnavailable(
            f"cannot connect to the database {where}: {reason} — start it or fix [database].url"
        ) from e


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` after the session's current transaction commits (dropped on rollback)."""
    if not session.in_transaction():
        session.begin()  # tie the callback to a real transaction, so a rollback discards it
    session.info.setdefault("on_commit", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop("on_commit", [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a failed enqueue must not undo a committed transaction
            log.exception("after-commit callback failed")


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # Only the outermost rollback discards; a failed SAVEPOINT keeps the outer work's callbacks.
    if previous_transaction.parent is None:
        session.info.pop("on_commit", None)


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A SAVEPOINT whose failure also drops the after-commit callbacks registered inside it.

    The outer transaction's own callbacks stay (see ``_drop_after_rollback``); those of the
    undone part must not fire, or a commit would announce work that never happened.
    """
    callbacks = session.info.setdefault("on_commit", [])
    before = len(callbacks)
    try:
        with session.begin_nested():
            yield
    except BaseException:
        del callbacks[before:]
        raise


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with factory() as session, session.begin():
        yield session


def is_postgres(session: Session) -> bool:
    """Whether the session talks to PostgreSQL (row locks, ``= ANY``, set-wise SQL) rather than
    SQLite (one writer at a time: ``BEGIN IMMEDIATE`` already serializes what locks would)."""
    return session.get_bind().dialect.name == "postgresql"


def dialect_insert(session: Session) -> Any:
    """``insert`` of the session's dialect, which offers ``on_conflict_do_nothing`` on both."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if is_postgres(session) else sqlite.insert
