"""Set-wise INSERTs: many rows in one statement, with optional ``ON CONFLICT DO NOTHING``.

The intake and routing paths write thousands of rows per transaction. An ORM or Core
``executemany`` sends each row as a statement of its own (psycopg pipelines them, but the
server still parses, plans and executes each, and the driver re-escapes every value), and a
multi-row ``VALUES`` list of a thousand wide rows is a statement of a few hundred kilobytes
that the driver re-parses for placeholders on every call.

On PostgreSQL :func:`insert_rows` therefore sends ``INSERT ... SELECT FROM
json_to_recordset(:rows)``: one short statement whose single parameter is the rows as one
JSON document (one ``orjson.dumps`` here, one parse in the server). Values are
converted as their column types would bind them (UTC timestamps, JSON documents), and
columns left out get their Python-side defaults, as an ORM insert would. SQLite keeps the
ordinary executemany, which is cheap in-process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import orjson
from psycopg.types.json import Json
from sqlalchemy import JSON, Column, ColumnElement, Result, Table, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from servicehub.core.db import Base, dialect_insert, is_postgres


def insert_rows(
    session: Session,
    target: type[Base] | Table,
    rows: Sequence[dict[str, Any]],
    *,
    skip_conflicts_on: Sequence[str] = (),
    conflict_where: ColumnElement[bool] | None = None,
    returning: Sequence[str] = (),
) -> Result[*tuple[Any, ...]] | None:
    """Insert ``rows`` (dicts with the same keys) in one statement; the RETURNING result if asked.

    ``skip_conflicts_on`` names the columns of a unique index (``conflict_where`` the
    predicate of a partial one): rows that collide with it are skipped, and ``returning``
    then yields only the rows this call added.
    """
    if not rows:
        return None
    table = target if isinstance(target, Table) else cast(Table, target.__table__)
    rows = with_defaults(table, rows)
    if is_postgres(session):
        return session.execute(*_recordset(table, rows, skip_conflicts_on, conflict_where, returning))
    stmt = dialect_insert(session)(table)
    if skip_conflicts_on:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(skip_conflicts_on), index_where=conflict_where)
    if returning:
        return session.execute(stmt.returning(*(table.c[name] for name in returning)), list(rows))
    session.execute(stmt, list(rows))
    return None


def with_defaults(table: Table, rows: Sequence[dict[str, Any]]) -> Sequence[dict[str, Any]]:
    """``rows`` with the Python-side defaults of the columns they leave out (id excluded)."""
    missing: list[tuple[str, Any]] = []
    for column in table.columns:
        default = column.default
        if column.name in rows[0] or column.primary_key or default is None:
            continue
        if getattr(default, "is_scalar", False):
            missing.append((column.name, lambda value=default.arg: value))  # type: ignore[attr-defined]
        elif getattr(default, "is_callable", False):
            missing.append((column.name, lambda fn=default.arg: fn(None)))  # type: ignore[attr-defined]
    if not missing:
        return rows
    return [row | {name: make() for name, make in missing} for row in rows]


def _recordset(
    table: Table,
    rows: Sequence[dict[str, Any]],
    conflict: Sequence[str],
    where: ColumnElement[bool] | None,
    returning: Sequence[str],
) -> tuple[Any, dict[str, Json]]:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    names = list(rows[0])
    columns: list[Column[Any]] = [table.c[name] for name in names]
    active = [
        (name, process)
        for name, column in zip(names, columns, strict=True)
        if not isinstance(column.type, JSON) and (process := column.type.bind_processor(dialect)) is not None
    ]
    converted = []
    for row in rows:  # orjson writes the (naive UTC) datetimes itself, in ISO 8601
        out = dict(row)
        for name, process in active:
            out[name] = process(out[name])
        converted.append(out)
    shape = ", ".join(f"{n} {c.type.compile(dialect=dialect)}" for n, c in zip(names, columns, strict=True))
    listed = ", ".join(names)
    sql = (
        f"INSERT INTO {table.name} ({listed}) SELECT {listed} "
        f"FROM json_to_recordset(CAST(:rows AS json)) AS r({shape})"
    )
    if conflict:
        sql += f" ON CONFLICT ({', '.join(conflict)})"
        if where is not None:
            sql += f" WHERE {where.compile(dialect=dialect, compile_kwargs={'literal_binds': True})}"
        sql += " DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(returning)}"
    return text(sql), {"rows": Json(converted, dumps=_dumps)}


def _dumps(rows: Any) -> bytes:
    """The rows as one JSON document, handed to psycopg as bytes (no str round trip)."""
    return orjson.dumps(rows, option=orjson.OPT_NON_STR_KEYS)


def reserve_ids(session: Session, table: str, count: int) -> list[int]:
    """``count`` fresh ids from ``table``'s id sequence (PostgreSQL; gaps are harmless).

    Rows inserted with ids known beforehand need no ``RETURNING`` matched back to the rows
    that produced them, and can be referenced before they are written.
    """
    return list(
        session.scalars(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table, "n": count},
        )
    )
