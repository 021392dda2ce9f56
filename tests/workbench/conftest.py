from __future__ import annotations

import re

from starlette.testclient import TestClient

from servicehub.core.models import Account
from servicehub.core.runtime import Runtime
from servicehub.listener.filtering import chain_for
from servicehub.listener.intake import intake
from servicehub.routing.conversations import route_messages
from tests.factories import PASSWORD, mention


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> None:
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 303, response.text


def hear(
    runtime: Runtime, account_id: int, platform_id: str, text: str, author_uid: str = "2489518277"
) -> int:
    """Take in one mention and route it; returns the request id."""
    from servicehub.core.models import Message

    with runtime.sessions() as s:
        account = s.get(Account, account_id)
        assert account is not None
        item = mention(platform_id, text, author_uid=author_uid, account_uid=account.platform_uid)
        ids = intake(s, account, [item], chain_for(s, runtime))
        s.commit()
    route_messages(runtime, ids)
    with runtime.sessions() as s:
        message = s.get(Message, ids[0])
        assert message is not None and message.request_id is not None
        return message.request_id


def hear_dropped(runtime: Runtime, account_id: int, platform_id: str, text: str) -> int:
    """Take in one mention the filters drop; returns the message id."""
    with runtime.sessions() as s:
        account = s.get(Account, account_id)
        assert account is not None
        item = mention(platform_id, text, account_uid=account.platform_uid)
        ids = intake(s, account, [item], chain_for(s, runtime))
        s.commit()
    return ids[0]
