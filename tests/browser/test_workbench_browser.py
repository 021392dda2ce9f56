"""An operator's day in headless Chromium against the live workbench, listener and simulator."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.factories import PASSWORD
from tests.live import LiveHub

pytestmark = pytest.mark.browser


def test_operator_logs_in_sees_a_mention_arrive_and_replies(
    running_hub: LiveHub, page: object, tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    hub = running_hub
    page.goto(f"{hub.web_url}/queue")
    expect(page).to_have_url(f"{hub.web_url}/login")
    page.get_by_label("用户名").fill("zhangwei")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#whoami")).to_have_text("张伟")
    page.goto(f"{hub.web_url}/queue")

    hub.sim_call(
        "POST",
        "/_sim/mentions",
        account_uid="1902538057",
        text="<b>手机</b>没信号一整天了，怎么回事？",
        screen_name="着急的用户",
    )
    hub.sim_call(
        "POST", "/_sim/mentions", account_uid="1902538057", text="营业厅几点关门？", screen_name="路过"
    )
    # The page is told over SSE and adds the rows in place; a person just waits.
    row = page.locator("td.subject a", has_text="没信号一整天了")
    expect(row).to_be_visible(timeout=20_000)
    expect(row).to_contain_text("<b>手机</b>")  # customer HTML shown as text, not rendered
    row.click()

    reply = "您好，已为您查询，所在基站正在抢修，预计今晚恢复。"
    page.get_by_label("回复").fill(reply)
    expect(page.locator(".counter")).to_contain_text("/ 140")
    page.get_by_role("button", name="发送").click()
    expect(page.locator(".notice")).to_have_text("回复已加入发送队列")
    page.wait_for_timeout(1500)
    page.reload()
    expect(page.locator(".out.sent .text")).to_have_text(reply)
    page.screenshot(path=str(tmp_path / "request.png"), full_page=True)

    items = hub.sim_call("GET", "/_sim/outbox?endpoint=comments/create")["items"]
    assert [i["text"] for i in items] == [reply]


def test_english_interface_and_logout(running_hub: LiveHub, page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(f"{running_hub.web_url}/login?lang=en")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Requests")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{running_hub.web_url}/login")


def test_a_customers_photo_and_a_paused_source_as_people_see_them(
    running_hub: LiveHub, page: object, tmp_path: Path
) -> None:
    """Issue 11: a WeChat photo shows on the request page; the accounts page says what waits."""
    from playwright.sync_api import Page, expect

    from tests.live import add_live_wechat_account

    assert isinstance(page, Page)
    hub = running_hub
    page.set_viewport_size({"width": 1366, "height": 768})
    add_live_wechat_account(hub, "wxbrowser01")
    hub.sim_call(
        "POST",
        "/_sim/wechat/accounts/wxbrowser01/push",
        openid="o_browser_fan",
        type="text",
        content="账单不对",
    )
    hub.sim_call("POST", "/_sim/wechat/accounts/wxbrowser01/push", openid="o_browser_fan", type="image")
    hub.sim_call(
        "POST",
        "/_sim/faults",
        errors=[
            {"path": "/2/comments/to_me.json", "code": 10024},
            {"path": "/2/direct_messages.json", "code": 10014},
        ],
    )
    page.goto(f"{hub.web_url}/login")
    page.get_by_label("用户名").fill("zhangwei")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    row = page.locator("td.subject a", has_text="账单不对")
    expect(row).to_be_visible(timeout=20_000)
    row.click()
    photo = page.locator("img.attachment")
    expect(photo).to_be_visible()
    expect(photo).to_have_js_property("complete", True)
    assert photo.evaluate("img => img.naturalWidth") > 0  # the picture really loaded
    page.screenshot(path=str(tmp_path / "request-with-photo.png"), full_page=True)
    page.get_by_role("button", name="退出").click()
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    for _ in range(40):  # the pollers meet the faults within seconds; the page shows what they found
        page.goto(f"{hub.web_url}/accounts")
        if page.locator(".source-off").count() and page.locator(".source-paused").count():
            break
        page.wait_for_timeout(500)
    expect(page.locator(".source-off").first).to_contain_text("应用未获得该接口权限")
    expect(page.locator(".source-paused").first).to_contain_text("平台限流")
    page.screenshot(path=str(tmp_path / "accounts-paused.png"), full_page=True)
    shots = Path(os.environ.get("HUB_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    for name in ("request-with-photo.png", "accounts-paused.png"):
        (shots / name).write_bytes((tmp_path / name).read_bytes())
