"""Snippets and announcements: who writes them for whom, who reads them, search, placeholders."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from servicehub.core.errors import ActionError
from servicehub.core.models import AnnouncementRead, AuditEvent, Snippet
from servicehub.core.permissions import Forbidden, NotVisible
from servicehub.core.runtime import Runtime
from servicehub.workday.announcements import (
    announcements_for,
    do_mark_announcement_read,
    do_post_announcement,
    do_remove_announcement,
)
from servicehub.workday.audience import audience_choices
from servicehub.workday.snippets import (
    do_create_snippet,
    do_delete_snippet,
    do_update_snippet,
    fill,
    snippets_for,
)
from tests.workday_support import Desk, build_desk


@pytest.fixture
def desk(runtime: Runtime) -> Desk:
    return build_desk(runtime)


def test_placeholders_are_filled_in_both_spellings() -> None:
    body = "{客户名称}您好，这里是{账号名称}。Hi {customer}, {account} here."
    assert fill(body, customer="小明", account="中国联通客服") == (
        "小明您好，这里是中国联通客服。Hi 小明, 中国联通客服 here."
    )


def _snippet(
    desk: Desk, user_id: int, audience: str, title: str = "话费查询", body: str = "{客户名称}您好"
) -> int:
    return int(desk.do(user_id, do_create_snippet, title=title, body=body, audience=audience).id)


def test_snippets_reach_everyone_a_company_or_a_team(desk: Desk) -> None:
    everyone = _snippet(desk, desk.world.manager_id, "all", "问候")
    billing = _snippet(desk, desk.world.manager_id, f"team:{desk.billing_team}", "退费流程")
    partner = _snippet(desk, desk.psup, f"org:{desk.world.partner_org_id}", "上海营业厅地址")
    seen = {}
    for user_id in (
        desk.world.operator_id,
        desk.billing,
        desk.world.partner_id,
        desk.world.other_partner_id,
        desk.world.manager_id,
    ):
        who = desk.who(user_id)
        with desk.session() as s:
            seen[user_id] = {x.id for x in snippets_for(s, who)}
    assert seen == {
        desk.world.operator_id: {everyone},
        desk.billing: {everyone, billing},
        desk.world.partner_id: {everyone, partner},
        desk.world.other_partner_id: {everyone},
        desk.world.manager_id: {everyone, billing, partner},  # manages them all
    }
    with desk.session() as s:
        [created] = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "snippet.created", AuditEvent.object_id == str(billing)
            )
        )
        assert created.detail["team_id"] == desk.billing_team


def test_search_is_a_chinese_substring_over_title_and_text(desk: Desk) -> None:
    fee = _snippet(desk, desk.world.manager_id, "all", "话费查询", "您可以发送短信 CXHF 到 10010 查询话费")
    _snippet(desk, desk.world.manager_id, "all", "宽带报修", "请提供宽带账号")
    manager = desk.who(desk.world.manager_id)
    with desk.session() as s:
        assert [x.id for x in snippets_for(s, manager, "话费")] == [fee]
        assert [x.id for x in snippets_for(s, manager, "10010")] == [fee]
        assert snippets_for(s, manager, "100%") == []  # a literal, not a LIKE pattern


def test_a_partner_supervisor_manages_only_its_company_s_snippets(desk: Desk) -> None:
    everyone = _snippet(desk, desk.world.manager_id, "all", "问候")
    with pytest.raises(Forbidden):  # "everyone" needs scope ALL
        _snippet(desk, desk.psup, "all")
    with pytest.raises(NotVisible):  # another company's team: as if it did not exist
        _snippet(desk, desk.psup, f"team:{desk.billing_team}")
    with pytest.raises(Forbidden):  # reads the global one, may not change it
        desk.do(
            desk.psup,
            do_update_snippet,
            everyone,
            title="改",
            body="改",
            audience=f"org:{desk.world.partner_org_id}",
        )
    with pytest.raises(Forbidden):  # operators do not manage snippets
        _snippet(desk, desk.world.partner_id, f"org:{desk.world.partner_org_id}")
    own = _snippet(desk, desk.psup, f"org:{desk.world.partner_org_id}")
    with pytest.raises(NotVisible):
        desk.do(desk.world.other_partner_id, do_delete_snippet, own)
    desk.do(
        desk.psup,
        do_update_snippet,
        own,
        title="话费查询（上海）",
        body="{客户名称}您好",
        audience=f"org:{desk.world.partner_org_id}",
    )
    desk.do(desk.psup, do_delete_snippet, own)
    with desk.session() as s:
        assert s.get(Snippet, own) is None
        actions = [
            e.action
            for e in s.scalars(
                select(AuditEvent).where(
                    AuditEvent.object_type == "snippet", AuditEvent.object_id == str(own)
                )
            )
        ]
    assert actions == ["snippet.created", "snippet.updated", "snippet.deleted"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"title": ""}, "field_required"),
        ({"body": " "}, "field_required"),
        ({"title": "长" * 61}, "too_long"),
        ({"body": "长" * 1001}, "too_long"),
        ({"audience": "everybody"}, "invalid_choice"),
    ],
)
def test_bad_snippets_are_refused(desk: Desk, fields: dict[str, str], code: str) -> None:
    values = {"title": "标题", "body": "内容", "audience": "all", **fields}
    with pytest.raises(ActionError) as refused:
        desk.do(desk.world.manager_id, do_create_snippet, **values)
    assert refused.value.code == code


def test_announcements_reach_their_audience_and_remember_who_read_them(desk: Desk) -> None:
    everyone = desk.do(
        desk.world.manager_id, do_post_announcement, title="系统升级", body="今晚 22 点", audience="all"
    ).id
    partner = desk.do(
        desk.psup,
        do_post_announcement,
        title="外包例会",
        body="",
        audience=f"org:{desk.world.partner_org_id}",
    ).id
    team = desk.do(
        desk.world.manager_id,
        do_post_announcement,
        title="退费口径",
        body="",
        audience=f"team:{desk.billing_team}",
    ).id
    seen = {}
    for user_id in (desk.world.operator_id, desk.billing, desk.world.partner_id, desk.world.other_partner_id):
        who = desk.who(user_id)
        with desk.session() as s:
            seen[user_id] = [(a.id, a.read) for a in announcements_for(s, who)]
    assert seen == {
        desk.world.operator_id: [(everyone, False)],
        desk.billing: [(team, False), (everyone, False)],
        desk.world.partner_id: [(partner, False), (everyone, False)],
        desk.world.other_partner_id: [(everyone, False)],
    }
    desk.do(desk.world.partner_id, do_mark_announcement_read, partner)
    desk.do(desk.world.partner_id, do_mark_announcement_read, partner)  # twice is once
    lina = desk.who(desk.world.partner_id)
    with desk.session() as s:
        assert [(a.id, a.read) for a in announcements_for(s, lina)] == [(partner, True), (everyone, False)]
        reads = s.scalars(select(AnnouncementRead).where(AnnouncementRead.user_id == desk.world.partner_id))
        assert len(list(reads)) == 1
        authors = {(r.announcement_id, r.user_id) for r in s.scalars(select(AnnouncementRead))}
        assert {(everyone, desk.world.manager_id), (partner, desk.psup)} <= authors  # one's own: read
    with pytest.raises(NotVisible):  # addressed to another company: as if it did not exist
        desk.do(desk.world.other_partner_id, do_mark_announcement_read, partner)


def test_writing_announcements_is_for_supervisors_within_their_scope(desk: Desk) -> None:
    with pytest.raises(Forbidden):
        desk.do(desk.world.operator_id, do_post_announcement, title="x", body="", audience="all")
    with pytest.raises(Forbidden):
        desk.do(desk.psup, do_post_announcement, title="x", body="", audience="all")
    with pytest.raises(NotVisible):
        desk.do(
            desk.psup, do_post_announcement, title="x", body="", audience=f"org:{desk.world.inhouse_org_id}"
        )
    with pytest.raises(ActionError) as empty:
        desk.do(desk.world.manager_id, do_post_announcement, title=" ", body="", audience="all")
    assert empty.value.code == "field_required"
    posted = desk.do(desk.world.manager_id, do_post_announcement, title="公告", body="", audience="all").id
    with pytest.raises(Forbidden):  # a partner supervisor reads the global one, may not remove it
        desk.do(desk.psup, do_remove_announcement, posted)
    with pytest.raises(NotVisible):
        desk.do(desk.psup, do_remove_announcement, 999999)
    desk.do(desk.world.manager_id, do_remove_announcement, posted)
    with desk.session() as s:
        assert [
            e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.object_type == "announcement"))
        ] == [
            "announcement.posted",
            "announcement.removed",
        ]


def test_audience_choices_follow_the_scope(desk: Desk) -> None:
    manager, psup, operator = (
        desk.who(desk.world.manager_id),
        desk.who(desk.psup),
        desk.who(desk.world.operator_id),
    )
    with desk.session() as s:
        assert audience_choices(s, operator, "announcement.manage") == []
        mine = {c.value for c in audience_choices(s, psup, "announcement.manage")}
        everything = {c.value for c in audience_choices(s, manager, "announcement.manage")}
    assert mine == {f"org:{desk.world.partner_org_id}"}
    assert {"all", f"org:{desk.world.inhouse_org_id}", f"team:{desk.billing_team}"} <= everything
