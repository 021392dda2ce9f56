"""The task seam on real components: a Celery worker process, Redis as broker, PostgreSQL."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from servicehub.core import migrate
from servicehub.core.celery_app import make_celery
from servicehub.core.models import Account, Message, ServiceRequest
from servicehub.core.runtime import Runtime, build_runtime
from servicehub.core.tasks import CeleryRunner
from tests.conftest import make_settings
from tests.factories import build_world
from tests.services import claimed_redis_db

pytestmark = pytest.mark.integration
# The worker runs in production mode, which refuses the demo secrets: both sides share this one.
SECRET = "celery-test-secret-not-the-demo-one-0123456789"


@pytest.fixture
def celery_env(pg_url: str, tmp_path: Path) -> Iterator[tuple[Runtime, dict[str, str]]]:
    with claimed_redis_db() as broker:
        yield from _celery_env(pg_url, tmp_path, broker)


def _celery_env(pg_url: str, tmp_path: Path, broker: str) -> Iterator[tuple[Runtime, dict[str, str]]]:
    env = {
        **os.environ,
        "HUB_SETTINGS": str(tmp_path / "none.toml"),
        "HUB_HUB__MODE": "production",
        "HUB_HUB__DATA_DIR": str(tmp_path / "var"),
        "HUB_HUB__SECRET_KEY": SECRET,
        "HUB_DATABASE__URL": pg_url,
        "HUB_TASKS__BACKEND": "celery",
        "HUB_TASKS__BROKER_URL": broker,
        "HUB_REDIS__URL": broker,
        "HUB_PLATFORMS__WEIBO__API_BASE": "http://127.0.0.1:9",
    }
    settings = make_settings(tmp_path, pg_url, tasks={"backend": "celery", "broker_url": broker})
    settings = dataclasses.replace(settings, hub=dataclasses.replace(settings.hub, secret_key=SECRET))
    runtime = build_runtime(settings, tasks=CeleryRunner(make_celery(settings)))
    migrate.upgrade(runtime.engine)
    from tests.conftest import clean_pg

    clean_pg(runtime)
    yield runtime, env
    runtime.close()


def test_a_routing_task_runs_on_a_real_celery_worker(celery_env: tuple[Runtime, dict[str, str]]) -> None:
    runtime, env = celery_env
    world = build_world(runtime)
    with runtime.sessions.begin() as s:
        account = s.get(Account, world.inhouse_account_id)
        assert account is not None
        message = Message(
            platform="weibo",
            kind="mention",
            platform_id="4900000000000001",
            account_id=account.id,
            author_uid="42",
            author_name="小明",
            text="宽带断网",
            created_at=datetime.now(UTC),
            thread_id="4900000000000001",
            reply_target={"kind": "comment_status", "status_id": "4900000000000001"},
            customer_id=None,
            keep=True,
        )
        from servicehub.core.models import Customer

        customer = Customer(display_name="小明")
        s.add(customer)
        s.flush()
        message.customer_id = customer.id
        s.add(message)
        s.flush()
        message_id = message.id
    worker = subprocess.Popen(
        [sys.executable, "-m", "servicehub.cli", "worker", "--concurrency", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        runtime.tasks.enqueue("routing.route_messages", message_ids=[message_id])
        runtime.tasks.enqueue(
            "routing.route_messages", message_ids=[message_id]
        )  # delivered twice: idempotent
        deadline = time.monotonic() + 60
        routed = None
        while time.monotonic() < deadline and routed is None:
            with runtime.sessions() as s:
                routed = s.scalars(select(Message.request_id).where(Message.id == message_id)).one()
            time.sleep(0.3)
        assert routed is not None, "the worker did not route the message within 60 s"
        time.sleep(1.0)  # let the duplicate delivery run too
        with runtime.sessions() as s:
            requests = list(s.scalars(select(ServiceRequest)))
        assert len(requests) == 1 and requests[0].assignee_id in (world.operator_id, world.operator2_id)
    finally:
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
    assert "Traceback" not in output, output[-3000:]
