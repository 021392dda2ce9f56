"""Login lockout, unlock, password change and "log out everywhere", walked in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import PASSWORD
from tests.live import LiveHub

pytestmark = pytest.mark.browser
NEW = "海边的灯塔照亮夜航船2026"


def test_locked_out_unlocked_then_a_new_password_and_out_everywhere(
    running_hub: LiveHub,
    page: object,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    base = running_hub.web_url

    def log_in(username: str, password: str) -> None:
        page.goto(f"{base}/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()

    for _ in range(5):
        log_in("zhangwei", "not the password")
    expect(page.get_by_role("alert")).to_contain_text("请 15 分钟后再试")
    page.screenshot(path=str(tmp_path / "locked.png"))

    log_in("admin", PASSWORD)
    page.goto(f"{base}/admin/users")
    page.get_by_role("button", name="解除登录锁定").click()
    expect(page.get_by_role("status").first).to_have_text("已解除登录锁定。")
    page.get_by_role("button", name="退出", exact=True).click()

    log_in("zhangwei", PASSWORD)
    expect(page.locator("#whoami")).to_have_text("张伟")
    page.get_by_role("link", name="账号安全").click()
    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label("新密码", exact=True).fill("password1234")
    page.get_by_label("再次输入新密码").fill("password1234")
    page.get_by_role("button", name="修改密码").click()
    expect(page.get_by_role("alert")).to_contain_text("常见密码")
    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label("新密码", exact=True).fill(NEW)
    page.get_by_label("再次输入新密码").fill(NEW)
    page.get_by_role("button", name="修改密码").click()
    expect(page.get_by_role("status")).to_contain_text("密码已修改")
    page.screenshot(path=str(tmp_path / "password.png"), full_page=True)

    page.get_by_role("button", name="退出所有设备").click()
    expect(page).to_have_url(f"{base}/login")
    page.goto(f"{base}/")
    expect(page).to_have_url(f"{base}/login")
    log_in("zhangwei", NEW)
    expect(page.locator("#whoami")).to_have_text("张伟")
