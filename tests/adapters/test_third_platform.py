"""Adding a platform is one package plus one registry line: a third platform, defined only in
the tests, is connected through the OAuth pages, polled, routed and answered through the outbox.

Nothing under ``servicehub/`` names it: the registry line is added here (as a platform's
package would add it), the settings table is its own, and the rest of the hub asks the
adapter class what it needs (``tests/adapters/third_platform.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from servicehub.accounts.config import platform_config
from servicehub.adapters import registry
from servicehub.adapters.base import Credentials, publisher
from servicehub.adapters.errors import Unsupported
from servicehub.core.models import Account, Message, OutboundMessage, PollCursor, ServiceRequest, Team
from servicehub.core.runtime import Runtime
from servicehub.listener import poller
from tests.adapters.third_platform import NAME, TootServer
from tests.factories import World
from tests.workbench.conftest import csrf_of, login

ACCOUNT = "77"


@pytest.fixture
def toot(sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[TootServer]:
    server = TootServer(app_key="toot-app", app_secret="toot-secret", accounts={ACCOUNT: "联通嘟嘟客服"})
    monkeypatch.setitem(registry.ADAPTERS, NAME, "tests.adapters.third_platform:TootAdapter")
    table = {"api_base": "https://toot.example", "app_key": "toot-app", "app_secret": "toot-secret"}
    settings = sqlite_runtime.settings
    sqlite_runtime.settings = dataclasses.replace(settings, platforms={**settings.platforms, NAME: table})
    sqlite_runtime.adapter_transport = httpx.MockTransport(server)
    yield server
    sqlite_runtime.settings = settings


def _local(url: str) -> str:
    """The hub URL a platform redirects to, as the test client reaches it."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _connect(client: TestClient, toot: TootServer) -> tuple[int, str]:
    accounts = client.get("/accounts").text
    assert "连接嘟嘟官方账号" in accounts  # offered because its adapter can authorize
    start = client.get(f"/oauth/{NAME}/start?kind=official")
    assert start.status_code == 303 and start.headers["location"].startswith(
        "https://toot.example/oauth/authorize"
    )
    back = client.get(_local(toot.consent(start.headers["location"], ACCOUNT)))
    assert back.status_code == 303
    location = back.headers["location"]
    return int(location.rsplit("#a", 1)[1]), location


def _post(client: TestClient, path: str, **form: object) -> None:
    token = csrf_of(client.get("/admin/teams").text)
    response = client.post(path, data={**form, "csrf_token": token})
    assert response.status_code == 303, response.text


def test_a_platform_known_only_to_the_tests_is_connected_polled_routed_and_answered(
    toot: TootServer, client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    login(client, "admin")
    account_id, location = _connect(client, toot)
    assert "notice=connected" in location
    with sqlite_runtime.sessions() as s:
        account = s.get(Account, account_id)
        assert account is not None and (account.platform, account.platform_uid) == (NAME, ACCOUNT)
        assert account.display_name == "联通嘟嘟客服"  # read with the fresh token (own_profile)
        sources = set(s.scalars(select(PollCursor.source).where(PollCursor.account_id == account_id)))
        assert sources == {"mentions"}  # the only source its adapter can be polled for
    assert "嘟嘟" in client.get("/accounts").text.split(f'id="a{account_id}"')[1].split("</tr>")[0]

    # Routing is set up in the workbench too: 宽带 questions go to a team 张伟 is in.
    _post(client, "/admin/teams", name="嘟嘟客服组", org_id=str(world.inhouse_org_id))
    with sqlite_runtime.sessions() as s:
        team_id = s.scalars(select(Team.id).where(Team.name == "嘟嘟客服组")).one()
    _post(client, f"/admin/teams/{team_id}/members", user_ids=str(world.operator_id))
    _post(client, "/admin/routing/rules", name="嘟嘟宽带", team_id=str(team_id), keyword="宽带")

    toot.mention(ACCOUNT, "请问嘟嘟上能报修宽带吗？")
    with sqlite_runtime.sessions() as s:
        cursor_id = s.scalars(select(PollCursor.id).where(PollCursor.account_id == account_id)).one()
    assert poller.poll_cursor(sqlite_runtime, cursor_id).stored == 1
    assert poller.poll_cursor(sqlite_runtime, cursor_id).stored == 0  # polled again: nothing twice
    with sqlite_runtime.sessions() as s:
        request = s.scalars(select(ServiceRequest).where(ServiceRequest.account_id == account_id)).one()
        mention_id = s.scalars(select(Message.platform_id).where(Message.request_id == request.id)).one()
        assert request.assignee_id == world.operator_id and request.team_id == team_id

    client.cookies.clear()
    login(client, "zhangwei")
    page = client.get(f"/requests/{request.id}").text
    assert "嘟嘟" in page and 'data-limit="500"' in page and 'data-counting="chars"' in page
    sent = client.post(
        f"/requests/{request.id}/reply",
        data={"text": "您好，可以的，请私信留下地址。", "nonce": "toot-1", "csrf_token": csrf_of(page)},
    )
    assert sent.status_code == 303
    assert [(s["in_reply_to"], s["text"]) for s in toot.statuses] == [
        (mention_id, "您好，可以的，请私信留下地址。")
    ]
    with sqlite_runtime.sessions() as s:
        out = s.scalars(select(OutboundMessage).where(OutboundMessage.request_id == request.id)).one()
        assert out.state == "sent" and out.platform_id == toot.statuses[0]["id"]
    assert "已发送" in client.get(f"/requests/{request.id}").text

    # Its text rule is the one the adapter states: 501 characters are refused before queueing.
    too_long = client.post(
        f"/requests/{request.id}/reply",
        data={"text": "好" * 501, "nonce": "toot-2", "csrf_token": csrf_of(page)},
    )
    assert too_long.status_code == 422 and "内容超过500字" in too_long.text and len(toot.statuses) == 1


def test_connecting_the_same_account_again_re_authorizes_it(
    toot: TootServer, client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    login(client, "admin")
    first, _ = _connect(client, toot)
    again, location = _connect(client, toot)
    assert again == first and "notice=reauthorized" in location
    with sqlite_runtime.sessions() as s:
        assert len(s.scalars(select(Account).where(Account.platform == NAME)).all()) == 1


def test_a_capability_the_platform_lacks_is_a_hub_error_not_an_attribute_error(
    toot: TootServer, sqlite_runtime: Runtime
) -> None:
    config = platform_config(sqlite_runtime, NAME)
    adapter = registry.build_adapter(config, Credentials("t", ACCOUNT), sqlite_runtime.adapter_transport)
    try:
        with pytest.raises(Unsupported):
            publisher(adapter)  # toot accounts only answer; they do not publish
    finally:
        adapter.close()
    assert registry.credential_fields(NAME) == ()
    with pytest.raises(Unsupported):
        registry.check_credentials(NAME, {})
