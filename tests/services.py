"""Reaching the machine's real services from tests: fail under CI=true, skip elsewhere."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_ADMIN_URL = os.environ.get("HUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("HUB_TEST_REDIS", "redis://127.0.0.1:6379/0")


def unavailable(what: str, exc: BaseException) -> None:
    message = f"{what} is not reachable ({exc}); integration tests need it"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " — under CI=true a missing service fails the run", pytrace=False)
    pytest.skip(message)


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test session; dropped afterwards."""
    import psycopg

    name = f"hub_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(
            PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True, connect_timeout=3
        )
    except Exception as exc:
        unavailable(f"PostgreSQL at {PG_ADMIN_URL}", exc)
        raise
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        unavailable(f"Redis at {REDIS_URL}", exc)
    return REDIS_URL


@contextmanager
def claimed_redis_db() -> Iterator[str]:
    """A Redis database (7, 6, ... 2) no other test run on this machine is using, flushed
    before and after: two checkouts may run their suites at once (benches use 15..8)."""
    import redis

    base = redis_url().rsplit("/", 1)[0]
    token = f"{os.getpid()}:{uuid.uuid4().hex}"
    for number in range(7, 1, -1):
        client = redis.Redis.from_url(f"{base}/{number}")
        if client.set("servicehub:test-claim", token, nx=True, ex=1800):
            break
    else:
        pytest.fail("no free Redis database (7..2): other test runs hold each", pytrace=False)
    for key in client.scan_iter():
        if key != b"servicehub:test-claim":
            client.delete(key)
    try:
        yield f"{base}/{number}"
    finally:
        client.flushdb()
