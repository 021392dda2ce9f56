"""Look-ups by many keys: the same rows on both databases, one array parameter on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import event, insert, select

from servicehub.core.lookup import chunks, one_of
from servicehub.core.models import Customer
from servicehub.core.runtime import Runtime


def test_chunks_cover_every_value_once_in_order() -> None:
    values = list(range(2503))
    parts = list(chunks(values, 1000))
    assert [len(p) for p in parts] == [1000, 1000, 503]
    assert [v for p in parts for v in p] == values
    assert list(chunks([], 10)) == []


@pytest.mark.parametrize("how_many", [0, 1, 3000])
def test_one_of_finds_exactly_the_listed_rows(runtime: Runtime, how_many: int) -> None:
    with runtime.sessions.begin() as s:
        ids = list(
            s.scalars(
                insert(Customer).returning(Customer.id),
                [{"display_name": f"客户{k}", "tags": []} for k in range(40)],
            )
        )
    wanted = ids[::3] + [10**9 + k for k in range(how_many)]  # many ids that match nothing
    with runtime.sessions() as s:
        found = set(s.scalars(select(Customer.id).where(one_of(s, Customer.id, wanted))))
        names = set(
            s.scalars(select(Customer.display_name).where(one_of(s, Customer.display_name, ["客户1"])))
        )
    assert found == set(ids[::3])
    assert names == {"客户1"}


def test_one_of_sends_one_parameter_on_postgresql(pg_runtime: Runtime) -> None:
    sent: list[object] = []

    def capture(conn: object, cursor: object, statement: str, params: object, *_: object) -> None:
        sent.append(params)

    event.listen(pg_runtime.engine, "before_cursor_execute", capture)
    try:
        with pg_runtime.sessions() as s:
            s.execute(select(Customer.id).where(one_of(s, Customer.id, list(range(2000))))).all()
    finally:
        event.remove(pg_runtime.engine, "before_cursor_execute", capture)
    assert len(sent) == 1 and isinstance(sent[0], dict)
    (values,) = sent[0].values()
    assert values == list(range(2000))


def test_postgresql_plans_each_bulk_look_up_with_its_values(pg_runtime: Runtime) -> None:
    """A generic plan made while a table was small kept scanning it whole once it had grown."""
    with pg_runtime.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"
