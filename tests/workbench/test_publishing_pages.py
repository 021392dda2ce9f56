"""发布中心 through the workbench: compose (accounts in scope, per-account reasons in Chinese,
a double-click adding one publication, schedule in China time), approval, the monitor (states,
errors and retry, counts, replies, its JSON), the live check, and nothing raw on the pages.

Weibo behind the fake adapter of ``tests.fakes``; the app's safe domain is 10010.com."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from servicehub.adapters.base import EngagementCount, InboundItem, ItemKind, PlatformUser, ReplyTarget
from servicehub.adapters.errors import Rejected
from servicehub.core.models import (
    Account,
    DeliveryState,
    OutboundMessage,
    Publication,
    PublicationState,
    TrackedPost,
)
from servicehub.core.runtime import Runtime
from servicehub.listener.filtering import chain_for
from servicehub.listener.intake import intake
from servicehub.publishing.tracking import record_samples
from servicehub.routing.conversations import route_messages
from servicehub.workbench.app import create_app
from tests import fakes
from tests.factories import World, build_world
from tests.workbench.conftest import csrf_of, login
from tests.workbench.test_i18n import RAW, _visible

LINK = "https://www.10010.com/5g"


@pytest.fixture
def rt(sqlite_runtime_with: Any) -> Runtime:
    runtime: Runtime = sqlite_runtime_with(
        platforms={
            "weibo": {"api_base": "http://127.0.0.1:9", "share_domains": "10010.com"},
            "wechat": {"api_base": "http://127.0.0.1:9"},
        }
    )
    return runtime


@pytest.fixture
def w(rt: Runtime) -> World:
    return build_world(rt)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> fakes.FakePlatform:
    return fakes.install(monkeypatch)


@pytest.fixture
def web(rt: Runtime, w: World, fake: fakes.FakePlatform) -> Iterator[TestClient]:
    with TestClient(create_app(rt), follow_redirects=False) as c:
        yield c


def _form(account_id: int, text: str, **extra: str) -> dict[str, str]:
    return {
        "text": text,
        "category": "announcement",
        "account": str(account_id),
        f"post_{account_id}": "on",
        **extra,
    }


def _compose(web: TestClient, form: dict[str, str], nonce: str = "n1") -> Any:
    token = csrf_of(web.get("/publish/new").text)
    return web.post("/publish/new", data={**form, "csrf_token": token, "nonce": nonce})


def _publications(rt: Runtime) -> list[Publication]:
    with rt.sessions() as s:
        found = list(s.scalars(select(Publication).order_by(Publication.id)))
        s.expunge_all()
        return found


def test_the_form_offers_only_the_accounts_one_may_publish_on(web: TestClient, w: World) -> None:
    login(web, "zhangwei")
    page = web.get("/publish/new").text
    assert "中国联通客服" in page and "联通上海" not in page
    # the browser counts as Weibo does, against its limit for a post
    assert re.search(r'data-target="post" data-limit="140" data-counting="weibo"', page)
    assert "发微博" in page and "新浪微博" in page
    web.cookies.clear()
    login(web, "lina")
    page = web.get("/publish/new").text
    assert "联通上海" in page and "中国联通客服" not in page
    assert "提交审核" in page  # a partner's publication waits for approval


def test_a_refused_draft_comes_back_with_what_was_typed_and_why_per_account(
    web: TestClient, w: World, rt: Runtime, fake: fakes.FakePlatform
) -> None:
    login(web, "zhangwei")
    answer = _compose(web, _form(w.inhouse_account_id, "#宽带提速# 今晚起全城千兆", scheduled_at=""))
    assert answer.status_code == 422
    assert "#宽带提速# 今晚起全城千兆</textarea>" in answer.text  # the draft is kept
    assert re.search(rf'name="account" value="{w.inhouse_account_id}" checked', answer.text)
    assert re.search(rf'name="post_{w.inhouse_account_id}" data-kind="post" checked', answer.text)
    assert "中国联通客服</strong>：微博接口不允许带 #话题#" in answer.text
    assert "微博需包含安全域名（10010.com）下的链接" in answer.text
    assert _publications(rt) == [] and fake.sent == []
    # the whole draft's errors, in words
    assert "请至少选择一个账号" in _compose(web, {"text": "有内容", "category": "announcement"}).text
    assert "内容不能为空" in _compose(web, _form(w.inhouse_account_id, "  ")).text


def test_a_double_click_publishes_once_and_the_notice_says_it_went(
    web: TestClient, w: World, rt: Runtime, fake: fakes.FakePlatform
) -> None:
    login(web, "zhangwei")
    form = _form(w.inhouse_account_id, f"宽带提速通知 {LINK}")
    first, second = _compose(web, form, nonce="same"), _compose(web, form, nonce="same")
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert first.headers["location"].endswith("?notice=published")
    assert len(_publications(rt)) == 1 and len(fake.sent) == 1
    page = web.get(first.headers["location"]).text
    assert "已发布：正在发送到所选账号" in page and "已发送" in page and "已送达 1" in page


def test_a_scheduled_publication_is_read_in_china_time(web: TestClient, w: World, rt: Runtime) -> None:
    login(web, "zhangwei")
    local = (datetime.now(UTC) + timedelta(days=2)).astimezone(UTC) + timedelta(hours=8)
    field = local.strftime("%Y-%m-%dT%H:%M")
    answer = _compose(web, _form(w.inhouse_account_id, f"周末营业厅延长营业 {LINK}", scheduled_at=field))
    assert answer.headers["location"].endswith("?notice=scheduled")
    [publication] = _publications(rt)
    assert publication.state == PublicationState.SCHEDULED
    assert publication.scheduled_at is not None
    assert publication.scheduled_at.strftime("%Y-%m-%dT%H:%M") == (local - timedelta(hours=8)).strftime(
        "%Y-%m-%dT%H:%M"
    )
    page = web.get(answer.headers["location"]).text
    assert "已排期：到定时时间自动发布" in page and f"定时 {local.strftime('%Y-%m-%d %H:%M')}" in page
    # the edit form shows it as it was typed
    edit = web.get(f"/publish/{publication.id}/edit").text
    assert f'value="{field}"' in edit and "周末营业厅延长营业" in edit and "保存修改" in edit


def test_a_partner_post_waits_and_the_manager_approves_it(
    web: TestClient, w: World, rt: Runtime, fake: fakes.FakePlatform
) -> None:
    login(web, "lina")
    answer = _compose(web, _form(w.partner_account_id, f"上海地区宽带维护通知 {LINK}"))
    assert answer.headers["location"].endswith("?notice=pending")
    monitor_url = answer.headers["location"].partition("?")[0]
    mine = web.get(answer.headers["location"]).text
    assert "已提交审核" in mine and "待审核" in mine and "通过</button>" not in mine  # no self-approval
    assert fake.sent == []
    web.cookies.clear()
    login(web, "manager")
    assert "李娜 提交了一条待审核的发布" in web.get("/notifications").text
    page = web.get(monitor_url).text
    assert 'name="decision" value="approve"' in page
    token = csrf_of(page)
    refused = web.post(f"{monitor_url}/review", data={"csrf_token": token, "decision": "reject"})
    assert refused.status_code == 422 and "退回时请填写审核意见" in refused.text
    approved = web.post(
        f"{monitor_url}/review", data={"csrf_token": token, "decision": "approve", "comment": "可以"}
    )
    assert approved.headers["location"].endswith("?notice=approved_published")
    assert [text for _, _, text in fake.sent] == [f"上海地区宽带维护通知 {LINK}"]
    page = web.get(approved.headers["location"]).text
    assert "已通过审核并发布" in page and "王主管" in page and "可以" in page
    web.cookies.clear()
    login(web, "lina")
    assert "王主管 通过了你的发布" in web.get("/notifications").text


def test_a_failed_target_says_why_in_chinese_and_is_sent_again(
    web: TestClient, w: World, rt: Runtime, fake: fakes.FakePlatform
) -> None:
    login(web, "zhangwei")
    fake.fail_next = [Rejected("Repeat conetnt! (code 20019)")]
    monitor_url = _compose(web, _form(w.inhouse_account_id, f"流量包优惠 {LINK}")).headers["location"]
    page = web.get(monitor_url).text
    assert "发送失败" in page and "平台拒绝了这条消息" in page  # never the platform's own English
    assert "Repeat conetnt" not in page
    [row] = _outbound(rt)
    assert row.state == DeliveryState.FAILED
    retry = re.search(r'action="(/publish/\d+/retry/\d+)"', page)
    assert retry is not None
    answer = web.post(retry.group(1), data={"csrf_token": csrf_of(page)})
    assert answer.headers["location"].endswith("notice=retried#deliveries")
    [row] = _outbound(rt)
    assert row.state == DeliveryState.SENT and len(fake.sent) == 1


def _outbound(rt: Runtime) -> list[OutboundMessage]:
    with rt.sessions() as s:
        rows = list(s.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))
        s.expunge_all()
        return rows


def _comment_on(rt: Runtime, account_id: int, status_id: str, text: str, platform_id: str) -> None:
    with rt.sessions() as s:
        account = s.get(Account, account_id)
        assert account is not None
        item = InboundItem(
            platform="weibo",
            kind=ItemKind.COMMENT,
            platform_id=platform_id,
            account_uid=account.platform_uid,
            author=PlatformUser(platform="weibo", uid="2489518277", screen_name="小明", followers_count=10),
            text=text,
            created_at=datetime.now(UTC),
            thread_id=status_id,
            reply_target=ReplyTarget(kind="reply_comment", status_id=status_id, comment_id=platform_id),
        )
        ids = intake(s, account, [item], chain_for(s, rt))
        s.commit()
    route_messages(rt, ids)


def test_the_monitor_shows_counts_replies_and_requests_and_its_json_follows(
    web: TestClient, w: World, rt: Runtime
) -> None:
    login(web, "zhangwei")
    monitor_url = _compose(web, _form(w.inhouse_account_id, f"流量包优惠 {LINK}")).headers["location"]
    publication_id = int(monitor_url.split("/")[2].partition("?")[0])
    [row] = _outbound(rt)
    assert row.platform_id is not None
    with rt.sessions() as s:
        tracked = s.get(TrackedPost, row.id)
        assert tracked is not None
        record_samples(s, rt, [tracked], [EngagementCount(row.platform_id, 3, 2, 9)], datetime.now(UTC))
        s.commit()
    _comment_on(
        rt, w.inhouse_account_id, row.platform_id, "办了流量包网速反而更慢了，太坑了", "5100000000000001"
    )
    page = web.get(f"/publish/{publication_id}").text
    assert "转发 3 · 评论 2 · 点赞 9" in page
    assert "办了流量包网速反而更慢了" in page and "负面" in page and "服务请求 #" in page
    data = web.get(f"/api/publications/{publication_id}").json()
    assert data["state"] == "released" and data["delivered"] == 1 and data["reaction_count"] == 1
    [series] = data["series"]
    assert series["id"] == row.id and [p[1:] for p in series["points"]] == [[0, 0, 0], [3, 2, 9]]
    assert "转发 3 · 评论 2 · 点赞 9" in data["html"]["deliveries"]
    assert "办了流量包网速反而更慢了" in data["html"]["reactions"]
    web.cookies.clear()
    login(web, "lina")
    assert web.get(f"/api/publications/{publication_id}").status_code == 404
    assert web.get(f"/publish/{publication_id}").status_code == 404
    assert f"/publish/{publication_id}" not in web.get("/publish").text


def test_the_live_check_says_what_each_account_would_refuse(web: TestClient, w: World) -> None:
    login(web, "zhangwei")
    token = csrf_of(web.get("/publish/new").text)
    headers = {"X-CSRF-Token": token}
    answer = web.post(
        "/api/publish/check", data=_form(w.inhouse_account_id, "#话题# 看这里"), headers=headers
    )
    assert answer.status_code == 200
    problems = answer.json()["problems"]
    assert {p["account"] for p in problems} == {"中国联通客服"}
    messages = " ".join(p["message"] for p in problems)
    assert "安全域名（10010.com）" in messages and "#话题#" in messages
    fine = web.post("/api/publish/check", data=_form(w.inhouse_account_id, f"好消息 {LINK}"), headers=headers)
    assert fine.json() == {"problems": [], "error": None}
    long = web.post(
        "/api/publish/check", data=_form(w.inhouse_account_id, "长" * 141 + LINK), headers=headers
    )
    assert "内容超过 140字（当前 151字）" in long.json()["problems"][0]["message"]
    # an account outside the caller's scope is missing, as everywhere
    theirs = web.post("/api/publish/check", data=_form(w.partner_account_id, "x"), headers=headers)
    assert theirs.status_code == 404
    assert web.post("/api/publish/check", data=_form(w.inhouse_account_id, "x")).status_code == 403


def test_cancel_while_it_waits_then_it_can_no_longer_change(web: TestClient, w: World, rt: Runtime) -> None:
    login(web, "lina")
    monitor_url = _compose(web, _form(w.partner_account_id, f"上海公告 {LINK}")).headers["location"]
    page = web.get(monitor_url).text
    assert "取消发布" in page and "修改" in page
    base = monitor_url.partition("?")[0]
    answer = web.post(f"{base}/cancel", data={"csrf_token": csrf_of(page)})
    assert answer.headers["location"].endswith("notice=cancelled")
    page = web.get(answer.headers["location"]).text
    assert "已取消发布" in page and "取消发布</button>" not in page and "已取消，不会投递" in page
    assert web.get(f"{base}/edit").headers["location"] == base  # nothing left to edit
    edit = web.post(
        f"{base}/edit", data={**_form(w.partner_account_id, f"改 {LINK}"), "csrf_token": csrf_of(page)}
    )
    assert edit.status_code == 422 and "不能再修改" in edit.text


def test_the_list_filters_by_state_and_shows_the_tally(web: TestClient, w: World) -> None:
    login(web, "zhangwei")
    _compose(web, _form(w.inhouse_account_id, f"第一条 {LINK}"), nonce="a")
    later = (datetime.now(UTC) + timedelta(days=1, hours=8)).strftime("%Y-%m-%dT%H:%M")
    _compose(web, _form(w.inhouse_account_id, f"第二条 {LINK}", scheduled_at=later), nonce="b")
    page = web.get("/publish").text
    assert "第一条" in page and "第二条" in page and "已送达 1 · 失败 0 · 等待 0" in page
    assert "公告" in page and "张伟" in page
    scheduled = web.get("/publish?state=scheduled").text
    assert "第二条" in scheduled and "第一条" not in scheduled


def test_the_menu_shows_publishing_to_those_who_publish_or_approve(web: TestClient, w: World) -> None:
    for username in ("zhangwei", "manager", "lina"):
        web.cookies.clear()
        login(web, username)
        assert '<a href="/publish">发布中心</a>' in web.get("/").text


@pytest.mark.parametrize("role", ["zhangwei", "manager"])
def test_no_publishing_page_shows_a_raw_code(
    role: str, web: TestClient, w: World, rt: Runtime, fake: fakes.FakePlatform
) -> None:
    login(web, "zhangwei")
    fake.fail_next = [Rejected("Repeat conetnt! (code 20019)")]
    failed = _compose(web, _form(w.inhouse_account_id, f"流量包优惠 {LINK}"), nonce="f").headers["location"]
    token = csrf_of(web.get("/publish/lists").text)
    made = web.post("/publish/lists", data={"csrf_token": token, "name": "宽带用户", "tags": "宽带"})
    list_url = made.headers["location"].partition("?")[0]
    refused = _compose(web, _form(w.inhouse_account_id, "#话题# 无链接"), nonce="r")
    pages = {"/publish/new (refused)": refused.text}
    if role != "zhangwei":
        web.cookies.clear()
        login(web, role)
    paths = ["/publish", failed.partition("?")[0]]
    if role == "zhangwei":
        paths += ["/publish/new", "/publish/lists", list_url]
    leaks = {}
    for path in paths:
        answer = web.get(path)
        assert answer.status_code == 200, path
        pages[path] = answer.text
    for path, html in pages.items():
        found = sorted({m.group(0) for m in RAW.finditer(_visible(html))})
        if found:
            leaks[path] = found
    assert leaks == {}


GIF = bytes.fromhex(  # a 1x1 GIF
    "474946383961010001008000000000 00ffffff21f90401000000002c00000000010001000002024401003b".replace(" ", "")
)


def test_a_picture_chosen_in_the_form_is_posted_with_the_text_and_shown_on_the_monitor(
    web: TestClient, w: World, rt: Runtime, fake: fakes.FakePlatform
) -> None:
    login(web, "zhangwei")
    token = csrf_of(web.get("/publish/new").text)
    form = {**_form(w.inhouse_account_id, f"新品海报 {LINK}"), "csrf_token": token, "nonce": "pic"}
    answer = web.post("/publish/new", data=form, files={"image_file": ("poster.gif", GIF, "image/gif")})
    assert answer.status_code == 303, answer.text
    [publication] = _publications(rt)
    assert publication.image is not None and publication.image.endswith(".gif")
    assert [p.data for p in fake.pictures] == [GIF]
    monitor = web.get(answer.headers["location"]).text
    assert f"/publish/pictures/{publication.image}" in monitor
    shown = web.get(f"/publish/pictures/{publication.image}")
    assert shown.status_code == 200 and shown.content == GIF and shown.headers["content-type"] == "image/gif"
    assert web.get("/publish/pictures/" + "0" * 64 + ".gif").status_code == 404


def test_a_file_that_is_no_picture_is_refused_and_nothing_is_queued(
    web: TestClient, w: World, rt: Runtime, fake: fakes.FakePlatform
) -> None:
    login(web, "zhangwei")
    token = csrf_of(web.get("/publish/new").text)
    form = {**_form(w.inhouse_account_id, f"新品海报 {LINK}"), "csrf_token": token, "nonce": "bad"}
    answer = web.post(
        "/publish/new", data=form, files={"image_file": ("poster.gif", b"<svg onload=x>", "image/gif")}
    )
    assert answer.status_code == 422
    assert "配图须为 JPG、PNG 或 GIF 图片" in answer.text and "新品海报" in answer.text
    assert _publications(rt) == [] and fake.sent == []
