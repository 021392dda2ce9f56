"""Browser fixtures: a live hub (workbench, listener, sender, simulator) and headless Chromium
at 1366×768 in Chinese; ``shoot`` keeps a screenshot as a test artifact."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from servicehub.core.scheduler import Scheduler
from servicehub.core.tasks import InProcessRunner
from tests.factories import PASSWORD
from tests.live import LiveHub, live_hub

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture
def running_hub(tmp_path: Path) -> Iterator[LiveHub]:
    runner = InProcessRunner(workers=2)
    with live_hub(tmp_path, runner) as hub:
        scheduler = Scheduler(runner, {"listener.poll_due": 0.5, "publishing.send_due": 1.0})
        scheduler.start()
        try:
            yield hub
        finally:
            scheduler.stop()


@pytest.fixture
def browser(running_hub: LiveHub) -> Iterator[Any]:
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


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[[], Any]]:
    """Pages in separate browser contexts (one person each), closed at the end."""
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(
            locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1366, "height": 768}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Any]) -> Any:
    return new_page()


def log_in(page: Any, hub: LiveHub, username: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{hub.web_url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#whoami")).to_be_visible()


@pytest.fixture
def shoot(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """Screenshot ``page`` as ``<test>-<name>.png`` in the test's tmp dir and in artifacts/."""

    def take(page: Any, name: str) -> Path:
        path = tmp_path / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(path, ARTIFACTS / path.name)
        return path

    return take
