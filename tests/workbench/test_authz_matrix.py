"""Every workbench route and API endpoint, called as every default role (and as a partner of
another company): allowed, denied (403, audited), or not visible (404, same as missing) --
and lists, counts and workload boards never show a row outside the caller's scope."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.routing import Route
from starlette.testclient import TestClient

from servicehub.core.db import utcnow
from servicehub.core.models import (
    AuditEvent,
    Category,
    CustomerIdentity,
    DeliveryState,
    ListeningTask,
    Message,
    OutboundMessage,
    RoutingRule,
    ServiceRequest,
    Team,
    User,
)
from servicehub.core.runtime import Runtime
from servicehub.core.users import create_user
from servicehub.leads.actions import do_create_lead
from servicehub.publishing import images
from servicehub.publishing.audiences import ListRule, do_save_list
from servicehub.publishing.compose import Draft, TargetSpec
from servicehub.publishing.publications import do_submit
from servicehub.workbench.app import create_app
from servicehub.workday.announcements import do_post_announcement
from servicehub.workday.snippets import do_create_snippet
from servicehub.workorders.actions import do_open_work_order
from tests import fakes
from tests.factories import PASSWORD, World, build_world, principal_of
from tests.workbench.conftest import csrf_of, hear, login

ROLES = ("anon", "admin", "manager", "zhangwei", "lina", "psup", "zhaolei")
OK, LOGIN, DENY, HIDE = "ok", "login", 403, 404
SECRET_INHOUSE = "宽带断网三天了没人管"
SECRET_PARTNER = "上海这边信号差到极点"


@dataclass(frozen=True)
class Ids:
    mine: int  # a request on the in-house account
    theirs: int  # a request on the partner-operated account
    victim: int  # a user admin pages may edit
    team: int
    rule: int
    task: int
    role: int
    inhouse_user: int  # someone whose presence only in-house / all-scope managers may set
    account: int  # the in-house account
    order_in: int  # a work order on ``mine`` sent to 刘洋 (in-house only)
    order_out: int  # a work order on ``mine`` sent to the partner company
    lead: int  # 张伟's sales lead on ``mine``
    snippet: int  # a snippet for the in-house company
    ann: int  # an announcement for the in-house company
    customer: int  # the customer of ``mine``
    cmine: int = 0  # the customer of ``mine``, and its one identity
    ident_mine: int = 0
    ctheirs: int = 0  # the customer of ``theirs``, and its one identity
    ident_theirs: int = 0
    mine_message: int = 0  # the customer message of ``mine``, with a photo attached
    oauth: str = "weibo"  # a platform connected through OAuth
    app: str = "wechat"  # a platform connected by app credentials
    board: str = "trends"  # an analytics dashboard
    pub_mine: int = 0  # 张伟's publication on the in-house account, scheduled for tomorrow
    pub_theirs: int = 0  # 李娜's publication on the partner account, waiting for approval
    pub_sent: int = 0  # 张伟's post on the in-house account, sent (through the fake)
    out_sent: int = 0  # its one delivery
    list_mine: int = 0  # 张伟's contact list (the in-house company's)
    picture: str = ""  # a stored publication picture (named by its content hash)
    list_theirs: int = 0  # 李娜's contact list (the partner company's)


def expect(anon: str | int, **by_role: str | int) -> dict[str, str | int]:
    """Expected outcome per role; roles not named get ``default`` (or OK)."""
    default = by_role.pop("default", OK)
    table = dict.fromkeys(ROLES, default)
    table["anon"] = anon
    table.update(by_role)
    return table


Outcomes = dict[str, str | int]
ADMIN_ONLY: Outcomes = {"default": DENY, "admin": OK}
IN_HOUSE_ONLY: Outcomes = {"lina": HIDE, "psup": HIDE, "zhaolei": HIDE}
SUPERVISORS: Outcomes = {"default": DENY, "admin": OK, "manager": OK}  # in-house supervisors: scope ALL
# A work order sent to the partner company: the partner is its receiving side.
RECEIVER_OUT: Outcomes = {"zhangwei": DENY, "zhaolei": HIDE}
ORIGIN_OUT: Outcomes = {"lina": DENY, "psup": DENY, "zhaolei": HIDE}
REQ_MINE: Outcomes = {"lina": HIDE, "psup": HIDE, "zhaolei": HIDE}
REQ_THEIRS: Outcomes = {"zhangwei": HIDE, "zhaolei": HIDE}
# Phone / CRM / SMS / e-mail / identities: operators on their own accounts; managers read but
# may not; partners see their requests but do none of it (by default).
CONTACT_MINE: Outcomes = {"manager": DENY, **REQ_MINE}
CONTACT_THEIRS: Outcomes = {"manager": DENY, "lina": DENY, "psup": DENY, **REQ_THEIRS}

# (method, path, body, expectations). Bodies pass authorization but may fail validation (422 is "allowed").
MATRIX: list[tuple[str, str, dict[str, object] | None, dict[str, str | int]]] = [
    ("GET", "/", None, expect(LOGIN)),
    ("GET", "/accounts", None, expect(LOGIN)),
    ("GET", "/audit", None, expect(LOGIN, default=DENY, admin=OK, manager=OK)),
    ("GET", "/workload", None, expect(LOGIN)),
    ("GET", "/requests/{mine}", None, expect(LOGIN, **REQ_MINE)),
    ("GET", "/requests/{theirs}", None, expect(LOGIN, **REQ_THEIRS)),
    ("GET", "/requests/999999", None, expect(LOGIN, default=HIDE)),
    ("POST", "/requests/{mine}/reply", {"text": ""}, expect(LOGIN, manager=DENY, **REQ_MINE)),
    ("POST", "/requests/{theirs}/reply", {"text": ""}, expect(LOGIN, manager=DENY, **REQ_THEIRS)),
    (
        "POST",
        "/requests/{mine}/assign",
        {"user_id": "auto"},
        expect(LOGIN, default=DENY, admin=OK, manager=OK, psup=HIDE),
    ),
    (
        "POST",
        "/requests/{theirs}/assign",
        {"user_id": "auto"},
        expect(LOGIN, default=DENY, admin=OK, manager=OK, psup=OK),
    ),
    ("POST", "/presence", {"presence": "on_duty", "back": "/workload"}, expect(LOGIN)),
    (
        "POST",
        "/presence",
        {"presence": "on_duty", "user_id": "{inhouse_user}", "back": "/workload"},
        expect(LOGIN, default=DENY, admin=OK, manager=OK, psup=HIDE),
    ),
    ("GET", "/api/requests", None, expect(401)),
    ("GET", "/api/requests/{mine}", None, expect(401, **REQ_MINE)),
    ("GET", "/api/requests/{theirs}", None, expect(401, **REQ_THEIRS)),
    ("GET", "/api/requests/{mine}/assignments", None, expect(401, **REQ_MINE)),
    ("GET", "/api/requests/{theirs}/assignments", None, expect(401, **REQ_THEIRS)),
    ("POST", "/api/requests/{mine}/reply", {"json": {"text": ""}}, expect(401, manager=DENY, **REQ_MINE)),
    ("POST", "/api/requests/{theirs}/reply", {"json": {"text": ""}}, expect(401, manager=DENY, **REQ_THEIRS)),
    (
        "POST",
        "/api/requests/{mine}/assign",
        {"json": {"auto": True}},
        expect(401, default=DENY, admin=OK, manager=OK, psup=HIDE),
    ),
    (
        "POST",
        "/api/requests/{theirs}/assign",
        {"json": {"auto": True}},
        expect(401, default=DENY, admin=OK, manager=OK, psup=OK),
    ),
    ("GET", "/admin", None, expect(LOGIN, **ADMIN_ONLY)),
    ("GET", "/admin/orgs", None, expect(LOGIN, **ADMIN_ONLY)),
    ("POST", "/admin/orgs", {"name": ""}, expect(LOGIN, **ADMIN_ONLY)),
    ("GET", "/admin/users", None, expect(LOGIN, **ADMIN_ONLY)),
    ("POST", "/admin/users", {"username": "", "org_id": "1"}, expect(LOGIN, **ADMIN_ONLY)),
    (
        "POST",
        "/admin/users/{victim}",
        {"display_name": "改名", "capacity": "5", "is_active": "on"},
        expect(LOGIN, **ADMIN_ONLY),
    ),
    ("GET", "/admin/teams", None, expect(LOGIN, **ADMIN_ONLY)),
    ("POST", "/admin/teams", {"name": "", "org_id": "1"}, expect(LOGIN, **ADMIN_ONLY)),
    ("POST", "/admin/teams/{team}/members", {"user_ids": "{victim}"}, expect(LOGIN, **ADMIN_ONLY)),
    ("GET", "/admin/roles", None, expect(LOGIN, **ADMIN_ONLY)),
    ("POST", "/admin/roles", {"name": ""}, expect(LOGIN, **ADMIN_ONLY)),
    ("POST", "/admin/roles/{role}/grants", {"function": "nope"}, expect(LOGIN, **ADMIN_ONLY)),
    ("GET", "/admin/routing", None, expect(LOGIN, **ADMIN_ONLY)),
    ("POST", "/admin/routing/policies", {"strategy": "round_robin"}, expect(LOGIN, **ADMIN_ONLY)),
    ("POST", "/admin/routing/rules", {"name": ""}, expect(LOGIN, **ADMIN_ONLY)),
    (
        "POST",
        "/admin/routing/rules/{rule}",
        {"position": "5", "is_active": "on"},
        expect(LOGIN, **ADMIN_ONLY),
    ),
    ("GET", "/admin/listening", None, expect(LOGIN, **ADMIN_ONLY)),
    ("POST", "/admin/listening", {"name": ""}, expect(LOGIN, **ADMIN_ONLY)),
    ("POST", "/admin/listening/{task}", {"name": ""}, expect(LOGIN, **ADMIN_ONLY)),
    ("GET", "/admin/terms", None, expect(LOGIN, **ADMIN_ONLY)),
    ("POST", "/admin/terms", {"terms": ""}, expect(LOGIN, **ADMIN_ONLY)),
    ("POST", "/admin/terms/999999/remove", {}, expect(LOGIN, default=DENY, admin=HIDE)),
    ("POST", "/requests/{mine}/resolve", {}, expect(LOGIN, **REQ_MINE)),
    ("POST", "/requests/{theirs}/resolve", {}, expect(LOGIN, **REQ_THEIRS)),
    ("POST", "/requests/{mine}/replies/999999/retry", {}, expect(LOGIN, default=HIDE)),
    ("POST", "/accounts/{account}/listening", {}, expect(LOGIN, **ADMIN_ONLY)),
    ("GET", "/oauth/{oauth}/start", None, expect(LOGIN, **ADMIN_ONLY)),
    ("GET", "/oauth/{oauth}/callback", None, expect(LOGIN, **ADMIN_ONLY)),
    ("GET", "/oauth/{app}/start", None, expect(LOGIN, default=DENY, admin=HIDE)),
    ("GET", "/review", None, expect(LOGIN, default=DENY, admin=OK, manager=OK, zhangwei=OK)),
    (
        "POST",
        "/review/999999/restore",
        {},
        expect(LOGIN, default=DENY, admin=HIDE, manager=HIDE, zhangwei=HIDE),
    ),
    ("GET", "/customers/999999", None, expect(LOGIN, default=HIDE)),
    ("GET", "/customers/{cmine}", None, expect(LOGIN, **REQ_MINE)),
    ("GET", "/customers/{ctheirs}", None, expect(LOGIN, **REQ_THEIRS)),
    *(
        ("POST", f"/requests/{{{req}}}{path}", body, expect(LOGIN, **table))
        for req, table in (("mine", CONTACT_MINE), ("theirs", CONTACT_THEIRS))
        for path, body in (
            ("/phone", {"phone": ""}),
            ("/crm", {"crm_number": ""}),
            ("/crm/unlink", {}),
            ("/sms", {"template": ""}),
            ("/email", {"subject": ""}),
        )
    ),
    ("POST", "/customers/{cmine}/identities", {"other_id": "{cmine}"}, expect(LOGIN, **CONTACT_MINE)),
    ("POST", "/customers/{ctheirs}/identities", {"other_id": "{ctheirs}"}, expect(LOGIN, **CONTACT_THEIRS)),
    ("POST", "/customers/{cmine}/identities/{ident_mine}/unlink", {}, expect(LOGIN, **CONTACT_MINE)),
    ("POST", "/customers/{ctheirs}/identities/{ident_theirs}/unlink", {}, expect(LOGIN, **CONTACT_THEIRS)),
    ("POST", "/accounts/connect/{app}", {"display_name": ""}, expect(LOGIN, **ADMIN_ONLY)),
    ("POST", "/accounts/connect/{oauth}", {"display_name": ""}, expect(LOGIN, default=DENY, admin=HIDE)),
    # -- the operator's day: home, live rows, notifications, announcements, snippets
    ("GET", "/queue", None, expect(LOGIN)),
    ("GET", "/api/queue/rows", None, expect(401)),
    ("GET", "/notifications", None, expect(LOGIN)),
    ("POST", "/notifications/read", {}, expect(LOGIN)),
    ("GET", "/api/notifications", None, expect(401)),
    ("GET", "/announcements", None, expect(LOGIN)),
    ("POST", "/announcements", {"title": "", "audience": "all"}, expect(LOGIN, **SUPERVISORS)),
    ("POST", "/announcements/{ann}/read", {}, expect(LOGIN, **IN_HOUSE_ONLY)),
    ("POST", "/announcements/{ann}/remove", {}, expect(LOGIN, **SUPERVISORS, psup=HIDE)),
    ("GET", "/snippets", None, expect(LOGIN)),
    ("POST", "/snippets", {"title": "", "body": "", "audience": "all"}, expect(LOGIN, **SUPERVISORS)),
    (
        "POST",
        "/snippets/{snippet}",
        {"title": "", "audience": "all"},
        expect(LOGIN, **SUPERVISORS, psup=HIDE),
    ),
    ("POST", "/snippets/{snippet}/delete", {}, expect(LOGIN, **SUPERVISORS, psup=HIDE)),
    # -- beside a request: notes, who is viewing, the customer's tier
    ("GET", "/requests/{mine}/next", None, expect(LOGIN, **REQ_MINE)),
    ("GET", "/requests/{theirs}/next", None, expect(LOGIN, **REQ_THEIRS)),
    ("POST", "/requests/{mine}/notes", {"note": ""}, expect(LOGIN, **REQ_MINE)),
    ("POST", "/requests/{theirs}/notes", {"note": ""}, expect(LOGIN, **REQ_THEIRS)),
    ("POST", "/api/requests/{mine}/viewing", {"json": {"mode": "viewing"}}, expect(401, **REQ_MINE)),
    ("POST", "/api/requests/{theirs}/viewing", {"json": {"mode": "viewing"}}, expect(401, **REQ_THEIRS)),
    ("POST", "/customers/{customer}/tier", {"tier": "9"}, expect(LOGIN, **SUPERVISORS)),
    # -- work orders (steps in an order that keeps each one meaningful for every role)
    ("GET", "/workorders", None, expect(LOGIN)),
    ("GET", "/workorders/{order_in}", None, expect(LOGIN, **IN_HOUSE_ONLY)),
    ("GET", "/workorders/{order_out}", None, expect(LOGIN, zhaolei=HIDE)),
    ("GET", "/workorders/999999", None, expect(LOGIN, default=HIDE)),
    (
        "POST",
        "/requests/{mine}/workorders",
        {"kind": "billing", "description": ""},
        expect(LOGIN, **REQ_MINE),
    ),
    (
        "POST",
        "/requests/{theirs}/workorders",
        {"kind": "billing", "description": ""},
        expect(LOGIN, **REQ_THEIRS),
    ),
    ("POST", "/workorders/{order_in}/accept", {}, expect(LOGIN, zhangwei=DENY, **IN_HOUSE_ONLY)),
    ("POST", "/workorders/{order_out}/accept", {}, expect(LOGIN, **RECEIVER_OUT)),
    ("POST", "/workorders/{order_out}/send-back", {"note": ""}, expect(LOGIN, **RECEIVER_OUT)),
    ("POST", "/workorders/{order_out}/progress", {"note": ""}, expect(LOGIN, **RECEIVER_OUT)),
    ("POST", "/workorders/{order_out}/return", {"note": ""}, expect(LOGIN, **RECEIVER_OUT)),
    ("POST", "/workorders/{order_in}/send-back", {"note": ""}, expect(LOGIN, zhangwei=DENY, **IN_HOUSE_ONLY)),
    ("POST", "/workorders/{order_out}/reopen", {"note": ""}, expect(LOGIN, **ORIGIN_OUT)),
    ("POST", "/workorders/{order_out}/close", {}, expect(LOGIN, **ORIGIN_OUT)),
    ("POST", "/workorders/{order_in}/close", {}, expect(LOGIN, **IN_HOUSE_ONLY)),
    # -- sales leads (partners see only their own company's)
    ("GET", "/leads", None, expect(LOGIN)),
    ("GET", "/leads/export.csv", None, expect(LOGIN, **SUPERVISORS)),
    ("GET", "/leads/{lead}", None, expect(LOGIN, **IN_HOUSE_ONLY)),
    ("GET", "/leads/999999", None, expect(LOGIN, default=HIDE)),
    ("POST", "/leads/{lead}", {"product": ""}, expect(LOGIN, **IN_HOUSE_ONLY)),
    ("POST", "/leads/{lead}/stage", {"stage": "won"}, expect(LOGIN, **IN_HOUSE_ONLY)),
    ("POST", "/leads/{lead}/owner", {"user_id": "{inhouse_user}"}, expect(LOGIN, **IN_HOUSE_ONLY)),
    ("POST", "/requests/{mine}/leads", {"product": ""}, expect(LOGIN, **REQ_MINE)),
    ("POST", "/requests/{theirs}/leads", {"product": ""}, expect(LOGIN, **REQ_THEIRS)),
    ("POST", "/customers/{customer}/leads", {"product": ""}, expect(LOGIN, **IN_HOUSE_ONLY)),
    ("GET", "/requests/{mine}/messages/{mine_message}/media/0", None, expect(LOGIN, **REQ_MINE)),
    ("GET", "/requests/{theirs}/messages/{mine_message}/media/0", None, expect(LOGIN, default=HIDE)),
    # Analytics: every role holds analytics.view (operators and partners for their own scope);
    # exporting needs the export function, which only administrators and managers hold.
    ("GET", "/analytics", None, expect(LOGIN)),
    ("GET", "/analytics/{board}", None, expect(LOGIN)),
    ("GET", "/analytics/fans", None, expect(LOGIN)),
    ("GET", "/analytics/graph", None, expect(LOGIN)),
    ("GET", "/analytics/trends?period=7d&grain=day", None, expect(LOGIN)),
    ("GET", "/analytics/publishing", None, expect(LOGIN)),
    ("GET", "/analytics/service?period=90d", None, expect(LOGIN)),
    ("GET", "/analytics/nothing-here", None, expect(LOGIN, default=HIDE)),
    ("GET", "/analytics/rows", None, expect(LOGIN)),
    ("GET", "/analytics/rows?dataset=requests&which=open", None, expect(LOGIN)),
    ("GET", "/analytics/rows?dataset=posts", None, expect(LOGIN)),
    ("GET", "/analytics/rows?dataset=followers", None, expect(LOGIN)),
    ("GET", "/analytics/rows?dataset=messages&kept=0", None, expect(LOGIN)),
    ("GET", "/analytics/export", None, expect(LOGIN, default=HIDE)),
    ("GET", "/analytics/export?what={board}", None, expect(LOGIN, default=DENY, admin=OK, manager=OK)),
    (
        "GET",
        "/analytics/export?what=rows&dataset=messages",
        None,
        expect(LOGIN, default=DENY, admin=OK, manager=OK),
    ),
    ("GET", "/healthz", None, expect(OK)),
    ("GET", "/login", None, expect(OK, default="home")),
    ("GET", "/readyz", None, expect(OK)),
    ("GET", "/metrics", None, expect(HIDE, default=HIDE)),  # for configured scrapers only, not roles
    ("GET", "/api/openapi.json", None, expect(OK)),
    ("GET", "/password", None, expect(LOGIN)),
    ("POST", "/password", {"current": "wrong", "new": "x", "repeated": "x"}, expect(LOGIN)),
    ("POST", "/admin/users/{victim}/password", {"password": "short"}, expect(LOGIN, **ADMIN_ONLY)),
    ("POST", "/admin/users/{victim}/unlock", {}, expect(LOGIN, **ADMIN_ONLY)),
    # -- 发布中心: publish on one's own company's accounts (managers: every account); approve as
    # manager or supervisor
    ("GET", "/publish", None, expect(LOGIN)),
    ("GET", "/publish/new", None, expect(LOGIN)),
    ("POST", "/publish/new", {"text": ""}, expect(LOGIN)),
    ("POST", "/api/publish/check", {"json": {}}, expect(401)),
    ("GET", "/publish/pictures/{picture}", None, expect(LOGIN)),
    ("GET", "/publish/{pub_mine}", None, expect(LOGIN, **IN_HOUSE_ONLY)),
    ("GET", "/publish/{pub_theirs}", None, expect(LOGIN, **REQ_THEIRS)),
    ("GET", "/publish/999999", None, expect(LOGIN, default=HIDE)),
    ("GET", "/api/publications/{pub_mine}", None, expect(401, **IN_HOUSE_ONLY)),
    ("GET", "/api/publications/{pub_theirs}", None, expect(401, **REQ_THEIRS)),
    ("GET", "/publish/{pub_mine}/edit", None, expect(LOGIN, **IN_HOUSE_ONLY)),
    ("GET", "/publish/{pub_theirs}/edit", None, expect(LOGIN, **REQ_THEIRS)),
    ("POST", "/publish/{pub_mine}/edit", {"text": ""}, expect(LOGIN, **IN_HOUSE_ONLY)),
    ("POST", "/publish/{pub_theirs}/edit", {"text": ""}, expect(LOGIN, **REQ_THEIRS)),
    (
        "POST",
        "/publish/{pub_mine}/review",
        {"decision": "approve"},  # it is scheduled, not waiting: refused (422) where allowed
        expect(LOGIN, zhangwei=DENY, lina=DENY, zhaolei=DENY, psup=HIDE),
    ),
    (
        "POST",
        "/publish/{pub_theirs}/review",
        {"decision": "reject"},  # no comment: refused (422) where allowed
        expect(LOGIN, zhangwei=DENY, lina=DENY, zhaolei=DENY),
    ),
    (
        "POST",
        "/publish/{pub_sent}/retry/{out_sent}",  # sent: refused (422) where allowed
        {},
        expect(LOGIN, **IN_HOUSE_ONLY),
    ),
    ("POST", "/publish/{pub_mine}/retry/{out_sent}", {}, expect(LOGIN, default=HIDE)),
    ("POST", "/publish/{pub_mine}/cancel", {}, expect(LOGIN, **IN_HOUSE_ONLY)),
    ("POST", "/publish/{pub_theirs}/cancel", {}, expect(LOGIN, **REQ_THEIRS)),
    # contact lists: a company's own
    ("GET", "/publish/lists", None, expect(LOGIN)),
    ("POST", "/publish/lists", {"name": ""}, expect(LOGIN)),
    ("GET", "/publish/lists/{list_mine}", None, expect(LOGIN, **IN_HOUSE_ONLY)),
    ("GET", "/publish/lists/{list_theirs}", None, expect(LOGIN, **REQ_THEIRS)),
    ("GET", "/publish/lists/999999", None, expect(LOGIN, default=HIDE)),
    ("POST", "/publish/lists/{list_mine}", {"name": ""}, expect(LOGIN, **IN_HOUSE_ONLY)),
    ("POST", "/publish/lists/{list_theirs}", {"name": ""}, expect(LOGIN, **REQ_THEIRS)),
    ("POST", "/publish/lists/{list_mine}/import", {}, expect(LOGIN, **IN_HOUSE_ONLY)),
    ("POST", "/publish/lists/{list_theirs}/import", {}, expect(LOGIN, **REQ_THEIRS)),
    (
        "POST",
        "/publish/lists/{list_mine}/members/{cmine}/remove",
        {},
        expect(LOGIN, **IN_HOUSE_ONLY),
    ),
    ("POST", "/publish/lists/{list_mine}/delete", {}, expect(LOGIN, **IN_HOUSE_ONLY)),
    ("POST", "/publish/lists/{list_theirs}/delete", {}, expect(LOGIN, **REQ_THEIRS)),
    # Last: it ends the caller's session (checked after the loop).
    ("POST", "/logout/everywhere", {}, expect(LOGIN, default=LOGIN)),
]
# Checked outside the loop: /login POST and /logout (test_pages), /events (an endless stream:
# only its guard is called here), /push (platform signatures, not roles: tests/listener).
ELSEWHERE = {
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/events"),
    ("GET", "/push/{platform}/{account_id}"),
    ("POST", "/push/{platform}/{account_id}"),
    ("POST", "/callbacks/sms/{provider}"),  # the gateway's signature, not roles: tests/contact
}


@pytest.fixture
def setup(sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> tuple[World, Ids]:
    world = build_world(sqlite_runtime)
    fakes.install(monkeypatch)  # serves the photo below
    mine = hear(sqlite_runtime, world.inhouse_account_id, "4900000000000001", SECRET_INHOUSE)
    theirs = hear(
        sqlite_runtime, world.partner_account_id, "4900000000000002", SECRET_PARTNER, author_uid="9"
    )
    with sqlite_runtime.sessions.begin() as s:
        partner = s.get(User, world.partner_id)
        assert partner is not None
        psup = create_user(
            s, "psup", PASSWORD, org=partner.org, roles=["partner_supervisor"], display_name="孙主管"
        )
        victim = create_user(s, "victim", PASSWORD, org=partner.org, roles=[], display_name="临时工")
        team = Team(name="投诉组", org_id=world.inhouse_org_id)
        s.add(team)
        s.flush()
        task = ListeningTask(name="断网", keywords=["断网"], account_ids=[], user_ids=[], team_id=team.id)
        s.add(task)
        s.flush()
        rule = RoutingRule(name="断网投诉", team_id=team.id, keyword="断网")
        s.add(rule)
        s.flush()
        role_id = s.scalars(select(User).where(User.id == world.admin_id)).one().roles[0].id
        del psup
        base = (mine, theirs, victim.id, team.id, rule.id, task.id, role_id, world.operator2_id)
        customers = {rid: s.get(ServiceRequest, rid).customer_id for rid in (mine, theirs)}  # type: ignore[union-attr]
        identity = {
            c: s.scalars(select(CustomerIdentity.id).where(CustomerIdentity.customer_id == c)).one()
            for c in customers.values()
        }
        contact = (customers[mine], identity[customers[mine]], customers[theirs], identity[customers[theirs]])
        message = s.scalars(select(Message).where(Message.request_id == mine)).one()
        message.attachments = [{"kind": "image", "media_id": "photo-of-a-bill"}]
        contact = (*contact, message.id)
    ids = Ids(*base, world.inhouse_account_id, *_workday_rows(sqlite_runtime, world, mine), *contact)
    return world, dataclasses.replace(ids, **_publishing_rows(sqlite_runtime, world))


def _publishing_rows(runtime: Runtime, world: World) -> dict[str, Any]:
    """Two publications each way and a contact list per company -- made by their actions
    (the sent post goes through the fake adapter installed above)."""

    def post(text: str, account_id: int, at: datetime | None = None) -> Draft:
        return Draft(text, Category.ANNOUNCEMENT, (TargetSpec(account_id, as_post=True),), scheduled_at=at)

    with runtime.sessions() as s:
        zhangwei, lina = principal_of(s, world.operator_id), principal_of(s, world.partner_id)
        tomorrow = utcnow() + timedelta(days=1)
        mine = do_submit(
            s, runtime, zhangwei, post("明日停机维护", world.inhouse_account_id, tomorrow), nonce="m"
        )
        theirs = do_submit(s, runtime, lina, post("上海营业厅通知", world.partner_account_id), nonce="t")
        list_mine = do_save_list(s, zhangwei, name="宽带用户", rule=ListRule(tags=("宽带",)))
        list_theirs = do_save_list(s, lina, name="上海用户", rule=ListRule())
        s.commit()
        found: dict[str, Any] = {"pub_mine": mine.id, "pub_theirs": theirs.id}
        found["picture"] = images.store_upload(runtime, b"GIF89a" + bytes(16))
        found |= {"list_mine": list_mine.id, "list_theirs": list_theirs.id}
    with runtime.sessions() as s:
        sent = do_submit(s, runtime, zhangwei, post("流量包上线", world.inhouse_account_id), nonce="s")
        s.commit()
        found["pub_sent"] = sent.id
    with runtime.sessions() as s:
        out = s.scalars(
            select(OutboundMessage).where(OutboundMessage.publication_id == found["pub_sent"])
        ).one()
        assert out.state == DeliveryState.SENT
        found["out_sent"] = out.id
    return found


def _workday_rows(runtime: Runtime, world: World, mine: int) -> tuple[int, int, int, int, int, int]:
    """A work order each way, a lead, a snippet and an announcement -- made by their actions."""
    with runtime.sessions() as s:
        zhangwei, manager = principal_of(s, world.operator_id), principal_of(s, world.manager_id)
    due = utcnow() + timedelta(days=1)
    with runtime.sessions() as s:
        order_in = do_open_work_order(
            s,
            runtime,
            zhangwei,
            mine,
            kind="billing",
            description="核查",
            target=f"user:{world.operator2_id}",
            due_at=due,
        )
        order_out = do_open_work_order(
            s,
            runtime,
            zhangwei,
            mine,
            kind="broadband",
            description="上门",
            target=f"org:{world.partner_org_id}",
            due_at=due,
        )
        lead = do_create_lead(s, runtime, zhangwei, request_id=mine, product="5G 套餐升级", value=199)
        in_house = f"org:{world.inhouse_org_id}"
        snippet = do_create_snippet(s, manager, title="问候", body="{客户名称}您好", audience=in_house)
        ann = do_post_announcement(s, manager, title="系统升级", body="", audience=in_house)
        customer = s.get(ServiceRequest, mine)
        assert customer is not None
        s.commit()
        return order_in.id, order_out.id, lead.id, snippet.id, ann.id, customer.customer_id


@pytest.fixture
def app_client(sqlite_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_runtime), follow_redirects=False) as c:
        yield c


def _fill(text: str, ids: Ids) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(getattr(ids, m.group(1))), text)


def _missing_twin(text: str) -> str:
    """``text`` with every id placeholder filled with one that exists nowhere."""
    return re.sub(
        r"\{(\w+)\}", lambda m: "999999" if m.group(1) not in ("oauth", "app", "board") else "nowhere", text
    )


def _call(
    client: TestClient, method: str, url: str, body: dict[str, object] | None, fill: Any, token: str
) -> Any:
    if method == "GET":
        return client.get(url)
    if body is not None and "json" in body:
        return client.post(url, json=body["json"], headers={"X-CSRF-Token": token})
    form = {k: fill(str(v)) for k, v in (body or {}).items()}
    return client.post(url, data={**form, "csrf_token": token})


HEADERS_THAT_MATTER = ("content-type", "location", "cache-control")


def _same_as_missing(hidden: Any, missing: Any, hidden_url: str, missing_url: str) -> list[str]:
    """How a hidden row's answer differs from a missing row's (nothing, if scope holds)."""
    problems = []
    if hidden.status_code != missing.status_code:
        problems.append(f"status {hidden.status_code} != {missing.status_code}")
    for name in HEADERS_THAT_MATTER:
        if hidden.headers.get(name) != missing.headers.get(name):
            problems.append(f"header {name}: {hidden.headers.get(name)!r} != {missing.headers.get(name)!r}")
    if hidden.text.replace(hidden_url, "URL") != missing.text.replace(missing_url, "URL"):
        problems.append("the bodies differ")
    return problems


def _outcome(response_status: int, location: str) -> str | int:
    if response_status in (401, 403, 404):
        return response_status
    if response_status == 303 and location.endswith("/login"):
        return LOGIN
    if response_status == 303 and location == "/":
        return "home"
    assert response_status < 500, response_status
    return OK


def _denials(runtime: Runtime) -> int:
    with runtime.sessions() as s:
        return s.scalar(select(func.count()).where(AuditEvent.action == "access.denied")) or 0


@pytest.mark.parametrize("role", ROLES)
def test_every_route_as_every_role(
    role: str, setup: tuple[World, Ids], app_client: TestClient, sqlite_runtime: Runtime
) -> None:
    _, ids = setup
    if role != "anon":
        login(app_client, role)
    token = csrf_of(app_client.get("/login" if role == "anon" else "/").text)
    wrong: list[str] = []
    for method, path, body, table in MATRIX:
        url = _fill(path, ids)
        before = _denials(sqlite_runtime)
        response = _call(app_client, method, url, body, lambda v: _fill(v, ids), token)
        got = _outcome(response.status_code, response.headers.get("location", ""))
        expected = table[role]
        if got != expected:
            wrong.append(f"{method} {path}: expected {expected}, got {got} ({response.status_code})")
        if got == DENY:
            assert _denials(sqlite_runtime) == before + 1, f"{method} {path} denied without an audit event"
        if got == HIDE:  # out of scope must answer exactly like a row that does not exist
            twin = _missing_twin(path)
            missing = _call(app_client, method, twin, body, _missing_twin, token)
            differences = _same_as_missing(response, missing, url, twin)
            if differences:
                wrong.append(f"{method} {path} hidden but unlike a missing one: {'; '.join(differences)}")
    assert wrong == []
    if role == "anon":
        assert app_client.get("/events").status_code == 401
    else:  # "log out everywhere" ended this session: the cookie opens nothing any more
        assert app_client.get("/").headers["location"] == "/login"


def test_the_matrix_covers_every_route(sqlite_runtime: Runtime) -> None:
    app = create_app(sqlite_runtime)
    listed = {(m, re.sub(r"\{(\w+)\}", "{x}", p.partition("?")[0])) for m, p, _, _ in MATRIX}
    listed |= {(m, re.sub(r"\{(\w+)\}", "{x}", p)) for m, p in ELSEWHERE}
    numbered = {(m, re.sub(r"/\d+", "/{x}", p)) for m, p in listed}
    uncovered = []
    for route in app.routes:
        if not isinstance(route, Route):
            continue
        path = re.sub(r"\{(\w+)(:\w+)?\}", "{x}", route.path)
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            if (method, path) not in listed and (method, path) not in numbered:
                uncovered.append(f"{method} {route.path}")
    assert uncovered == [], "add these routes to MATRIX"


# Lists never leak: counts, pages and boards hold only in-scope rows.
VISIBLE = {"admin": 2, "manager": 2, "zhangwei": 1, "lina": 1, "psup": 1, "zhaolei": 0}


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anon"])
def test_lists_and_counts_hold_only_rows_in_scope(
    role: str, setup: tuple[World, Ids], app_client: TestClient
) -> None:
    _, ids = setup
    login(app_client, role)
    api = app_client.get("/api/requests?view=all").json()
    assert api["total"] == len(api["requests"]) == VISIBLE[role]
    seen = {r["id"] for r in api["requests"]}
    inhouse_ok = role in ("admin", "manager", "zhangwei")
    partner_ok = role in ("admin", "manager", "lina", "psup")
    assert (ids.mine in seen, ids.theirs in seen) == (inhouse_ok, partner_ok)
    page = app_client.get("/queue?view=all").text
    assert (SECRET_INHOUSE in page, SECRET_PARTNER in page) == (inhouse_ok, partner_ok)
    assert f"共 {VISIBLE[role]} 条" in page
    accounts = app_client.get("/accounts").text
    assert ("中国联通客服" in accounts, "联通上海" in accounts) == (inhouse_ok, partner_ok)
    board = app_client.get("/workload").text
    names = {
        n for n in ("张伟", "刘洋", "李娜", "赵磊", "孙主管", "王主管") if n in board.split("<tbody>")[-1]
    }
    expected_names = {
        "admin": {"张伟", "刘洋", "李娜", "赵磊", "孙主管", "王主管"},
        "manager": {"张伟", "刘洋", "李娜", "赵磊", "孙主管", "王主管"},
        "zhangwei": {"张伟"},
        "lina": {"李娜"},
        "psup": {"李娜", "孙主管"},
        "zhaolei": {"赵磊"},
    }[role]
    assert names == expected_names


def test_partner_supervisor_picks_only_within_its_company(
    setup: tuple[World, Ids], app_client: TestClient
) -> None:
    world, ids = setup
    login(app_client, "psup")
    page = app_client.get(f"/requests/{ids.theirs}").text
    options = re.findall(r'<option value="(\d+)"', page)
    assert str(world.partner_id) in options and str(world.operator_id) not in options
    token = csrf_of(page)
    denied = app_client.post(
        f"/requests/{ids.theirs}/assign", data={"user_id": str(world.operator_id), "csrf_token": token}
    )
    assert denied.status_code == 404  # an in-house operator is outside the partner supervisor's scope


# Analytics figures and the rows behind them: counted only over rows in the viewer's scope.
MENTIONS_SEEN = {"admin": 2, "manager": 2, "zhangwei": 1, "lina": 1, "psup": 1, "zhaolei": 0}


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anon"])
def test_analytics_figures_count_only_rows_in_scope(
    role: str, setup: tuple[World, Ids], app_client: TestClient, sqlite_runtime: Runtime
) -> None:
    import json

    from servicehub.analytics.rollup import run

    run(sqlite_runtime)
    login(app_client, role)
    html = app_client.get("/analytics/trends?period=7d").text
    found = re.search(
        r'<script type="application/json" id="spec-trends-interactions">(.*?)</script>', html, re.S
    )
    assert found is not None
    spec = json.loads(found.group(1))
    mentions = next(s for s in spec["series"] if s["name"] == "@提及")
    assert sum(mentions["data"]) == MENTIONS_SEEN[role]
    rows = app_client.get("/analytics/rows?dataset=messages&period=7d").text
    inhouse_ok = role in ("admin", "manager", "zhangwei")
    partner_ok = role in ("admin", "manager", "lina", "psup")
    assert (SECRET_INHOUSE in rows, SECRET_PARTNER in rows) == (inhouse_ok, partner_ok)
