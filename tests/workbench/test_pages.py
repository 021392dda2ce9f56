from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from servicehub.core.models import AuditEvent, DeliveryState, OutboundMessage
from servicehub.core.runtime import Runtime
from tests import fakes
from tests.factories import World
from tests.workbench.conftest import csrf_of, hear, login


def test_anonymous_pages_redirect_to_login_and_api_says_401(client: TestClient, world: World) -> None:
    assert client.get("/").headers["location"] == "/login"
    assert client.get("/api/requests").status_code == 401


def test_login_needs_csrf_and_wrong_password_is_audited(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    assert client.post("/login", data={"username": "zhangwei", "password": "x" * 10}).status_code == 400
    token = csrf_of(client.get("/login").text)
    bad = client.post(
        "/login", data={"username": "zhangwei", "password": "wrong-password", "csrf_token": token}
    )
    assert bad.status_code == 401
    assert "用户名或密码错误" in bad.text
    with sqlite_runtime.sessions() as s:
        assert (
            s.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).first() is not None
        )


def test_operator_sees_requests_of_own_org_only(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    mine = hear(sqlite_runtime, world.inhouse_account_id, "4900000000000001", "宽带断网三天了")
    theirs = hear(
        sqlite_runtime, world.partner_account_id, "4900000000000002", "上海这边信号差", author_uid="9"
    )
    login(client, "zhangwei")
    page = client.get("/queue?view=all")
    assert page.status_code == 200
    assert "宽带断网三天了" in page.text and "上海这边信号差" not in page.text
    assert client.get(f"/requests/{mine}").status_code == 200
    hidden = client.get(f"/requests/{theirs}")
    missing = client.get("/requests/999999")
    assert hidden.status_code == missing.status_code == 404
    strip = re.compile(r'value="[^"]+"')  # per-request CSRF/nonce values differ anyway
    assert strip.sub("", hidden.text) == strip.sub("", missing.text)
    api = client.get("/api/requests?view=all").json()
    assert api["total"] == 1 and [r["id"] for r in api["requests"]] == [mine]


def test_partner_of_another_company_sees_nothing(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    theirs = hear(
        sqlite_runtime, world.partner_account_id, "4900000000000002", "上海这边信号差", author_uid="9"
    )
    login(client, "zhaolei")
    assert client.get("/api/requests?view=all").json()["total"] == 0
    assert client.get(f"/api/requests/{theirs}").status_code == 404


def test_customer_html_is_shown_as_text_and_pages_forbid_inline_script(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    rid = hear(
        sqlite_runtime,
        world.inhouse_account_id,
        "4900000000000003",
        '<script>alert("x")</script><img src=x onerror=alert(1)>宽带坏了',
    )
    login(client, "zhangwei")
    page = client.get(f"/requests/{rid}")
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_reply_from_the_page_is_sent_and_shown(
    client: TestClient, world: World, sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = fakes.install(monkeypatch)
    rid = hear(sqlite_runtime, world.inhouse_account_id, "4900000000000004", "套餐怎么变更？")
    login(client, "zhangwei")
    page = client.get(f"/requests/{rid}")
    nonce = page.text.split('name="nonce" value="')[1].split('"')[0]
    form = {"text": "您好，可在营业厅或APP办理变更。", "csrf_token": csrf_of(page.text), "nonce": nonce}
    first = client.post(f"/requests/{rid}/reply", data=form)
    again = client.post(f"/requests/{rid}/reply", data=form)  # a double click
    assert first.status_code == again.status_code == 303
    assert [text for _, _, text in platform.sent] == ["您好，可在营业厅或APP办理变更。"]
    shown = client.get(f"/requests/{rid}")
    assert "已发送" in shown.text
    with sqlite_runtime.sessions() as s:
        assert [o.state for o in s.scalars(select(OutboundMessage))] == [DeliveryState.SENT]


def test_reply_without_csrf_or_permission_is_refused(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    rid = hear(sqlite_runtime, world.inhouse_account_id, "4900000000000005", "查询话费")
    login(client, "manager")  # managers read everything but may not reply by default
    page = client.get(f"/requests/{rid}")
    assert page.status_code == 200 and 'action="/requests/' + str(rid) + '/reply"' not in page.text
    denied = client.post(f"/requests/{rid}/reply", data={"text": "hi", "csrf_token": csrf_of(page.text)})
    assert denied.status_code == 403
    assert client.post(f"/requests/{rid}/reply", data={"text": "hi"}).status_code == 400
    with sqlite_runtime.sessions() as s:
        assert list(s.scalars(select(OutboundMessage))) == []
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied")).first() is not None


def test_too_long_reply_shows_a_clear_error_and_keeps_the_draft(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    rid = hear(sqlite_runtime, world.inhouse_account_id, "4900000000000006", "查询话费")
    login(client, "zhangwei")
    page = client.get(f"/requests/{rid}")
    draft = "您好" * 71
    response = client.post(
        f"/requests/{rid}/reply", data={"text": draft, "csrf_token": csrf_of(page.text), "nonce": "n"}
    )
    assert response.status_code == 422
    assert "内容超过140字（当前142字）" in response.text and draft in response.text


def test_english_is_available(client: TestClient, world: World) -> None:
    login(client, "zhangwei")
    assert "Requests" in client.get("/?lang=en").text
    assert "Requests" in client.get("/").text  # remembered in the session
    assert "服务请求" in client.get("/?lang=zh-CN").text


def test_a_long_queue_says_how_many_up_to_the_cap_and_then_plus(
    client: TestClient, world: World, sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from servicehub.routing import queue

    monkeypatch.setattr(queue, "COUNT_CAP", 1)
    hear(sqlite_runtime, world.inhouse_account_id, "4900000000000001", "宽带断网三天了")
    hear(sqlite_runtime, world.inhouse_account_id, "4900000000000002", "信号差", author_uid="9")
    login(client, "zhangwei")
    assert "共 1+ 条" in client.get("/queue?view=all").text
    api = client.get("/api/requests?view=all").json()
    assert (api["total"], api["more"], len(api["requests"])) == (1, True, 2)
    monkeypatch.setattr(queue, "COUNT_CAP", 500)
    assert "共 2 条" in client.get("/queue?view=all").text
