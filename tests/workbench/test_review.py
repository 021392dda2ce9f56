from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from servicehub.core.models import AuditEvent, Message
from servicehub.core.runtime import Runtime
from tests.factories import World
from tests.workbench.conftest import csrf_of, hear_dropped, login


def test_dropped_messages_are_listed_with_reason_and_can_be_restored(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    message_id = hear_dropped(sqlite_runtime, world.inhouse_account_id, "4900000000000001", "[哈哈][哈哈]")
    login(client, "zhangwei")
    page = client.get("/review")
    assert page.status_code == 200 and "[哈哈][哈哈]" in page.text and "空内容" in page.text
    restored = client.post(f"/review/{message_id}/restore", data={"csrf_token": csrf_of(page.text)})
    assert restored.status_code == 303
    with sqlite_runtime.sessions() as s:
        message = s.get(Message, message_id)
        assert message is not None and message.keep and message.request_id is not None
        assert "restored:empty" in message.tags
        assert (
            s.scalars(select(AuditEvent).where(AuditEvent.action == "message.restored")).first() is not None
        )
    again = client.post(f"/review/{message_id}/restore", data={"csrf_token": csrf_of(page.text)})
    assert again.status_code == 404  # no longer dropped: nothing to restore, nothing duplicated


def test_other_companies_cannot_see_or_restore_our_dropped_messages(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    message_id = hear_dropped(sqlite_runtime, world.inhouse_account_id, "4900000000000002", "转发微博")
    login(client, "manager")  # sees everything
    assert "转发微博" in client.get("/review").text
    client.cookies.clear()
    login(client, "lina")  # partner operator: no review permission at all
    assert client.get("/review").status_code == 403
    with sqlite_runtime.sessions() as s:
        message = s.get(Message, message_id)
        assert message is not None and message.keep is False
