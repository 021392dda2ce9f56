"""发布中心 in headless Chromium (1366×768, zh-CN) against the live workbench and the platform
simulator: an in-house operator posts one text to two Weibo accounts, watching the counter
and the live warnings; the monitor page then follows the posts -- their counts and the
customers' comments arrive without a reload. A partner operator's post waits for approval
and goes out when the manager approves it. Screenshots go to the test's tmp dir and
tests/browser/artifacts/."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from servicehub.accounts.registration import register_account, store_token
from servicehub.accounts.sources import ensure_cursors
from servicehub.adapters.weibo.text import weibo_length
from servicehub.core.db import utcnow
from servicehub.core.models import DeliveryState, Organization, OutboundMessage, PollCursor
from servicehub.core.scheduler import Scheduler
from servicehub.core.tasks import InProcessRunner
from servicehub.listener.poller import poll_cursor
from servicehub.publishing.tracking import track_due
from tests.browser.support import chromium
from tests.factories import PASSWORD
from tests.live import LiveHub, live_hub

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).parent / "artifacts"
UID, PARTNER_UID, SECOND_UID = "1902538057", "1902538058", "1902538059"
LINK = "https://www.10010.com/5g"
# Texts the browser and weibo_length must count alike (URLs end at a space or non-ASCII).
SAMPLES = [
    "",
    "abc",
    "中文",
    "看这里http://t.cn/abc好的",
    "a😀b 👍🏽",
    f"宽带提速 {LINK}!（详情）",
    "http://x.com http://y.com/p?q=1&r=2#frag 完",
    "ÿĀ é",
    "tab\tnew\nline",
    "HTTP://UPPER.COM/x https:/broken",
    "[微笑]@中国联通客服 //@小明:转发",
]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[LiveHub, int]]:
    """The live hub with Weibo's safe domain set, and a second in-house Weibo account."""
    runner = InProcessRunner(workers=2)
    with live_hub(tmp_path, runner, weibo={"share_domains": "10010.com"}) as live:
        issued = live.sim_call(
            "POST",
            "/_sim/accounts",
            uid=SECOND_UID,
            screen_name="中国联通广东",
            app_key="hub-app",
            app_secret="hub-secret",
            redirect_uri=f"{live.web_url}/oauth/weibo/callback",
        )
        with live.runtime.sessions.begin() as s:
            org = s.get(Organization, live.world.inhouse_org_id)
            assert org is not None
            second = register_account(
                s,
                live.runtime,
                platform="weibo",
                platform_uid=SECOND_UID,
                display_name="中国联通广东",
                access_token=issued["access_token"],
                expires_at=None,
                org=org,
                operator_ids=(live.world.operator_id,),
            )
            store_token(s, live.runtime, second, issued["access_token"], utcnow() + timedelta(days=1))
            ensure_cursors(s, second)
            second_id = second.id
        scheduler = Scheduler(runner, {"publishing.send_due": 1.0})
        scheduler.start()
        try:
            yield live, second_id
        finally:
            scheduler.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def _page(browser: Any, hub: LiveHub, username: str) -> Any:
    from playwright.sync_api import expect

    context = browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1366, "height": 768}
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{hub.web_url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#whoami")).to_be_visible()
    return page


def _shot(page: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"publishing-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(path, ARTIFACTS / path.name)
    return path


def _sent_rows(hub: LiveHub, publication_id: int, n: int, seconds: float = 20.0) -> list[OutboundMessage]:
    deadline = time.monotonic() + seconds
    while True:
        with hub.runtime.sessions() as s:
            rows = list(
                s.scalars(
                    select(OutboundMessage)
                    .where(OutboundMessage.publication_id == publication_id)
                    .order_by(OutboundMessage.account_id)
                )
            )
            s.expunge_all()
        if len(rows) == n and all(r.state == DeliveryState.SENT for r in rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"not sent in time: {[(r.id, r.state) for r in rows]}")
        time.sleep(0.2)


def _poll_comments(hub: LiveHub, account_id: int) -> None:
    with hub.runtime.sessions() as s:
        cursor = s.scalars(
            select(PollCursor.id).where(
                PollCursor.account_id == account_id, PollCursor.source == "comments_to_me"
            )
        ).one()
    assert poll_cursor(hub.runtime, cursor).error == ""


def test_an_operator_posts_to_two_accounts_and_watches_what_they_draw(
    hub: tuple[LiveHub, int], browser: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    live, second_id = hub
    first_id = live.world.inhouse_account_id
    page = _page(browser, live, "zhangwei")
    page.get_by_role("link", name="发布中心").click()
    page.get_by_role("link", name="新建发布").first.click()
    expect(page.get_by_role("heading", name="新建发布")).to_be_visible()

    # the browser counts exactly as the adapter does
    counted = page.evaluate("texts => texts.map(t => window.hub.measures.weibo(t))", SAMPLES)
    assert counted == [weibo_length(t) for t in SAMPLES]

    for account_id in (first_id, second_id):
        page.locator(f'input[name="post_{account_id}"]').check()
    text_box = page.locator("#pub-text")
    text_box.fill("#宽带提速# 本周六起全城千兆")
    warnings = page.locator("#pub-warnings")
    expect(warnings).to_contain_text("中国联通客服：微博接口不允许带 #话题#")
    expect(warnings).to_contain_text("中国联通广东：微博需包含安全域名（10010.com）下的链接")
    expect(page.locator(f'[data-problems-for="{second_id}"]')).to_contain_text("#话题#")
    _shot(page, tmp_path, "compose-warnings")

    text = f"宽带提速通知：本周六起全城千兆，老用户免费升级 {LINK}"
    text_box.fill(text)
    for account_id in (first_id, second_id):
        counter = page.locator(f'.counter[data-for="{account_id}"][data-target="post"]')
        expect(counter).to_be_visible()
        expect(counter).to_contain_text(f"{weibo_length(text)} / 140 字")
    expect(warnings).to_be_hidden()
    cards = page.locator(".preview-item.post-card:not([hidden])")
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text("老用户免费升级")
    expect(page.locator(".counter.over")).to_have_count(0)
    page.locator('select[name="category"]').select_option(label="公告")
    _shot(page, tmp_path, "compose")

    page.get_by_role("button", name="发布", exact=True).click()
    expect(page.locator("p.notice")).to_contain_text("已发布：正在发送到所选账号")
    page.evaluate("() => { window.stayedHere = true; }")  # gone if the page were reloaded
    match = re.search(r"/publish/(\d+)", page.url)
    assert match is not None
    publication_id = int(match.group(1))
    deliveries = page.locator("#pub-deliveries tbody tr")
    expect(deliveries).to_have_count(2)
    rows = _sent_rows(live, publication_id, 2)
    expect(page.locator("#pub-deliveries")).to_contain_text("已送达 2 · 失败 0 · 等待 0")

    # the posts draw reposts, comments, likes and a customer's comment each
    comments = {
        first_id: ("办了这个流量包网速反而更慢了，太坑了", {"reposts": 3, "likes": 7}),
        second_id: ("千兆宽带太好了，已经升级，速度飞快", {"reposts": 1, "likes": 12}),
    }
    uids = {first_id: UID, second_id: SECOND_UID}
    for row in rows:
        said, counts = comments[row.account_id]
        live.sim_call("POST", "/_sim/engagement", status_id=row.platform_id, **counts)
        comment = {"account_uid": uids[row.account_id], "status_id": row.platform_id, "text": said}
        live.sim_call("POST", "/_sim/comments", **comment)  # counted as one more comment
    sent_at = max(r.sent_at for r in rows if r.sent_at is not None)
    assert track_due(live.runtime, now=sent_at + timedelta(seconds=61)).sampled == 2
    for account_id in (first_id, second_id):
        _poll_comments(live, account_id)

    # ... and the page follows without a reload
    for row in rows:
        counts = comments[row.account_id][1]
        shown = page.locator(f'[data-engagement="{row.id}"]')
        expect(shown).to_have_text(f"转发 {counts['reposts']} · 评论 1 · 点赞 {counts['likes']}")
    # the two comments, and the reposts the rising counts made the hub read (3 + 1)
    replies = page.locator("#pub-reactions .reaction")
    expect(replies).to_have_count(6, timeout=20_000)
    expect(page.locator("#pub-reactions h2").first).to_contain_text("共 6 条")
    expect(replies.filter(has_text="· 评论 ·")).to_have_count(2)
    expect(replies.filter(has_text="· 转发 ·")).to_have_count(4)
    expect(page.locator("#pub-reactions")).to_contain_text("办了这个流量包网速反而更慢了")
    expect(page.locator("#pub-reactions")).to_contain_text("千兆宽带太好了")
    complaint = replies.filter(has_text="办了这个流量包网速反而更慢了")
    expect(complaint.locator(".senti-badge.negative")).to_have_text("负面")
    # routing runs in the task workers: the requests it opens follow a moment later
    expect(page.locator("#pub-reactions a", has_text="服务请求 #").first).to_be_visible(timeout=20_000)
    expect(page.locator("#pub-reactions table.caused tbody tr").first).to_be_visible(timeout=20_000)
    points = page.evaluate(
        """() => Array.from(document.querySelectorAll('.pub-chart')).map(el => {
            const chart = window.echarts && window.echarts.getInstanceByDom(el);
            return chart ? chart.getOption().series.map(s => s.data.length) : null;
        })"""
    )
    assert points == [[2, 2, 2], [2, 2, 2]]  # from nothing when sent, to the sample
    assert page.evaluate("() => window.stayedHere === true")  # all of it arrived without a reload
    _shot(page, tmp_path, "monitor")


def test_a_partner_post_waits_for_the_manager_who_approves_it(
    hub: tuple[LiveHub, int], browser: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    live, _ = hub
    partner = _page(browser, live, "lina")
    partner.goto(f"{live.web_url}/publish/new")
    expect(partner.locator(".target")).to_have_count(1)  # only the account her company operates
    partner.locator(f'input[name="post_{live.world.partner_account_id}"]').check()
    partner.locator("#pub-text").fill(f"上海地区宽带维护通知：周日凌晨 2 点至 4 点 {LINK}/sh")
    partner.locator('select[name="category"]').select_option(label="服务通知")
    expect(partner.locator(".review-hint")).to_contain_text("审核通过后才会发布")
    partner.get_by_role("button", name="提交审核").click()
    expect(partner.locator("p.notice")).to_contain_text("已提交审核")
    expect(partner.locator("#pub-state")).to_have_text("待审核")
    expect(partner.get_by_role("button", name="通过")).to_have_count(0)
    monitor_url = partner.url.partition("?")[0]
    _shot(partner, tmp_path, "partner-pending")

    manager = _page(browser, live, "manager")
    expect(manager.locator("#notif-count")).to_have_text("1")
    manager.goto(f"{live.web_url}/notifications")
    manager.get_by_role("link", name="李娜 提交了一条待审核的发布").click()
    expect(manager.locator(".pub-text")).to_contain_text("上海地区宽带维护通知")
    manager.locator('textarea[name="comment"]').fill("内容无误，可以发布")
    _shot(manager, tmp_path, "manager-review")
    manager.get_by_role("button", name="通过").click()
    expect(manager.locator("p.notice")).to_contain_text("已通过审核并发布")
    expect(manager.locator("#pub-deliveries")).to_contain_text("已发送")
    _shot(manager, tmp_path, "manager-approved")

    # the partner's open page follows on its own: approved and sent
    expect(partner.locator("#pub-state")).to_have_text("已发布")
    assert partner.url.partition("?")[0] == monitor_url
    expect(partner.locator(".review-comment")).to_have_text("内容无误，可以发布")
    expect(partner.locator("#pub-deliveries")).to_contain_text("已发送")
    shares = live.sim_call("GET", "/_sim/outbox?endpoint=statuses/share")["items"]
    assert [str(s["uid"]) for s in shares] == [PARTNER_UID]
    _shot(partner, tmp_path, "partner-released")
