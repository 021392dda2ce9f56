from __future__ import annotations

import threading
from pathlib import Path

import pytest

from servicehub.core.db import make_engine, make_session_factory, on_commit, savepoint
from servicehub.core.events import InProcessBus
from servicehub.core.tasks import REGISTRY, InProcessRunner, SyncRunner, enqueue_on_commit, task

calls: list[int] = []


@task("tests.record")
def record(value: int) -> None:
    calls.append(value)


def test_enqueue_on_commit_runs_only_after_commit() -> None:
    calls.clear()
    factory = make_session_factory(make_engine("sqlite://"))
    with factory() as session:
        enqueue_on_commit(session, SyncRunner(), "tests.record", value=1)
        assert calls == []
        session.commit()
    assert calls == [1]


def test_nothing_is_enqueued_on_rollback() -> None:
    calls.clear()
    factory = make_session_factory(make_engine("sqlite://"))
    with factory() as session:
        enqueue_on_commit(session, SyncRunner(), "tests.record", value=2)
        session.rollback()
        session.commit()
    assert calls == []


def test_unknown_task_name_is_refused_at_enqueue_time() -> None:
    factory = make_session_factory(make_engine("sqlite://"))
    with factory() as session, pytest.raises(KeyError, match=r"unknown task 'tests\.nope'"):
        enqueue_on_commit(session, SyncRunner(), "tests.nope")


def test_in_process_runner_runs_on_worker_threads_and_drains() -> None:
    seen: list[str] = []

    @task("tests.thread_name")
    def thread_name() -> None:
        seen.append(threading.current_thread().name)

    runner = InProcessRunner(workers=2)
    try:
        for _ in range(5):
            runner.enqueue("tests.thread_name")
        runner.drain(timeout=5)
    finally:
        runner.shutdown()
        REGISTRY.pop("tests.thread_name", None)
    assert len(seen) == 5
    assert all(name.startswith("hub-task") for name in seen)


def test_after_commit_callback_failure_does_not_break_the_commit() -> None:
    factory = make_session_factory(make_engine("sqlite://"))
    ran: list[str] = []

    def boom() -> None:
        raise RuntimeError("broker down")

    with factory() as session:
        on_commit(session, boom)
        on_commit(session, lambda: ran.append("second"))
        session.commit()
    assert ran == ["second"]


def test_a_failed_savepoint_drops_only_its_own_after_commit_callbacks(tmp_path: Path) -> None:
    factory = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'hub.db'}"))
    ran: list[str] = []
    with factory() as session:
        on_commit(session, lambda: ran.append("outer"))
        with pytest.raises(RuntimeError), savepoint(session):
            on_commit(session, lambda: ran.append("undone"))
            raise RuntimeError("deadlock")
        with savepoint(session):
            on_commit(session, lambda: ran.append("kept"))
        session.commit()
    assert ran == ["outer", "kept"]


async def test_in_process_bus_delivers_events_published_from_threads() -> None:
    bus = InProcessBus()
    async with bus.subscribe() as feed:
        threading.Thread(target=bus.publish, args=({"type": "request", "request_id": 7},)).start()
        event = await feed.get(timeout=2)
    assert event == {"type": "request", "request_id": 7}


async def test_a_quiet_subscription_times_out_and_keeps_working() -> None:
    bus = InProcessBus()
    async with bus.subscribe() as feed:
        assert await feed.get(timeout=0.05) is None
        bus.publish({"type": "ping"})
        assert await feed.get(timeout=1) == {"type": "ping"}
