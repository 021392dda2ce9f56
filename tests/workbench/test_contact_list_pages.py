"""联系人分组 and mass-send tags through the workbench: a list's rule and whom it reaches on each
account (reachable, outside the window, not on the platform), CSV import with its report,
removing a member, deleting the list; a platform's follower tags offered on the compose form,
or the reason they could not be read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from servicehub.adapters import registry
from servicehub.adapters.base import AudienceTag, SentRef
from servicehub.adapters.errors import Unavailable
from servicehub.adapters.wechat.client import WeChatAdapter
from servicehub.core.models import (
    ContactList,
    Customer,
    Message,
    Organization,
    OutboundKind,
    OutboundMessage,
    Publication,
    ServiceRequest,
)
from servicehub.core.runtime import Runtime
from servicehub.workbench.app import create_app
from tests import fakes
from tests.factories import World, add_wechat_account
from tests.workbench.conftest import csrf_of, hear, login


@pytest.fixture
def web(sqlite_runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    fakes.install(monkeypatch)
    with TestClient(create_app(sqlite_runtime), follow_redirects=False) as c:
        yield c


def _customer_of(runtime: Runtime, request_id: int) -> int:
    with runtime.sessions() as s:
        request = s.get(ServiceRequest, request_id)
        assert request is not None
        return request.customer_id


@pytest.fixture
def people(sqlite_runtime: Runtime, world: World) -> dict[str, int]:
    """Three customers tagged 宽带: one wrote just now, one three days ago (outside Weibo's
    48 hours), one known only by phone (on no platform)."""
    rt = sqlite_runtime
    recent = _customer_of(rt, hear(rt, world.inhouse_account_id, "4900000000000701", "宽带断了", "1001"))
    stale = _customer_of(rt, hear(rt, world.inhouse_account_id, "4900000000000702", "宽带很慢", "1002"))
    with rt.sessions.begin() as s:
        s.execute(
            update(Message)
            .where(Message.customer_id == stale)
            .values(created_at=datetime.now(UTC) - timedelta(days=3))
        )
        for customer in s.scalars(select(Customer).where(Customer.id.in_([recent, stale]))):
            customer.tags = ["宽带"]
        s.get(Customer, stale).phone = "13812345678"  # type: ignore[union-attr]
        offline = Customer(display_name="线下客户", tags=["宽带"], phone="13900000000")
        s.add(offline)
        s.flush()
        return {"recent": recent, "stale": stale, "offline": offline.id}


def _create(web: TestClient, **fields: str) -> str:
    token = csrf_of(web.get("/publish/lists").text)
    answer = web.post("/publish/lists", data={"csrf_token": token, **fields})
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def test_a_list_shows_whom_it_reaches_on_each_account(web: TestClient, people: dict[str, int]) -> None:
    login(web, "zhangwei")
    location = _create(web, name="宽带用户", tags="宽带")
    assert location.endswith("?notice=list_saved")
    page = web.get(location).text
    assert "分组已保存" in page and "标签：宽带" in page and "共 3 人" in page
    row = re.search(r'<tr data-account="\d+"><td>中国联通客服.*?</tr>', page, re.S)
    assert row is not None
    counts = re.findall(r'class="(reachable|outside|absent)">(\d+)<', row.group(0))
    assert counts == [("reachable", "1"), ("outside", "1"), ("absent", "1")]
    assert "宽带用户" in web.get("/publish/lists").text
    web.cookies.clear()
    login(web, "lina")  # another company's list is not there
    assert "宽带用户" not in web.get("/publish/lists").text
    assert web.get(location.partition("?")[0]).status_code == 404


def test_csv_import_reports_added_already_and_unknown_lines(
    web: TestClient, people: dict[str, int], sqlite_runtime: Runtime
) -> None:
    login(web, "zhangwei")
    url = _create(web, name="回访名单").partition("?")[0]
    page = web.get(url).text
    assert "仅手动添加的成员" in page and "共 0 人" in page
    csv = "平台,用户ID\nweibo,1001\n138-1234-5678\nweibo,999999\n\nweibo,1001\n".encode()

    def upload(data: bytes) -> Any:
        token = csrf_of(web.get(url).text)
        files = {"file": ("名单.csv", data, "text/csv")}
        return web.post(f"{url}/import", data={"csrf_token": token}, files=files)

    answer = upload(csv)
    assert answer.status_code == 303
    report = web.get(answer.headers["location"]).text
    assert "导入完成：新增 2 人，已在分组中 0 人" in report
    assert "1 行没有匹配到你可见的客户：第 4 行" in report
    assert "共 2 人" in report and "线下客户" not in report
    again = web.get(upload(csv).headers["location"]).text
    assert "新增 0 人，已在分组中 2 人" in again
    assert "文件不是 UTF-8" in upload("weibo,1001".encode("gbk") + "中文".encode("gbk")).text
    # remove one member, then the list
    remove = re.search(rf'action="({url}/members/{people["recent"]}/remove)"', again)
    assert remove is not None
    gone = web.post(remove.group(1), data={"csrf_token": csrf_of(again)})
    assert gone.headers["location"].endswith("notice=member_removed#members")
    page = web.get(gone.headers["location"]).text
    assert "已移除该成员" in page and "共 1 人" in page
    deleted = web.post(f"{url}/delete", data={"csrf_token": csrf_of(page)})
    assert deleted.headers["location"] == "/publish/lists?notice=list_deleted"
    assert "分组已删除" in web.get(deleted.headers["location"]).text
    with sqlite_runtime.sessions() as s:
        assert s.scalars(select(ContactList)).all() == []


def test_a_list_is_edited_and_a_bad_rule_refused_in_words(web: TestClient, world: World) -> None:
    login(web, "zhangwei")
    url = _create(web, name="VIP").partition("?")[0]
    token = csrf_of(web.get(url).text)
    fields = {
        "csrf_token": token,
        "name": "高等级客户",
        "min_tier": "3",
        "account_ids": str(world.inhouse_account_id),
    }
    assert web.post(url, data=fields).headers["location"].endswith("notice=list_saved")
    page = web.get(url).text
    assert "高等级客户" in page and "VIP 3 级及以上" in page and "曾联系：中国联通客服" in page
    assert "分组名称不能为空" in web.post(url, data={**fields, "name": ""}).text
    assert "“最低 VIP 等级”应为数字" in web.post(url, data={**fields, "min_tier": "高"}).text


# -- a platform's own follower tags (a mass send) ---------------------------------------------


class TagAdapter:
    """A platform adapter that keeps follower tags and mass-sends to them."""

    def __init__(self, tags: list[AudienceTag] | Exception) -> None:
        self.tags = tags
        self.sent: list[tuple[str, str]] = []

    def close(self) -> None:
        pass

    def audience_tags(self) -> list[AudienceTag]:
        if isinstance(self.tags, Exception):
            raise self.tags
        return self.tags

    def mass_send(self, tag_id: str, text: str, *, client_msg_id: str) -> SentRef:
        self.sent.append((tag_id, text))
        return SentRef(platform_id=f"mass-{len(self.sent)}", text=text)


@pytest.fixture
def wechat(sqlite_runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A WeChat official account of the in-house company whose adapter can mass-send by tag."""
    monkeypatch.setattr(WeChatAdapter, "audience_tags", TagAdapter.audience_tags, raising=False)
    monkeypatch.setattr(WeChatAdapter, "mass_send", TagAdapter.mass_send, raising=False)
    with sqlite_runtime.sessions.begin() as s:
        org = s.get(Organization, world.inhouse_org_id)
        assert org is not None
        account = add_wechat_account(
            s,
            sqlite_runtime,
            org=org,
            original_id="gh_tags",
            appid="wxtags",
            secret="s",
            push_token="t",
            operator_ids=(world.operator_id,),
        )
        account_id = account.id

    def install(tags: list[AudienceTag] | Exception) -> tuple[int, TagAdapter]:
        adapter = TagAdapter(tags)
        monkeypatch.setitem(registry.FACTORIES, "wechat", lambda config, creds, transport: adapter)
        return account_id, adapter

    return install


def test_the_platform_tags_are_offered_and_a_mass_send_goes_to_the_chosen_one(
    web: TestClient, wechat: Any, sqlite_runtime: Runtime
) -> None:
    account_id, adapter = wechat([AudienceTag("101", "VIP客户", 12), AudienceTag("102", "宽带用户", 30)])
    login(web, "zhangwei")
    page = web.get("/publish/new").text
    assert f'name="tags_{account_id}"' in page and "VIP客户（12 人）" in page and "宽带用户（30 人）" in page
    assert f'name="post_{account_id}"' not in page  # an official account has no timeline here
    form = {
        "csrf_token": csrf_of(page),
        "nonce": "m1",
        "text": "本月账单已出，请查收",
        "category": "service_notice",
        "account": str(account_id),
        f"tags_{account_id}": "101",
    }
    answer = web.post("/publish/new", data=form)
    assert answer.headers["location"].endswith("?notice=published"), answer.text
    assert adapter.sent == [("101", "本月账单已出，请查收")]
    with sqlite_runtime.sessions() as s:
        [publication] = s.scalars(select(Publication)).all()
        assert publication.targets[0].tag_ids == ["101"]
        kinds = s.scalars(select(OutboundMessage.kind)).all()
    assert kinds == [OutboundKind.MASS]
    assert "标签 VIP客户" in web.get(answer.headers["location"]).text  # by the name the platform gave


def test_tags_that_cannot_be_read_are_explained_and_none_offered(web: TestClient, wechat: Any) -> None:
    account_id, _ = wechat(Unavailable("system busy", code=-1))
    login(web, "zhangwei")
    page = web.get("/publish/new").text
    assert "读取粉丝标签失败：" in page and "暂不能选择群发标签" in page
    assert f'name="tags_{account_id}"' not in page
