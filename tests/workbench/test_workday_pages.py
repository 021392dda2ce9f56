"""The operator's day through the workbench: home, live rows, the request page's panels, notes and
mentions, viewers, work orders, leads and their CSV, announcements and snippets -- in words."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient

from servicehub.core.models import Grant, Role, ServiceRequest, User, WorkOrder, WorkOrderState
from servicehub.core.runtime import Runtime
from servicehub.workbench.app import create_app
from tests.workbench.conftest import csrf_of, login
from tests.workday_support import Desk, build_desk

CHINA = timezone(timedelta(hours=8))
TEMPLATES = Path(__file__).parents[2] / "servicehub" / "workbench" / "templates"


def _client(runtime: Runtime, username: str) -> TestClient:
    client = TestClient(create_app(runtime), follow_redirects=False)
    login(client, username)
    return client


def _assign(desk: Desk, request_id: int, user_id: int) -> None:
    with desk.runtime.sessions.begin() as s:
        request = s.get(ServiceRequest, request_id)
        assert request is not None
        request.assignee_id = user_id


def test_home_shows_my_day_and_old_queue_links_still_work(sqlite_runtime: Runtime) -> None:
    desk = build_desk(sqlite_runtime)
    _assign(desk, desk.mine, desk.world.operator_id)
    client = _client(sqlite_runtime, "zhangwei")
    old = client.get("/?view=all&after=1:0")
    assert old.status_code == 303 and old.headers["location"] == "/queue?view=all&after=1%3A0"
    home = client.get("/").text
    assert "我的待处理请求" in home and f'data-id="{desk.mine}"' in home
    assert "中国联通客服（新浪微博）" in home and "正常" in home  # the account I serve and its health
    assert 'data-live-rows="mine"' in home and "团队概览" not in home  # no supervisor board
    manager = _client(sqlite_runtime, "manager").get("/").text
    assert "团队概览" in manager and "人员负载" in manager and "李娜" in manager


def test_live_rows_come_rendered_and_scoped(sqlite_runtime: Runtime) -> None:
    desk = build_desk(sqlite_runtime)
    client = _client(sqlite_runtime, "zhangwei")
    data = client.get(f"/api/queue/rows?view=all&ids={desk.mine},{desk.theirs},abc,999999").json()
    assert [r["id"] for r in data["rows"]] == [desk.mine]
    assert data["gone"] == [desk.theirs, 999999]  # out of scope and missing: one answer
    assert f'data-id="{desk.mine}"' in data["rows"][0]["html"] and "话费多扣" in data["rows"][0]["html"]
    assert data["total_text"] == "共 1 条"
    assert "13812345678" in data["rows"][0]["html"]  # in-house operators see phones on their account
    partner = _client(sqlite_runtime, "lina").get(f"/api/queue/rows?view=all&ids={desk.mine}").json()
    assert partner["rows"] == [] and partner["gone"] == [desk.mine]


def test_the_request_page_gathers_the_customer_notes_snippets_orders_and_leads(
    sqlite_runtime: Runtime,
) -> None:
    desk = build_desk(sqlite_runtime)
    manager = _client(sqlite_runtime, "manager")
    token = csrf_of(manager.get("/snippets").text)
    made = manager.post(
        "/snippets",
        data={
            "csrf_token": token,
            "title": "话费核查",
            "body": "{客户名称}您好，{账号名称}已为您提交核查。",
            "audience": "all",
        },
    )
    assert made.status_code == 303
    page = _client(sqlite_runtime, "zhangwei").get(f"/requests/{desk.mine}").text
    assert 'data-text="小明您好，中国联通客服已为您提交核查。"' in page  # placeholders filled
    assert "客户信息" in page and "普通客户" in page and "共 1 次服务请求，1 次未关闭" in page
    assert "内部备注" in page and "@刘洋" in page  # mentionable colleagues
    assert "发起协同工单" in page and "计费核查组（总部客服中心）" in page
    assert "登记销售线索" in page and "快捷键：N 下一个请求" in page
    assert 'data-counting="weibo"' in page and 'data-limit="140"' in page
    assert '{% include "request/_contact.html" ignore missing %}' in (TEMPLATES / "request.html").read_text()


def test_a_mention_reaches_the_colleague_s_badge(sqlite_runtime: Runtime) -> None:
    desk = build_desk(sqlite_runtime)
    zhangwei = _client(sqlite_runtime, "zhangwei")
    token = csrf_of(zhangwei.get(f"/requests/{desk.mine}").text)
    sent = zhangwei.post(
        f"/requests/{desk.mine}/notes", data={"csrf_token": token, "note": "@刘洋 帮忙看下这个账单"}
    )
    assert sent.status_code == 303 and "notice=note_added" in sent.headers["location"]
    liuyang = _client(sqlite_runtime, "liuyang")
    badge = liuyang.get("/api/notifications").json()
    assert badge["unread"] == 1 and badge["latest"][0]["text"] == "张伟 在备注中提到了你"
    assert badge["latest"][0]["href"].startswith(f"/requests/{desk.mine}#note-")
    page = liuyang.get(f"/requests/{desk.mine}").text
    assert "帮忙看下这个账单" in page and "提到了你" in page
    token = csrf_of(page)
    liuyang.post("/notifications/read", data={"csrf_token": token})
    assert liuyang.get("/api/notifications").json()["unread"] == 0


def test_viewers_see_each_other_through_the_heartbeat(sqlite_runtime: Runtime) -> None:
    desk = build_desk(sqlite_runtime)
    zhangwei, liuyang = _client(sqlite_runtime, "zhangwei"), _client(sqlite_runtime, "liuyang")
    z_token = csrf_of(zhangwei.get(f"/requests/{desk.mine}").text)
    l_token = csrf_of(liuyang.get(f"/requests/{desk.mine}").text)
    url = f"/api/requests/{desk.mine}/viewing"
    assert zhangwei.post(url, json={"mode": "replying"}, headers={"X-CSRF-Token": z_token}).json() == {
        "others": []
    }
    others = liuyang.post(url, json={"mode": "viewing"}, headers={"X-CSRF-Token": l_token}).json()["others"]
    assert others == [{"name": "张伟", "mode": "replying", "text": "张伟 正在回复此请求"}]
    assert "张伟 正在回复此请求" in liuyang.get(f"/requests/{desk.mine}").text  # shown on load too
    assert liuyang.post(url, json={"mode": "viewing"}).status_code == 403  # no CSRF token


def _due(hours: int = 24) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).astimezone(CHINA).strftime("%Y-%m-%dT%H:%M")


def test_a_work_order_goes_round_through_the_pages(sqlite_runtime: Runtime) -> None:
    desk = build_desk(sqlite_runtime)
    zhangwei = _client(sqlite_runtime, "zhangwei")
    token = csrf_of(zhangwei.get(f"/requests/{desk.mine}").text)
    form = {
        "csrf_token": token,
        "kind": "billing",
        "target": f"team:{desk.billing_team}",
        "due_at": _due(),
        "description": "客户称上月多扣 50 元",
    }
    bad = zhangwei.post(f"/requests/{desk.mine}/workorders", data={**form, "due_at": _due(-1)})
    assert bad.status_code == 422 and "截止时间应在现在之后的 90 天以内" in bad.text
    opened = zhangwei.post(f"/requests/{desk.mine}/workorders", data=form)
    assert opened.status_code == 303
    with sqlite_runtime.sessions() as s:
        order = s.scalars(select(WorkOrder)).one()
        order_id = order.id
        assert abs((order.due_at - datetime.now(UTC)) - timedelta(hours=24)) < timedelta(
            minutes=2
        )  # China time read right
    chenjing = _client(sqlite_runtime, "chenjing")
    assert "发来一张协同工单" in chenjing.get("/").text
    page = chenjing.get(f"/workorders/{order_id}").text
    assert "待受理" in page and "受理" in page and "退回" in page
    token = csrf_of(page)
    early = chenjing.post(f"/workorders/{order_id}/return", data={"csrf_token": token, "note": "结果"})
    assert early.status_code == 422 and "工单当前“待受理”，不能回复结果" in early.text
    assert chenjing.post(f"/workorders/{order_id}/accept", data={"csrf_token": token}).status_code == 303
    assert (
        chenjing.post(
            f"/workorders/{order_id}/return", data={"csrf_token": token, "note": "已退 50 元"}
        ).status_code
        == 303
    )
    back = zhangwei.get(f"/workorders/{order_id}").text
    assert "已回复结果" in back and "已退 50 元" in back and "请回复客户，然后关闭工单" in back
    closing = zhangwei.post(f"/workorders/{order_id}/close", data={"csrf_token": csrf_of(back)})
    assert closing.status_code == 303
    with sqlite_runtime.sessions() as s:
        closed = s.get(WorkOrder, order_id)
        assert closed is not None and closed.state == WorkOrderState.CLOSED
    audit = _client(sqlite_runtime, "manager").get("/audit").text.split("<tbody>")[-1]
    for words in ("发起协同工单", "受理工单", "回复工单结果", "关闭工单", "计费核查", "已回复结果"):
        assert words in audit
    assert "workorder." not in audit and "returned" not in audit  # no raw codes


def test_a_partner_receiver_reads_the_conversation_on_the_order_only(sqlite_runtime: Runtime) -> None:
    desk = build_desk(sqlite_runtime)
    zhangwei = _client(sqlite_runtime, "zhangwei")
    token = csrf_of(zhangwei.get(f"/requests/{desk.mine}").text)
    zhangwei.post(
        f"/requests/{desk.mine}/workorders",
        data={
            "csrf_token": token,
            "kind": "broadband",
            "target": f"org:{desk.world.partner_org_id}",
            "due_at": _due(),
            "description": "上门核查",
        },
    )
    with sqlite_runtime.sessions() as s:
        order_id = s.scalars(select(WorkOrder.id)).one()
    lina = _client(sqlite_runtime, "lina")
    page = lina.get(f"/workorders/{order_id}").text
    assert "客户对话（只读）" in page and "138****5678" in page and "13812345678" not in page
    assert f'href="/requests/{desk.mine}"' not in page and 'action="/requests/' not in page
    assert lina.get(f"/requests/{desk.mine}").status_code == 404
    assert lina.get(f"/api/requests/{desk.mine}").status_code == 404


def test_leads_list_filters_and_exports_masked_csv(sqlite_runtime: Runtime) -> None:
    desk = build_desk(sqlite_runtime)
    zhangwei = _client(sqlite_runtime, "zhangwei")
    token = csrf_of(zhangwei.get(f"/requests/{desk.mine}").text)
    made = zhangwei.post(
        f"/requests/{desk.mine}/leads",
        data={"csrf_token": token, "product": "5G 套餐升级", "value": "199", "notes": "回访电话 13812345678"},
    )
    assert made.status_code == 303
    lead_id = int(re.search(r"#lead-(\d+)", made.headers["location"]).group(1))  # type: ignore[union-attr]
    moved = zhangwei.post(f"/leads/{lead_id}/stage", data={"csrf_token": token, "stage": "intentional"})
    assert moved.status_code == 303
    page = zhangwei.get(f"/leads/{lead_id}").text
    assert "潜在 → 意向" in page and "成交" in page  # history, and the next stage choices
    listed = zhangwei.get("/leads?stage=intentional").text
    assert "5G 套餐升级" in listed and "共 1 条 · 预计 199 元" in listed
    assert "导出 CSV" not in listed  # operators may not export
    assert "5G 套餐升级" not in zhangwei.get("/leads?stage=won").text
    with sqlite_runtime.sessions.begin() as s:  # a company analyst: leads and export, no phones
        role = Role(name="analyst", label="分析员")
        role.grants.extend(
            [Grant(function=f, scope="all", states=[]) for f in ("request.view", "lead.manage", "export")]
        )
        s.add(role)
        user = s.scalars(select(User).where(User.username == "zhaolei")).one()
        user.roles = [role]
    csv = _client(sqlite_runtime, "zhaolei").get("/leads/export.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    text = csv.content.decode("utf-8")
    assert text.startswith("\ufeff编号,登记时间,客户,手机号")
    assert "138****5678" in text and "13812345678" not in text and ",意向," in text
    assert "13812345678" in _client(sqlite_runtime, "manager").get("/leads/export.csv").text


def test_announcements_from_a_partner_supervisor_reach_its_company(sqlite_runtime: Runtime) -> None:
    build_desk(sqlite_runtime)
    psup = _client(sqlite_runtime, "psup")
    page = psup.get("/announcements").text
    assert "华信外包（全公司）" in page and "全体人员" not in page  # only its own company to choose
    token = csrf_of(page)
    org = re.search(r'<option value="(org:\d+)">华信外包', page).group(1)  # type: ignore[union-attr]
    posted = psup.post(
        "/announcements", data={"csrf_token": token, "title": "周五例会", "body": "14:00", "audience": org}
    )
    assert posted.status_code == 303
    lina = _client(sqlite_runtime, "lina")
    home = lina.get("/").text
    assert "周五例会" in home and 'class="unread"' in home
    token = csrf_of(home)
    ann_id = re.search(r'action="/announcements/(\d+)/read"', home).group(1)  # type: ignore[union-attr]
    lina.post(f"/announcements/{ann_id}/read", data={"csrf_token": token, "back": "/"})
    assert 'action="/announcements/' + ann_id + '/read"' not in lina.get("/").text
    assert "周五例会" not in _client(sqlite_runtime, "zhangwei").get("/").text


def test_the_english_interface_has_the_new_pages(sqlite_runtime: Runtime) -> None:
    desk = build_desk(sqlite_runtime)
    client = _client(sqlite_runtime, "zhangwei")
    home = client.get("/?lang=en").text
    assert "My open requests" in home and "Work orders" in home and "Sales leads" in home
    page = client.get(f"/requests/{desk.mine}").text
    assert "Internal notes" in page and "Open a work order" in page and "内部备注" not in page


def test_the_next_shortcut_finds_the_next_request_when_pressed(sqlite_runtime: Runtime) -> None:
    from tests.workbench.conftest import hear

    desk = build_desk(sqlite_runtime)
    client = _client(sqlite_runtime, "zhangwei")
    assert 'data-next="/requests/' in client.get(f"/requests/{desk.mine}").text
    assert client.get(f"/requests/{desk.mine}/next").headers["location"] == "/queue"  # nothing else yet
    later = hear(sqlite_runtime, desk.world.inhouse_account_id, "4900000000000177", "营业厅几点开门")
    assert client.get(f"/requests/{desk.mine}/next").headers["location"] == f"/requests/{later}"
    hidden, missing = client.get(f"/requests/{desk.theirs}/next"), client.get("/requests/999999/next")
    assert hidden.status_code == missing.status_code == 404
