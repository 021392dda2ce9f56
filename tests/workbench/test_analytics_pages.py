"""Analytics pages over a small data set: every dashboard renders its charts and tables, a
figure links to its rows, exports are CSV with masked texts, and scope holds."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from servicehub.analytics.rollup import run
from servicehub.core.models import Grant, Role, Scope, User
from servicehub.core.runtime import Runtime
from servicehub.core.users import create_user
from tests.analytics.support import add_customer, add_message, add_request
from tests.factories import PASSWORD, World
from tests.workbench.conftest import login

DASHBOARDS = ("fans", "graph", "trends", "publishing", "service")


@pytest.fixture
def seeded(sqlite_runtime: Runtime, world: World) -> World:
    now = datetime.now(UTC)
    a, p = world.inhouse_account_id, world.partner_account_id
    with sqlite_runtime.sessions.begin() as s:
        partner_org = s.get(User, world.partner_id).org  # type: ignore[union-attr]
        create_user(s, "psup", PASSWORD, org=partner_org, roles=["partner_supervisor"], display_name="孙主管")
        role = Role(name="analyst", label="分析员")
        role.grants = [
            Grant(function="analytics.view", scope=Scope.ALL),
            Grant(function="export", scope=Scope.ALL),
        ]
        s.add(role)
        s.flush()
        analyst = create_user(s, "analyst", PASSWORD, org=partner_org, roles=[], display_name="分析员")
        analyst.roles = [role]
        ming = add_customer(s, "小明", "1001", followers=50)
        qiang = add_customer(s, "阿强", "1004", followers=10)
        for hours in (1, 5, 30):
            at = now - timedelta(hours=hours)
            request = add_request(
                s, a, ming, at, responded=at + timedelta(minutes=20), assignee_id=world.operator_id
            )
            add_message(
                s,
                a,
                at,
                text="宽带断网，请回电 13812345678",
                customer=ming,
                sentiment="negative",
                request=request,
            )
        add_message(s, p, now - timedelta(hours=2), text="上海信号很差", customer=qiang, sentiment="negative")
    run(sqlite_runtime)
    return world


def charts_of(html: str) -> dict[str, dict[str, object]]:
    blocks = re.findall(r'<script type="application/json" id="spec-([\w-]+)">(.*?)</script>', html, re.S)
    return {key: json.loads(body) for key, body in blocks}


def test_every_dashboard_renders_for_a_manager(client: TestClient, seeded: World) -> None:
    login(client, "manager")
    for name in DASHBOARDS:
        page = client.get(f"/analytics/{name}")
        assert page.status_code == 200, name
        assert "/static/vendor/echarts/echarts.min.js" in page.text
        assert charts_of(page.text), name
        assert "analytics." not in re.sub(r"<script.*?</script>", "", page.text, flags=re.S), name
    trends = charts_of(client.get("/analytics/trends").text)
    mentions = trends["trends-interactions"]["series"][3]  # type: ignore[index]
    assert mentions["name"] == "@提及" and sum(v or 0 for v in mentions["data"]) == 4


def test_a_figure_links_to_its_rows_with_masked_texts(client: TestClient, seeded: World) -> None:
    login(client, "lina")  # a partner operator without analytics beyond its own accounts
    assert client.get("/analytics/trends").status_code == 200
    client.cookies.clear()
    login(client, "psup")
    spec = charts_of(client.get("/analytics/trends").text)["trends-interactions"]
    series: list[dict[str, Any]] = spec["series"]  # type: ignore[assignment]
    links: list[list[str]] = spec["links"]  # type: ignore[assignment]
    points = [links[i][j] for i, one in enumerate(series) for j, value in enumerate(one["data"]) if value]
    assert len(points) == 1  # the partner account's one mention
    rows = client.get(points[0])
    assert rows.status_code == 200
    assert "上海信号很差" in rows.text and "宽带断网" not in rows.text


def test_export_is_csv_and_masks_phones_for_who_may_not_see_them(client: TestClient, seeded: World) -> None:
    login(client, "analyst")
    csv = client.get("/analytics/export?what=rows&dataset=messages&period=7d")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "138****5678" in csv.text and "13812345678" not in csv.text
    board = client.get("/analytics/export?what=service&period=7d")
    assert board.status_code == 200 and "新收请求" in board.text
    client.cookies.clear()
    login(client, "manager")
    assert "13812345678" in client.get("/analytics/export?what=rows&dataset=messages&period=7d").text
    client.cookies.clear()
    login(client, "psup")
    assert client.get("/analytics/export?what=rows&dataset=messages").status_code == 403


def test_the_home_page_shows_todays_spike_to_whoever_serves_the_account(
    client: TestClient, sqlite_runtime: Runtime, world: World
) -> None:
    """A broadband outage is seen on arrival, by the people whose accounts it hits."""
    from servicehub.analytics.clock import Calendar

    cal = Calendar.named(sqlite_runtime.settings.analytics.timezone)
    today = cal.day_of(datetime.now(UTC))
    with sqlite_runtime.sessions.begin() as s:
        fan = add_customer(s, "小明", "1001")
        for back in range(1, 8):  # a usual week: one complaint a day
            at = cal.start_of(today - timedelta(days=back)) + timedelta(hours=9)
            add_message(s, world.inhouse_account_id, at, text="信号不好", customer=fan, sentiment="negative")
        for minute in range(12):
            at = cal.start_of(today) + timedelta(minutes=minute)
            add_message(
                s, world.inhouse_account_id, at, text="宽带断网了", customer=fan, sentiment="negative"
            )
    run(sqlite_runtime)
    login(client, "manager")
    home = client.get("/").text
    assert 'class="alerts"' in home and "宽带" in home
    client.post("/logout", data={"csrf_token": re.search(r'data-csrf="([^"]+)"', home).group(1)})  # type: ignore[union-attr]
    login(client, "lina")  # a partner operator: the in-house account is not hers
    assert 'class="alerts"' not in client.get("/").text
