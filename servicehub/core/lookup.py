"""Look-ups by many keys at once: ``column IN (...)`` that stays cheap with thousands of keys.

SQLAlchemy expands ``column.in_(values)`` into one bound parameter per value. With a few
thousand keys that statement is parsed anew on every call: psycopg caches the conversion
of a query only below 50 parameters, and PostgreSQL parses and plans the whole list. On
PostgreSQL, :func:`one_of` sends the keys as a single array parameter instead
(``column = ANY(:keys)``), a statement whose text never changes. Other databases (SQLite in
embedded mode) get the plain ``IN`` list, in :func:`chunks` small enough for any driver's
parameter limit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from servicehub.core.db import is_postgres

T = TypeVar("T")

LOOKUP_CHUNK = 1000  # keys per look-up: well inside every driver's parameter limit


def chunks(values: Sequence[T], size: int = LOOKUP_CHUNK) -> Iterable[Sequence[T]]:
    """``values`` in slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def one_of(
    session: Session, column: InstrumentedAttribute[Any] | ColumnElement[Any], values: Collection[Any]
) -> ColumnElement[bool]:
    """``column IN values``: one array parameter on PostgreSQL, an ``IN`` list elsewhere."""
    if is_postgres(session):
        keys = bindparam(None, list(values), type_=ARRAY(column.type))
        return column == any_(keys)
    return column.in_(values)
