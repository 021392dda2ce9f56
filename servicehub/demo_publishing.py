"""Demo data for publishing: contact lists, and publications in each state a user meets.

Called from ``demo.seed_demo`` once the simulated accounts are connected. Everything goes
through the actions the workbench uses, as the demo people: a service notice the manager
published on both Weibo accounts (the simulator makes it draw reposts, comments and likes
within a minute, which tracking follows), a promotion the operator scheduled for tomorrow,
and a post by the partner operator waiting for her supervisor's approval. Idempotent: a
publication's submit key is fixed, so a second start finds it instead of adding another.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from servicehub.core.errors import ActionError
from servicehub.core.models import Account, Category, ContactList, User
from servicehub.core.permissions import principal_for
from servicehub.core.runtime import Runtime
from servicehub.publishing.audiences import ListRule, do_save_list
from servicehub.publishing.compose import Draft, TargetSpec
from servicehub.publishing.publications import do_submit

log = logging.getLogger(__name__)

LINK = "https://www.10010.com"
# (name, author, rule)
LISTS = (
    ("VIP客户", "manager", ListRule(min_tier=1)),
    ("宽带用户", "zhangwei", ListRule(tags=("宽带",))),
)


def seed_publishing(runtime: Runtime) -> None:
    """Contact lists and three publications (published, scheduled, waiting for approval)."""
    with runtime.sessions() as session:
        users = {u.username: u for u in session.scalars(select(User))}
        accounts = {
            a.display_name: a.id
            for a in session.scalars(select(Account))  # the demo names its accounts
        }
        have = set(session.scalars(select(ContactList.name)))
        for name, author, rule in LISTS:
            if name not in have and author in users:
                do_save_list(session, principal_for(users[author]), name=name, rule=rule)
        session.commit()
    hq, partner = accounts.get("中国联通客服"), accounts.get("联通上海")
    if hq is None or partner is None or not {"manager", "zhangwei", "lina"} <= set(users):
        return
    zone = ZoneInfo(runtime.settings.analytics.timezone)
    tomorrow = datetime.combine(datetime.now(zone).date() + timedelta(days=1), time(10, 0), tzinfo=zone)
    plans = (
        (
            "manager",
            "demo-notice",
            Draft(
                text=f"【服务公告】本周六凌晨 2:00-5:00 系统升级，期间话费查询暂停，敬请谅解。{LINK}/notice",
                category=Category.SERVICE_NOTICE,
                targets=(TargetSpec(hq, as_post=True), TargetSpec(partner, as_post=True)),
            ),
        ),
        (
            "zhangwei",
            "demo-promotion",
            Draft(
                text=f"【限时优惠】5G 畅爽套餐新用户首月 5 折，明早 10 点开抢 {LINK}/5g",
                category=Category.PROMOTION,
                targets=(TargetSpec(hq, as_post=True),),
                scheduled_at=tomorrow,
            ),
        ),
        (
            "lina",
            "demo-partner",
            Draft(
                text=f"【上海地区】本周宽带免费上门检测，预约请私信 {LINK}/sh",
                category=Category.SERVICE_NOTICE,
                targets=(TargetSpec(partner, as_post=True),),
            ),
        ),
    )
    for author, nonce, draft in plans:
        with runtime.sessions() as session:
            try:
                do_submit(session, runtime, principal_for(users[author]), draft, nonce=nonce)
                session.commit()
            except ActionError as exc:  # e.g. settings without the app's safe domain
                log.warning("demo publication %s not made: %s", nonce, exc)
