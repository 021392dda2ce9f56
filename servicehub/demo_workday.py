"""Demo data for the operator's day: two hand-over teams, snippets, announcements, and a few
work orders and sales leads in various states around real (simulated) conversations.

Called once from ``demo.seed_demo`` after the accounts are connected. Idempotent: teams,
snippets and announcements are found by name on a second start; the conversations, work
orders and leads are made only when the database has no work order yet. Everything is made
through the same actions the workbench uses (as the demo people), so the audit log and the
notifications read as if people had done it. The conversations are posted to the platform
simulator and taken in by one synchronous poll, so the requests behind the orders are real
ones an operator can answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from servicehub.core.db import utcnow
from servicehub.core.models import (
    Account,
    Announcement,
    Message,
    Organization,
    PollCursor,
    ServiceRequest,
    Snippet,
    Team,
    User,
    WorkOrder,
    WorkOrderStep,
)
from servicehub.core.permissions import Principal, principal_for
from servicehub.core.runtime import Runtime
from servicehub.leads.actions import do_change_owner, do_create_lead, do_move_stage
from servicehub.listener.poller import poll_cursor
from servicehub.routing.notes import do_add_note
from servicehub.workday.announcements import do_post_announcement
from servicehub.workday.snippets import do_create_snippet
from servicehub.workorders.actions import (
    do_accept,
    do_add_progress,
    do_open_work_order,
    do_return_with_result,
)

log = logging.getLogger(__name__)

# team -> (organization, members)
TEAMS = {
    "计费核查组": ("总部客服中心", ("chenjing",)),
    "宽带装维组": ("总部客服中心", ("wangqiang",)),
}

SNIPPETS = (  # (title, text, audience: None everyone / "org:<name>" / "team:<name>", author)
    (
        "问候与致歉",
        "{客户名称}您好，非常抱歉给您带来不便，我们已收到您的反馈，正在为您加急处理。",
        None,
        "manager",
    ),
    (
        "话费查询",
        "{客户名称}您好，您可以发送短信 CXHF 到 10010 查询当月话费，或在中国联通 App 的“账单”里查看明细。",
        None,
        "manager",
    ),
    (
        "宽带报修",
        "{客户名称}您好，请私信提供宽带账号和装机地址，{账号名称}会为您预约工程师上门检修。",
        None,
        "manager",
    ),
    (
        "5G 套餐介绍",
        "{客户名称}您好，5G 畅爽套餐 129 元/月起，含 30GB 通用流量和 500 分钟通话，"
        "可私信{账号名称}了解办理方式。",
        None,
        "manager",
    ),
    ("营业时间", "{客户名称}您好，营业厅每天 9:00–18:00 营业，节假日照常。", None, "manager"),
    (
        "退费说明",
        "{客户名称}您好，经核查确有多扣费用，将在 3 个工作日内原路退回，请留意到账短信。",
        "team:计费核查组",
        "manager",
    ),
    (
        "上海网点查询",
        "{客户名称}您好，上海地区营业厅可在中国联通 App“附近网点”查询，就近办理。",
        "org:华信外包服务有限公司",
        "sunli",
    ),
)

ANNOUNCEMENTS = (  # (title, text, audience, author)
    (
        "本周六晚系统升级",
        "本周六 22:00–23:00 系统升级，期间回复可能延迟，请提前处理紧急请求。",
        None,
        "manager",
    ),
    (
        "外包团队月度考核口径",
        "本月起首次响应超过 30 分钟计入超时，请各位留意工作台上的超时提醒。",
        "org:华信外包服务有限公司",
        "manager",
    ),
    ("退费口径更新", "重复扣费一律先退后查，退费结果写进工单的处理结果里。", "team:计费核查组", "manager"),
    ("周五下午例会", "周五 14:00 线上例会，复盘本周投诉较多的问题。", "org:华信外包服务有限公司", "sunli"),
)


@dataclass(frozen=True)
class Conversation:
    key: str
    account_uid: str
    screen_name: str
    text: str


CONVERSATIONS = (
    Conversation(
        "billing",
        "1902538057",
        "王先生的小号",
        "上个月话费莫名其妙多扣了58元，查了详单也看不懂，麻烦核查一下",
    ),
    Conversation(
        "broadband", "1902538057", "小区住户老刘", "家里宽带从昨晚开始断网，光猫红灯一直闪，什么时候能修好？"
    ),
    Conversation(
        "upgrade", "1902538057", "想换5G的阿杰", "现在的4G套餐流量不够用，想升级5G套餐，有什么推荐？"
    ),
    Conversation(
        "shanghai", "1902538058", "上海的林女士", "上海浦东这边装宽带要多久？月初申请的还没人联系我"
    ),
)


def seed_workday(runtime: Runtime, simulator: Any) -> None:
    """Teams, snippets and announcements; on a fresh database also orders and leads."""
    with runtime.sessions.begin() as session:
        teams = _teams(session)
    _snippets_and_announcements(runtime, teams)
    with runtime.sessions() as session:
        if session.scalars(select(WorkOrder.id)).first() is not None:
            return
    requests = _conversations(runtime, simulator)
    if len(requests) == len(CONVERSATIONS):
        _orders_and_leads(runtime, requests, teams)
    else:
        log.warning("demo: only %d of the demo conversations arrived; no demo work orders", len(requests))


def _teams(session: Session) -> dict[str, int]:
    found = {}
    for name, (org_name, members) in TEAMS.items():
        org = session.scalars(select(Organization).where(Organization.name == org_name)).one()
        team = session.scalars(select(Team).where(Team.name == name, Team.org_id == org.id)).first()
        if team is None:
            team = Team(name=name, org_id=org.id)
            session.add(team)
            session.flush()
        for user in session.scalars(select(User).where(User.username.in_(members))):
            if team not in user.teams:
                user.teams.append(team)
        found[name] = team.id
    return found


def _people(session: Session) -> dict[str, Principal]:
    return {u.username: principal_for(u) for u in session.scalars(select(User))}


def _audience(session: Session, spec: str | None, teams: dict[str, int]) -> str:
    if spec is None:
        return "all"
    kind, _, name = spec.partition(":")
    if kind == "team":
        return f"team:{teams[name]}"
    org = session.scalars(select(Organization).where(Organization.name == name)).one()
    return f"org:{org.id}"


def _snippets_and_announcements(runtime: Runtime, teams: dict[str, int]) -> None:
    with runtime.sessions.begin() as session:
        people = _people(session)
        have = set(session.scalars(select(Snippet.title)))
        for title, body, audience, author in SNIPPETS:
            if title not in have and author in people:
                target = _audience(session, audience, teams)
                do_create_snippet(session, people[author], title=title, body=body, audience=target)
        posted = set(session.scalars(select(Announcement.title)))
        for title, body, audience, author in ANNOUNCEMENTS:
            if title not in posted and author in people:
                target = _audience(session, audience, teams)
                do_post_announcement(session, people[author], title=title, body=body, audience=target)


def _conversations(runtime: Runtime, simulator: Any) -> dict[str, int]:
    """Post the demo conversations to the simulator, take them in now; request id per key."""
    for c in CONVERSATIONS:
        simulator.call(
            "POST", "/_sim/mentions", account_uid=c.account_uid, text=c.text, screen_name=c.screen_name
        )
    with runtime.sessions() as session:
        cursors = list(
            session.scalars(
                select(PollCursor.id)
                .join(Account, Account.id == PollCursor.account_id)
                .where(Account.platform == "weibo", PollCursor.source == "mentions")
            )
        )
    for cursor_id in cursors:
        outcome = poll_cursor(runtime, cursor_id)
        if outcome.error:
            log.warning("demo: polling for the demo conversations: %s", outcome.error)
    found = {}
    with runtime.sessions() as session:
        for c in CONVERSATIONS:
            request_id = session.scalar(
                select(Message.request_id)  # the platform puts "@account " before the text
                .where(Message.text.endswith(c.text, autoescape=True), Message.request_id.is_not(None))
                .order_by(Message.id.desc())
                .limit(1)
            )
            if request_id is not None:
                found[c.key] = int(request_id)
    return found


def _orders_and_leads(runtime: Runtime, requests: dict[str, int], teams: dict[str, int]) -> None:
    now = utcnow()
    with runtime.sessions.begin() as session:
        people = _people(session)
        assignees = {
            key: session.scalar(select(ServiceRequest.assignee_id).where(ServiceRequest.id == rid))
            for key, rid in requests.items()
        }
        names = {p.user_id: name for name, p in people.items()}

        def owner(key: str, fallback: str) -> Principal:
            return people[names.get(assignees[key] or 0, fallback)]

        billing_side = owner("billing", "zhangwei")
        billing = do_open_work_order(
            session,
            runtime,
            billing_side,
            requests["billing"],
            kind="billing",
            description="客户称上月话费多扣 58 元，详单看不懂，请核查是否重复扣费并告知结果。",
            target=f"team:{teams['计费核查组']}",
            due_at=now + timedelta(hours=20),
        )
        do_accept(session, runtime, people["chenjing"], billing.id)
        do_add_progress(
            session,
            runtime,
            people["chenjing"],
            billing.id,
            "已调取 11 月计费详单，疑似流量包重复订购，正在核实。",
        )

        broadband_side = owner("broadband", "liuyang")
        broadband = do_open_work_order(
            session,
            runtime,
            broadband_side,
            requests["broadband"],
            kind="broadband",
            description="宽带断网，光猫 LOS 红灯闪烁，请安排工程师上门。",
            target=f"team:{teams['宽带装维组']}",
            due_at=now + timedelta(hours=8),
        )
        do_accept(session, runtime, people["wangqiang"], broadband.id)
        do_return_with_result(
            session,
            runtime,
            people["wangqiang"],
            broadband.id,
            "已上门更换分光器尾纤，线路恢复，光猫指示灯正常。",
        )

        shanghai = do_open_work_order(
            session,
            runtime,
            people["lina"],
            requests["shanghai"],
            kind="broadband",
            description="上海浦东新装宽带月初申请，至今无人联系，请装维组确认工单进度。",
            target=f"team:{teams['宽带装维组']}",
            due_at=now + timedelta(hours=4),
        )
        session.flush()
        # An order opened yesterday that is now past due: what supervisors' overdue lists show.
        session.execute(
            update(WorkOrder)
            .where(WorkOrder.id == shanghai.id)
            .values(created_at=now - timedelta(days=1), due_at=now - timedelta(hours=2))
        )
        session.execute(
            update(WorkOrderStep)
            .where(WorkOrderStep.work_order_id == shanghai.id)
            .values(at=now - timedelta(days=1))
        )

        upgrade_side = owner("upgrade", "zhangwei")
        lead = do_create_lead(
            session,
            runtime,
            upgrade_side,
            request_id=requests["upgrade"],
            product="5G 套餐升级",
            value=129,
            notes="客户 4G 流量不够用，对 129 元 5G 套餐有兴趣，晚上方便沟通。",
        )
        do_move_stage(
            session, runtime, upgrade_side, lead.id, "intentional", "已发套餐介绍，客户说周末去营业厅"
        )
        won = do_create_lead(
            session, runtime, billing_side, request_id=requests["billing"], product="家庭融合套餐", value=199
        )
        do_move_stage(session, runtime, billing_side, won.id, "intentional")
        do_move_stage(session, runtime, billing_side, won.id, "won", "客户已在 App 办理")
        if billing_side.username != "liuyang":
            do_change_owner(session, runtime, billing_side, won.id, people["liuyang"].user_id)
        do_create_lead(
            session, runtime, people["lina"], request_id=requests["shanghai"], product="宽带提速", value=50
        )
        note_author = owner("billing", "zhangwei")
        colleague = "刘洋" if note_author.username != "liuyang" else "张伟"
        do_add_note(
            session,
            runtime,
            note_author,
            requests["billing"],
            f"@{colleague} 这个客户上个月也反映过扣费，已转计费核查组，结果回来前先安抚一下。",
        )
