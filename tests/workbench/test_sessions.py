"""Holes 2, 3, 6 and 9: server-side sessions, login throttling, the password policy, cookie flags."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from servicehub.core.models import AuditEvent, User
from servicehub.core.runtime import Runtime
from servicehub.workbench.app import create_app
from tests.factories import PASSWORD, World, build_world
from tests.workbench.conftest import csrf_of, login

NEW_PASSWORD = "violet lantern over the harbour"


def _cookie(client: TestClient) -> str:
    value = client.cookies.get("hub_session")
    assert value
    return value


def _logged_in(app_client: TestClient) -> bool:
    return app_client.get("/").status_code == 200


def _stranger(runtime: Runtime, cookie: str) -> TestClient:
    """Another browser that was handed a copy of someone's cookie."""
    other = TestClient(create_app(runtime), follow_redirects=False)
    other.cookies.set("hub_session", cookie)
    return other


def _actions(runtime: Runtime, action: str) -> list[AuditEvent]:
    with runtime.sessions() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_copied_cookie_is_worthless_after_logout(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    login(client, "zhangwei")
    copied = _cookie(client)
    assert _logged_in(_stranger(sqlite_runtime, copied))
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    assert not _logged_in(client)
    assert not _logged_in(_stranger(sqlite_runtime, copied))


def test_reading_pages_does_not_reissue_the_cookie(client: TestClient, world: World) -> None:
    login(client, "zhangwei")
    for path in ("/", "/accounts", "/password"):
        assert "set-cookie" not in client.get(path).headers, path


def test_the_cookie_carries_only_a_random_token(client: TestClient, world: World) -> None:
    client.get("/login")
    anonymous = _cookie(client)
    login(client, "zhangwei")
    token = _cookie(client)
    assert token != anonymous  # a new token at login: no fixation
    assert len(token) == 43 and "." not in token  # nothing signed, nothing to decode


def test_log_out_everywhere_ends_every_session_of_the_user(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    login(client, "zhangwei")
    with TestClient(create_app(sqlite_runtime), follow_redirects=False) as phone:
        login(phone, "zhangwei")
        answer = client.post("/logout/everywhere", data={"csrf_token": csrf_of(client.get("/").text)})
        assert answer.headers["location"] == "/login"
        assert not _logged_in(phone) and not _logged_in(client)
    assert _actions(sqlite_runtime, "auth.logout_everywhere")


def test_deactivation_ends_the_users_sessions_at_once(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    login(client, "zhangwei")
    with TestClient(create_app(sqlite_runtime), follow_redirects=False) as admin:
        login(admin, "admin")
        token = csrf_of(admin.get("/admin/users").text)
        admin.post(f"/admin/users/{world.operator_id}", data={"display_name": "张伟", "csrf_token": token})
    assert not _logged_in(client)


def test_changing_ones_password_keeps_this_session_and_ends_the_others(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    login(client, "zhangwei")
    with TestClient(create_app(sqlite_runtime), follow_redirects=False) as laptop:
        login(laptop, "zhangwei")
        token = csrf_of(client.get("/password").text)
        form = {"current": PASSWORD, "new": NEW_PASSWORD, "repeated": NEW_PASSWORD, "csrf_token": token}
        changed = client.post("/password", data=form)
        assert changed.headers["location"] == "/password?notice=password_changed"
        assert _logged_in(client) and not _logged_in(laptop)
        login(laptop, "zhangwei", NEW_PASSWORD)
    assert _actions(sqlite_runtime, "user.password_changed")


@pytest.mark.parametrize(
    ("current", "new", "reason"),
    [
        ("wrong password", NEW_PASSWORD, "当前密码不正确"),
        (PASSWORD, "12345678", "密码太短：至少需要 10 个字符"),
        (PASSWORD, "password1234", "常见密码"),
        (PASSWORD, "          ", "密码太容易猜到"),
        (PASSWORD, "zhangwei2024", "包含了用户名"),
        (PASSWORD, "qwertyuiop", "常见密码"),
    ],
)
def test_a_weak_or_wrong_password_change_is_refused_in_words(
    client: TestClient, world: World, current: str, new: str, reason: str
) -> None:
    login(client, "zhangwei")
    token = csrf_of(client.get("/password").text)
    answer = client.post(
        "/password", data={"current": current, "new": new, "repeated": new, "csrf_token": token}
    )
    assert answer.status_code == 422
    assert reason in answer.text


def test_an_administrator_resets_a_password_and_the_users_sessions_end(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    login(client, "zhangwei")
    with TestClient(create_app(sqlite_runtime), follow_redirects=False) as admin:
        login(admin, "admin")
        token = csrf_of(admin.get("/admin/users").text)
        weak = admin.post(
            f"/admin/users/{world.operator_id}/password", data={"password": "password", "csrf_token": token}
        )
        assert weak.status_code == 422 and "密码太短" in weak.text
        assert _logged_in(client)
        done = admin.post(
            f"/admin/users/{world.operator_id}/password", data={"password": NEW_PASSWORD, "csrf_token": token}
        )
        assert done.status_code == 303
    assert not _logged_in(client)
    login(client, "zhangwei", NEW_PASSWORD)


def test_weak_passwords_are_refused_when_users_are_created(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    login(client, "admin")
    token = csrf_of(client.get("/admin/users").text)
    for weak in ("12345678", "password", " " * 8, "password1234", "1qaz2wsx3edc"):
        answer = client.post(
            "/admin/users",
            data={
                "username": "newbie",
                "password": weak,
                "org_id": str(world.inhouse_org_id),
                "csrf_token": token,
            },
        )
        assert answer.status_code == 422, weak
        assert "密码太" in answer.text
    with sqlite_runtime.sessions() as s:
        assert s.scalars(select(User).where(User.username == "newbie")).first() is None


# -- throttling --------------------------------------------------------------------------------


def _try(client: TestClient, username: str, password: str) -> int:
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    return answer.status_code


def test_wrong_passwords_lock_the_user_with_a_clear_message_until_an_admin_unlocks(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    # the fifth wrong password starts the lock, and its answer says so
    assert [_try(client, "zhangwei", "wrong password") for _ in range(5)] == [401] * 4 + [429]
    token = csrf_of(client.get("/login").text)
    locked = client.post("/login", data={"username": "zhangwei", "password": PASSWORD, "csrf_token": token})
    assert locked.status_code == 429
    assert "密码错误次数过多" in locked.text and "15 分钟后再试" in locked.text
    assert [e.object_id for e in _actions(sqlite_runtime, "auth.login_locked")] == ["zhangwei"]
    assert _actions(sqlite_runtime, "auth.login_throttled")
    with TestClient(create_app(sqlite_runtime), follow_redirects=False) as colleague:
        assert _try(colleague, "liuyang", PASSWORD) == 303  # other users are not affected

    with TestClient(create_app(sqlite_runtime), follow_redirects=False) as admin:
        login(admin, "admin")
        page = admin.get("/admin/users").text
        assert "登录已锁定（剩余 15 分钟）" in page
        done = admin.post(f"/admin/users/{world.operator_id}/unlock", data={"csrf_token": csrf_of(page)})
        assert done.status_code == 303
        assert "登录已锁定" not in admin.get("/admin/users").text
    assert _actions(sqlite_runtime, "auth.unlocked")
    assert _try(client, "zhangwei", PASSWORD) == 303


@pytest.fixture
def strict_client(sqlite_runtime_with: Callable[..., Runtime]) -> Iterator[TestClient]:
    runtime = sqlite_runtime_with(security={"login_failures_per_address": 4})
    build_world(runtime)
    with TestClient(create_app(runtime), follow_redirects=False) as c:
        yield c


def test_one_address_trying_many_names_is_locked(strict_client: TestClient) -> None:
    names = ["a1", "b2", "c3", "d4"]
    assert [_try(strict_client, name, "whatever pass") for name in names] == [401, 401, 401, 429]
    token = csrf_of(strict_client.get("/login").text)
    locked = strict_client.post(
        "/login", data={"username": "zhangwei", "password": PASSWORD, "csrf_token": token}
    )
    assert locked.status_code == 429 and "来自您所在网络的登录失败次数过多" in locked.text


# -- cookie flags and HSTS ------------------------------------------------------------------------


@pytest.mark.parametrize("public_url", ["https://hub.example.cn", "http://127.0.0.1:8000"])
def test_secure_cookies_and_hsts_exactly_when_the_public_url_is_https(
    sqlite_runtime_with: Callable[..., Runtime], public_url: str
) -> None:
    runtime = sqlite_runtime_with(web={"public_url": public_url})
    build_world(runtime)
    https = public_url.startswith("https")
    with TestClient(create_app(runtime), follow_redirects=False, base_url=public_url) as c:
        first = c.get("/login?lang=en")
        cookies = first.headers.get_list("set-cookie")
        assert {c.split("=")[0] for c in cookies} == {"hub_session", "hub_lang"}
        for cookie in cookies:
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
            assert ("Secure" in cookie) == https
        assert ("strict-transport-security" in first.headers) == https
        login(c, "zhangwei")
        assert ("strict-transport-security" in c.get("/").headers) == https
