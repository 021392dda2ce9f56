"""Building blocks for tests: organizations, users with default roles, accounts, inbound items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from servicehub.accounts.registration import register_account, register_with_credentials
from servicehub.adapters.base import InboundItem, ItemKind, PlatformUser, ReplyTarget
from servicehub.core.models import Account, Organization, OrgKind, User
from servicehub.core.permissions import Principal, principal_for
from servicehub.core.roles import ensure_default_roles
from servicehub.core.runtime import Runtime
from servicehub.core.users import create_user, ensure_org

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class World:
    admin_id: int
    manager_id: int
    operator_id: int
    operator2_id: int
    partner_id: int
    other_partner_id: int
    inhouse_account_id: int
    partner_account_id: int
    inhouse_org_id: int
    partner_org_id: int


def principal_of(session: Session, user_id: int) -> Principal:
    """The principal of a seeded user, as the workbench would build it for their requests."""
    user = session.get(User, user_id)
    assert user is not None
    return principal_for(user)


def add_wechat_account(
    session: Session,
    runtime: Runtime,
    *,
    org: Organization,
    original_id: str,
    appid: str,
    secret: str,
    push_token: str,
    aes_key: str = "",
    display_name: str = "联通微信客服",
    operator_ids: tuple[int, ...] = (),
) -> Account:
    """A WeChat official account as its credential form would add it (no permission check)."""
    values = {
        "display_name": display_name,
        "original_id": original_id,
        "appid": appid,
        "secret": secret,
        "push_token": push_token,
        "aes_key": aes_key,
    }
    return register_with_credentials(
        session, runtime, platform="wechat", values=values, org=org, operator_ids=operator_ids
    )


def build_world(
    runtime: Runtime, *, account_uid: str = "1902538057", partner_uid: str = "1902538058"
) -> World:
    """Two orgs, the default roles, two accounts (in-house and partner-operated) with operators."""
    with runtime.sessions.begin() as s:
        ensure_default_roles(s)
        hq = ensure_org(s, "总部客服中心")
        partner = ensure_org(s, "华信外包", OrgKind.PARTNER)
        other = ensure_org(s, "另一家外包", OrgKind.PARTNER)
        admin = create_user(s, "admin", PASSWORD, org=hq, roles=["administrator"], display_name="管理员")
        manager = create_user(s, "manager", PASSWORD, org=hq, roles=["manager"], display_name="王主管")
        op1 = create_user(s, "zhangwei", PASSWORD, org=hq, roles=["operator"], display_name="张伟")
        op2 = create_user(s, "liuyang", PASSWORD, org=hq, roles=["operator"], display_name="刘洋")
        partner_op = create_user(
            s, "lina", PASSWORD, org=partner, roles=["partner_operator"], display_name="李娜"
        )
        other_op = create_user(
            s, "zhaolei", PASSWORD, org=other, roles=["partner_operator"], display_name="赵磊"
        )
        inhouse = register_account(
            s,
            runtime,
            platform="weibo",
            platform_uid=account_uid,
            display_name="中国联通客服",
            access_token="2.00test-token-inhouse",
            expires_at=None,
            org=hq,
            operator_ids=(op1.id, op2.id),
        )
        partner_acct = register_account(
            s,
            runtime,
            platform="weibo",
            platform_uid=partner_uid,
            display_name="联通上海",
            access_token="2.00test-token-partner",
            expires_at=None,
            org=partner,
            operator_ids=(partner_op.id,),
        )
        return World(
            admin_id=admin.id,
            manager_id=manager.id,
            operator_id=op1.id,
            operator2_id=op2.id,
            partner_id=partner_op.id,
            other_partner_id=other_op.id,
            inhouse_account_id=inhouse.id,
            partner_account_id=partner_acct.id,
            inhouse_org_id=hq.id,
            partner_org_id=partner.id,
        )


def mention(
    platform_id: str,
    text: str,
    *,
    author_uid: str = "2489518277",
    name: str = "小明",
    account_uid: str = "1902538057",
    when: datetime | None = None,
) -> InboundItem:
    return InboundItem(
        platform="weibo",
        kind=ItemKind.MENTION,
        platform_id=platform_id,
        account_uid=account_uid,
        author=PlatformUser(platform="weibo", uid=author_uid, screen_name=name, followers_count=10),
        text=text,
        created_at=when or datetime.now(UTC),
        thread_id=platform_id,
        reply_target=ReplyTarget(kind="comment_status", status_id=platform_id),
    )
