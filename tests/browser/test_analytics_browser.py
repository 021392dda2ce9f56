"""The analytics dashboards in headless Chromium, as a manager and as a partner supervisor.

Each chart must have drawn data (its ECharts instance holds series data, and its canvas
has coloured pixels), a click on a bar must open the rows behind it, and the alert on the
overview must lead to its messages. Screenshots are kept in the test's tmp dir and in
``tests/browser/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from servicehub.core.models import User
from servicehub.core.tasks import InProcessRunner
from servicehub.core.users import create_user
from servicehub.demo_history import seed_history
from tests.factories import PASSWORD
from tests.live import LiveHub, live_hub

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
DASHBOARDS = ("fans", "graph", "trends", "publishing", "service")

DRAWN = """() => Array.from(document.querySelectorAll('.chart')).map(el => {
  const chart = window.echarts && window.echarts.getInstanceByDom(el);
  if (!chart) { return {id: el.id, points: 0, inked: 0}; }
  const filled = v => v !== null && v !== 0 && (typeof v !== 'object' || v.value !== 0);
  const points = chart.getOption().series
    .map(s => (s.data || []).filter(filled).length)
    .reduce((a, b) => a + b, 0);
  const canvas = el.querySelector('canvas');
  const ctx = canvas.getContext('2d');
  const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 0; i < pixels.length; i += 16) {
    const [r, g, b, a] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]];
    if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 40) { inked++; }
  }
  return {id: el.id, points, inked};
})"""


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[LiveHub]:
    runner = InProcessRunner(workers=2)
    with live_hub(tmp_path, runner) as running:
        with running.runtime.sessions.begin() as s:
            partner = s.get(User, running.world.partner_id)
            assert partner is not None
            create_user(
                s, "psup", PASSWORD, org=partner.org, roles=["partner_supervisor"], display_name="孙主管"
            )
        assert seed_history(running.runtime, months=2) > 0
        yield running


@pytest.fixture
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing; ./hub test installs the Debian chromium package"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        yield launched
        launched.close()


def keep(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(path, ARTIFACTS / path.name)


def logged_in(browser: Any, hub: LiveHub, username: str) -> Any:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.errors = errors
    page.goto(f"{hub.web_url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="统计分析").click()
    return page


@pytest.mark.parametrize("username", ["manager", "psup"])
def test_every_dashboard_draws_its_charts(browser: Any, hub: LiveHub, username: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = logged_in(browser, hub, username)
    expect(page.locator("h1")).to_have_text("统计分析")
    keep(page, tmp_path, f"{username}-overview")
    for name in DASHBOARDS:
        page.goto(f"{hub.web_url}/analytics/{name}?period=30d")
        page.wait_for_function("() => document.querySelectorAll('.chart canvas').length > 0")
        page.wait_for_timeout(600)
        charts = page.evaluate(DRAWN)
        assert charts, name
        blank = [c["id"] for c in charts if c["points"] == 0 or c["inked"] < 50]
        assert blank == [], f"{username} {name}: empty charts {blank}"
        assert "analytics." not in page.locator("main").inner_text()
        keep(page, tmp_path, f"{username}-{name}")
    assert page.errors == []
    if username == "psup":
        page.goto(f"{hub.web_url}/analytics/rows?dataset=messages&period=30d")
        assert "中国联通客服" not in page.locator("table.drill").inner_text()


def test_a_click_on_a_bar_opens_its_rows_and_the_alert_its_messages(
    browser: Any, hub: LiveHub, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = logged_in(browser, hub, "manager")
    alert = page.locator(".alert-negative a").first
    expect(alert).to_be_visible()
    alert.click()
    expect(page.locator("h1")).to_have_text("明细")
    expect(page.locator("table.drill tbody tr").first).to_contain_text("负面")
    keep(page, tmp_path, "manager-alert-rows")

    page.goto(f"{hub.web_url}/analytics/trends?period=7d")
    page.wait_for_function("() => document.querySelectorAll('#chart-trends-interactions canvas').length > 0")
    point = page.evaluate(
        """() => {
          const el = document.getElementById('chart-trends-interactions');
          const chart = window.echarts.getInstanceByDom(el);
          const data = chart.getOption().series[0].data;
          const i = data.findIndex(v => v > 0);
          const [x, y] = chart.convertToPixel({seriesIndex: 0}, [i, data[i] / 2]);
          const box = el.getBoundingClientRect();
          return {x: box.left + x, y: box.top + y, count: data[i]};
        }"""
    )
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url("**/analytics/rows?**")
    rows = page.locator("table.drill tbody tr")
    expect(rows.first).to_contain_text("评论")
    assert rows.count() == min(point["count"], 50)
    keep(page, tmp_path, "manager-drilldown")
