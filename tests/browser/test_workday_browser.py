"""The operator's day in headless Chromium (1366×768, zh-CN) against a live hub: a request
arrives live and is answered with a snippet; a work order goes to another team and comes
back; a lead is logged and moves on; a note reaches a colleague; and a partner operator
gets, for everything outside her scope, the same answer as for something that does not exist.
Screenshots of the key pages are kept (tmp dir and tests/browser/artifacts/)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from servicehub.core.models import Message, Team, User
from servicehub.core.users import create_user
from servicehub.leads.actions import do_create_lead
from servicehub.workday.snippets import do_create_snippet
from servicehub.workorders.actions import do_open_work_order
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, principal_of
from tests.live import LiveHub

pytestmark = pytest.mark.browser

INHOUSE_UID, PARTNER_UID = "1902538057", "1902538058"


def _mention(hub: LiveHub, text: str, uid: str = INHOUSE_UID, name: str = "着急的用户") -> int:
    """Post a mention on the platform and wait until the hub has made it a request."""
    import time

    hub.sim_call("POST", "/_sim/mentions", account_uid=uid, text=text, screen_name=name)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with hub.runtime.sessions() as s:
            found = s.scalar(
                select(Message.request_id).where(Message.text.endswith(text), Message.request_id.is_not(None))
            )
        if found is not None:
            return int(found)
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never became a request")


def _billing_team(hub: LiveHub) -> int:
    with hub.runtime.sessions.begin() as s:
        hq = s.get(User, hub.world.operator_id)
        assert hq is not None
        team = Team(name="计费核查组", org_id=hub.world.inhouse_org_id)
        s.add(team)
        s.flush()
        chenjing = create_user(s, "chenjing", PASSWORD, org=hq.org, roles=["operator"], display_name="陈静")
        chenjing.teams.append(team)
        return team.id


def test_a_request_arrives_live_and_is_answered_with_a_snippet(
    running_hub: LiveHub, new_page: Callable[[], Any], shoot: Callable[[Any, str], Any]
) -> None:
    from playwright.sync_api import expect

    hub = running_hub
    with hub.runtime.sessions() as s:
        manager = principal_of(s, hub.world.manager_id)
        do_create_snippet(
            s,
            manager,
            title="话费查询",
            body="{客户名称}您好，{账号名称}已收到，您可发送 CXHF 到 10010 查询话费。",
            audience="all",
        )
        s.commit()
    page = new_page()
    log_in(page, hub, "zhangwei")
    page.goto(f"{hub.web_url}/queue")
    page.evaluate("window.stillHere = true")  # gone if the page reloads
    request_id = _mention(hub, "上个月话费多扣了50元，怎么回事？")
    row = page.locator(f'tr[data-id="{request_id}"]')
    expect(row).to_be_visible(timeout=20_000)
    expect(row).to_contain_text("话费多扣了50元")
    assert page.evaluate("window.stillHere") is True  # the row came in place, no reload
    expect(page.locator("[data-live-count]")).to_have_text("共 1 条")
    shoot(page, "queue-live")

    row.locator("td.subject a").click()
    page.wait_for_url(f"{hub.web_url}/requests/{request_id}")
    page.wait_for_load_state("load")
    page.keyboard.press("r")  # the reply shortcut
    expect(page.locator("#reply-text")).to_be_focused()
    page.get_by_text("插入快捷回复").click()
    page.locator("#snippet-search").fill("话费")
    page.locator("button.snippet", has_text="话费查询").click()
    reply = page.locator("#reply-text")
    expect(reply).to_have_value("着急的用户您好，中国联通客服已收到，您可发送 CXHF 到 10010 查询话费。")
    reply.press("End")
    reply.type("给您添麻烦了。")
    expect(page.locator(".counter")).to_contain_text("/ 140")
    shoot(page, "request-snippet")
    page.get_by_role("button", name="发送").click()
    expect(page.locator(".notice").first).to_have_text("回复已加入发送队列")
    expect(page.locator(".out.sent .text")).to_contain_text(
        "给您添麻烦了。", timeout=20_000
    )  # the page re-reads itself
    shoot(page, "request-sent")
    sent = hub.sim_call("GET", "/_sim/outbox?endpoint=comments/create")["items"]
    assert [i["text"] for i in sent] == [
        "着急的用户您好，中国联通客服已收到，您可发送 CXHF 到 10010 查询话费。给您添麻烦了。"
    ]


def test_an_over_long_snippet_is_flagged_before_sending(
    running_hub: LiveHub, page: Any, shoot: Callable[[Any, str], Any]
) -> None:
    from playwright.sync_api import expect

    hub = running_hub
    with hub.runtime.sessions() as s:
        manager = principal_of(s, hub.world.manager_id)
        do_create_snippet(s, manager, title="套餐说明", body="套餐详情" * 40, audience="all")
        s.commit()
    request_id = _mention(hub, "套餐有哪些？")
    log_in(page, hub, "zhangwei")
    page.goto(f"{hub.web_url}/requests/{request_id}")
    page.get_by_text("插入快捷回复").click()
    page.locator("button.snippet", has_text="套餐说明").click()
    expect(page.locator("#snippet-warning")).to_be_visible()
    expect(page.get_by_role("button", name="发送")).to_be_disabled()
    expect(page.locator(".counter")).to_have_class("counter over")
    shoot(page, "snippet-too-long")
    # The other shortcuts: N opens the next request, E twice marks one resolved.
    other = _mention(hub, "宽带能不能提速？")
    page.locator("#reply-text").fill("")
    page.locator("h1").click()  # out of the reply box: letters are shortcuts again
    page.keyboard.press("n")
    page.wait_for_url(f"{hub.web_url}/requests/{other}")
    page.wait_for_load_state("load")
    page.keyboard.press("e")
    expect(page.locator("#shortcut-confirm")).to_be_visible()
    page.keyboard.press("e")
    expect(page.locator("h1 .state")).to_have_text("已解决")


def test_a_work_order_goes_to_another_team_and_comes_back(
    running_hub: LiveHub, new_page: Callable[[], Any], shoot: Callable[[Any, str], Any]
) -> None:
    from playwright.sync_api import expect

    hub = running_hub
    team_id = _billing_team(hub)
    request_id = _mention(hub, "账单上有一笔 30 元的增值业务我没订过")
    zhangwei = new_page()
    log_in(zhangwei, hub, "zhangwei")
    zhangwei.goto(f"{hub.web_url}/requests/{request_id}")
    zhangwei.get_by_text("发起协同工单").click()
    zhangwei.locator("select[name=kind]").select_option("billing")
    zhangwei.locator("select[name=target]").select_option(f"team:{team_id}")
    zhangwei.locator("textarea[name=description]").fill("客户称未订购 30 元增值业务，请核查订购记录并退费。")
    shoot(zhangwei, "open-order")
    zhangwei.get_by_role("button", name="发出工单").click()
    expect(zhangwei.locator(".notice").first).to_have_text("协同工单已发出")
    expect(zhangwei.locator("#orders .wo-state")).to_have_text("待受理")
    order_link = zhangwei.locator("#orders a", has_text="工单 #")
    order_url = f"{hub.web_url}{order_link.get_attribute('href')}"
    zhangwei.goto(order_url)

    chenjing = new_page()
    log_in(chenjing, hub, "chenjing")
    expect(chenjing.locator("#notif-count")).to_have_text("1")
    expect(chenjing.get_by_text("张伟 发来一张协同工单")).to_be_visible()
    shoot(chenjing, "receiver-home")
    chenjing.goto(order_url)
    chenjing.get_by_role("button", name="受理").click()
    expect(chenjing.locator(".notice")).to_have_text("已受理工单")
    chenjing.locator("form.wo-step.progress textarea").fill("已调取订购记录，确认为误订。")
    chenjing.get_by_role("button", name="记录进展").click()
    chenjing.locator("form.wo-step.return textarea").fill("已退订并退费 30 元，3 个工作日内到账。")
    chenjing.get_by_role("button", name="回复结果").click()
    expect(chenjing.locator("h1 .wo-state")).to_have_text("已回复结果")
    shoot(chenjing, "receiver-returned")

    # The originator's open order page follows without a reload.
    expect(zhangwei.locator("h1 .wo-state")).to_have_text("已回复结果", timeout=15_000)
    expect(zhangwei.get_by_text("已退订并退费 30 元")).to_have_count(2)  # the result, and its step
    expect(zhangwei.locator("#notif-count")).to_have_text("2")  # accepted, returned
    zhangwei.get_by_role("link", name="去回复客户").click()
    zhangwei.locator("#reply-text").fill("您好，经核查为误订，已为您退订并退费 30 元，3 个工作日内到账。")
    zhangwei.get_by_role("button", name="发送").click()
    expect(zhangwei.locator(".notice").first).to_have_text("回复已加入发送队列")
    zhangwei.goto(order_url)
    zhangwei.get_by_role("button", name="关闭工单").click()
    expect(zhangwei.locator("h1 .wo-state")).to_have_text("已关闭")
    expect(zhangwei.locator(".timeline .event")).to_have_count(5)
    shoot(zhangwei, "order-closed")


def test_a_lead_is_logged_and_moves_on(
    running_hub: LiveHub, page: Any, shoot: Callable[[Any, str], Any]
) -> None:
    from playwright.sync_api import expect

    hub = running_hub
    request_id = _mention(hub, "想把现在的套餐升级成5G的，有什么推荐吗")
    log_in(page, hub, "zhangwei")
    page.goto(f"{hub.web_url}/requests/{request_id}")
    page.get_by_text("登记销售线索").click()
    page.locator("input[name=product]").fill("5G 套餐升级")
    page.locator("input[name=value]").fill("129")
    page.locator("#leads textarea[name=notes]").fill("客户流量不够用，晚上方便联系")
    page.get_by_role("button", name="登记", exact=True).click()
    expect(page.locator(".notice").first).to_have_text("销售线索已登记")
    page.locator("#leads a", has_text="5G 套餐升级").click()
    page.locator("select[name=stage]").select_option("intentional")
    page.locator("textarea[name=note]").fill("已发套餐介绍")
    page.get_by_role("button", name="更新阶段").click()
    expect(page.locator("h1 .lead-stage")).to_have_text("意向")
    expect(page.get_by_text("潜在 → 意向")).to_be_visible()
    shoot(page, "lead")
    page.goto(f"{hub.web_url}/leads?stage=intentional")
    expect(page.locator("table.leads tbody tr")).to_have_count(1)
    shoot(page, "leads")


def test_a_note_reaches_the_colleague_it_mentions_live(
    running_hub: LiveHub, new_page: Callable[[], Any], shoot: Callable[[Any, str], Any]
) -> None:
    from playwright.sync_api import expect

    hub = running_hub
    request_id = _mention(hub, "宽带又断了，第三次了")
    liuyang = new_page()
    log_in(liuyang, hub, "liuyang")
    expect(liuyang.locator("#notif-count")).to_be_hidden()
    zhangwei = new_page()
    log_in(zhangwei, hub, "zhangwei")
    zhangwei.goto(f"{hub.web_url}/requests/{request_id}")
    zhangwei.locator("#reply-text").fill("您好")  # replying: others see it
    zhangwei.locator("button.mention", has_text="@刘洋").click()
    zhangwei.locator("#note-text").type("这个客户第三次报修了，帮忙盯一下")
    zhangwei.get_by_role("button", name="添加备注").click()
    expect(zhangwei.locator(".note-list .note")).to_have_count(1)
    expect(liuyang.locator("#notif-count")).to_have_text("1", timeout=15_000)  # on her home page, no reload
    liuyang.locator("#notif-link").click()
    liuyang.get_by_role("link", name="张伟 在备注中提到了你").click()
    expect(liuyang.locator(".note.mentions-me")).to_contain_text("帮忙盯一下")
    zhangwei.goto(f"{hub.web_url}/requests/{request_id}")
    zhangwei.locator("#reply-text").fill("您好，正在为您安排")
    expect(liuyang.locator("#viewers")).to_contain_text("张伟 正在回复此请求", timeout=20_000)
    shoot(liuyang, "mentioned-and-viewers")


def test_a_partner_gets_the_same_answer_outside_her_scope_as_for_nothing(
    running_hub: LiveHub, new_page: Callable[[], Any], shoot: Callable[[Any, str], Any]
) -> None:
    from playwright.sync_api import expect

    hub = running_hub
    team_id = _billing_team(hub)
    mine = _mention(hub, "我的手机13812345678总是掉线")
    with hub.runtime.sessions() as s:
        zhangwei = principal_of(s, hub.world.operator_id)
        from datetime import timedelta

        from servicehub.core.db import utcnow

        order = do_open_work_order(
            s,
            hub.runtime,
            zhangwei,
            mine,
            kind="network",
            description="掉线",
            target=f"team:{team_id}",
            due_at=utcnow() + timedelta(hours=4),
        )
        lead = do_create_lead(s, hub.runtime, zhangwei, request_id=mine, product="5G 套餐升级")
        s.commit()
        order_id, lead_id = order.id, lead.id
    lina = new_page()
    log_in(lina, hub, "lina")
    lina.goto(f"{hub.web_url}/queue?view=all")
    lina.evaluate("window.stillHere = true")
    pairs = [
        (f"/requests/{mine}", "/requests/999999"),
        (f"/workorders/{order_id}", "/workorders/999999"),
        (f"/leads/{lead_id}", "/leads/999999"),
        (f"/api/requests/{mine}", "/api/requests/999999"),
    ]
    for hidden, missing in pairs:
        shown = lina.goto(f"{hub.web_url}{hidden}")
        assert shown is not None
        answer = (shown.status, shown.text())  # what the server sent, before any script ran
        if hidden.startswith("/requests/"):
            shoot(lina, "partner-hidden-request")
        absent = lina.goto(f"{hub.web_url}{missing}")
        assert absent is not None
        assert answer == (absent.status, absent.text()), hidden
        assert answer[0] == 404
    # A live event about an in-house request adds nothing to her queue.
    lina.goto(f"{hub.web_url}/queue?view=all")
    lina.evaluate("window.stillHere = true")
    other = _mention(hub, "营业厅几点开门")
    theirs = _mention(hub, "上海这边信号怎么这么差", uid=PARTNER_UID, name="上海用户")
    expect(lina.locator(f'tr[data-id="{theirs}"]')).to_be_visible(timeout=20_000)
    expect(lina.locator(f'tr[data-id="{other}"]')).to_have_count(0)
    expect(lina.locator("table.queue")).not_to_contain_text("营业厅几点开门")
    assert lina.evaluate("window.stillHere") is True
    shoot(lina, "partner-queue")
    rows = lina.request.get(f"{hub.web_url}/api/queue/rows?view=all&ids={other},999999").json()
    assert rows["rows"] == [] and rows["gone"] == [other, 999999]
