"""Keyword listening tasks saved in the workbench: intake keeps flowing, off means off, delete works.

Found by using the hub: saving a task that names accounts made every poll and push fail
(``dict()`` over a query result read its keys, not its rows), the queue froze and the
accounts page still said 正常; unticking 启用 left the task on; a task could not be deleted.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from servicehub.core.models import Account, ListeningTask, Message, PollCursor
from servicehub.core.runtime import Runtime
from servicehub.listener import poller
from tests import fakes
from tests.factories import World, mention
from tests.workbench.conftest import csrf_of, login


def _cursor(runtime: Runtime, account_id: int) -> int:
    with runtime.sessions() as s:
        return s.scalars(
            select(PollCursor.id).where(PollCursor.account_id == account_id, PollCursor.source == "mentions")
        ).one()


def _save_task(client: TestClient, path: str, **fields: object) -> None:
    token = csrf_of(client.get("/admin/listening").text)
    response = client.post(path, data={**fields, "csrf_token": token})
    assert response.status_code == 303, response.text


def _task(runtime: Runtime) -> ListeningTask:
    with runtime.sessions() as s:
        return s.scalars(select(ListeningTask)).one()


def test_a_task_naming_accounts_keeps_intake_flowing_and_tags_what_it_hears(
    client: TestClient, world: World, sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(client, "admin")
    _save_task(
        client,
        "/admin/listening",
        name="宽带故障",
        keywords="断网，宽带",
        account_ids=str(world.inhouse_account_id),
        is_active="on",
    )
    platform = fakes.install(monkeypatch)
    platform.mentions += [
        mention("4900000000000701", "家里宽带又断网了"),
        mention("4900000000000702", "话费怎么查"),
    ]
    outcome = poller.poll_cursor(sqlite_runtime, _cursor(sqlite_runtime, world.inhouse_account_id))
    assert (outcome.error, outcome.stored) == ("", 2)
    task = _task(sqlite_runtime)
    with sqlite_runtime.sessions() as s:
        tags = {m.platform_id: m.tags for m in s.scalars(select(Message))}
    assert f"listen:{task.id}" in tags["4900000000000701"]
    assert f"listen:{task.id}" not in tags["4900000000000702"]


def test_unticking_active_switches_the_task_off_and_delete_removes_it(
    client: TestClient, world: World, sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(client, "admin")
    _save_task(client, "/admin/listening", name="宽带故障", keywords="断网", is_active="on")
    task = _task(sqlite_runtime)
    _save_task(client, f"/admin/listening/{task.id}", name="宽带故障", keywords="断网")  # 启用 unticked
    assert _task(sqlite_runtime).is_active is False
    platform = fakes.install(monkeypatch)
    platform.mentions.append(mention("4900000000000711", "又断网了"))
    poller.poll_cursor(sqlite_runtime, _cursor(sqlite_runtime, world.inhouse_account_id))
    with sqlite_runtime.sessions() as s:
        assert f"listen:{task.id}" not in s.scalars(select(Message)).one().tags
    _save_task(client, f"/admin/listening/{task.id}", name="宽带故障", keywords="断网", delete="1")
    with sqlite_runtime.sessions() as s:
        assert s.scalars(select(ListeningTask)).all() == []


def test_an_intake_failure_shows_on_the_accounts_page_and_in_the_log(
    client: TestClient,
    world: World,
    sqlite_runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    platform = fakes.install(monkeypatch)
    platform.mentions.append(mention("4900000000000721", "宽带断了"))

    def broken(*args: object, **kwargs: object) -> object:
        raise TypeError("'ChunkedIteratorResult' object is not subscriptable")

    monkeypatch.setattr(poller, "chain_for", broken)
    with caplog.at_level(logging.ERROR, logger="servicehub.listener.poller"):
        outcome = poller.poll_cursor(sqlite_runtime, _cursor(sqlite_runtime, world.inhouse_account_id))
    assert "TypeError" in outcome.error
    assert any("failed inside the hub" in r.getMessage() and r.exc_info for r in caplog.records)
    login(client, "admin")
    page = client.get("/accounts").text
    row = page.split(f'id="a{world.inhouse_account_id}"')[1].split("</tr>")[0]
    assert "收取消息失败" in row and "系统内部错误" in row  # in words, with the detail folded away
    with sqlite_runtime.sessions() as s:
        account = s.get(Account, world.inhouse_account_id)
        assert account is not None and "ChunkedIteratorResult" in account.intake_error
