"""Registering managed accounts and storing their (encrypted) credentials."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.models import Account, AccountKind, AccountOperator, Health, Organization
from servicehub.core.runtime import Runtime
from servicehub.listener.poller import ensure_cursors


def register_account(
    session: Session,
    runtime: Runtime,
    *,
    platform: str,
    platform_uid: str,
    display_name: str,
    access_token: str,
    expires_at: datetime | None,
    org: Organization,
    kind: AccountKind = AccountKind.OFFICIAL,
    owner_id: int | None = None,
    operator_ids: tuple[int, ...] = (),
    actor_id: int | None = None,
    app: Mapping[str, str] | None = None,
) -> Account:
    """Create (or re-authorize) an account; its pollers start with the next due sweep.

    ``app`` holds the account's own app credentials where the platform has one app per
    account (WeChat: appid, appsecret, push token, EncodingAESKey); they are sealed too.
    """
    account = session.scalars(
        select(Account).where(Account.platform == platform, Account.platform_uid == platform_uid)
    ).first()
    if account is None:
        account = Account(
            platform=platform,
            platform_uid=platform_uid,
            display_name=display_name,
            kind=kind,
            owner_id=owner_id,
            operated_by_org_id=org.id,
            listening={},
        )
        session.add(account)
        session.flush()
        audit.record(session, "account.created", "account", account.id, actor_id=actor_id, platform=platform)
    store_token(session, runtime, account, access_token, expires_at, actor_id=actor_id, app=app)
    for user_id in operator_ids:
        if session.get(AccountOperator, (account.id, user_id)) is None:
            session.add(AccountOperator(account_id=account.id, user_id=user_id))
    ensure_cursors(session, account)
    session.flush()
    return account


def store_token(
    session: Session,
    runtime: Runtime,
    account: Account,
    access_token: str,
    expires_at: datetime | None,
    *,
    actor_id: int | None = None,
    app: Mapping[str, str] | None = None,
) -> None:
    """Seal a new token; an account waiting for re-authorization resumes polling from its cursors."""
    kept = {}
    if app is None and account.credentials is not None:  # a new token keeps the account's app credentials
        kept = {
            k: v
            for k, v in runtime.vault.open(account.credentials).items()
            if k not in ("access_token", "uid")
        }
    sealed = {**kept, **(app or {}), "access_token": access_token, "uid": account.platform_uid}
    account.credentials = runtime.vault.seal(sealed)
    account.token_expires_at = expires_at
    if account.health == Health.NEEDS_REAUTH:
        audit.record(session, "account.reauthorized", "account", account.id, actor_id=actor_id)
    account.health = Health.OK
    account.health_detail = ""


def set_listening(session: Session, account: Account, sources: list[str], *, actor_id: int | None) -> None:
    """Which sources of the account are polled; a source switched off keeps its cursor."""
    from servicehub.adapters.base import Source

    known = {s.value for s in Source}
    unknown = sorted(set(sources) - known)
    if unknown:
        raise ValueError(f"unknown source(s): {', '.join(unknown)}")
    account.listening = {**account.listening, "sources": sorted(set(sources))}
    ensure_cursors(session, account)
    audit.record(
        session, "account.listening_changed", "account", account.id, actor_id=actor_id, sources=sources
    )


def connect_authorized(
    session: Session,
    runtime: Runtime,
    *,
    platform: str,
    platform_uid: str,
    display_name: str,
    access_token: str,
    expires_at: datetime | None,
    org: Organization,
    kind: AccountKind,
    actor_id: int,
) -> tuple[Account, bool]:
    """After an OAuth callback: re-authorize the known account, or add a new one.

    Returns the account and whether it is new. Re-authorizing keeps cursors, so polling
    resumes where it stopped and whatever arrived meanwhile is fetched.
    """
    existing = session.scalars(
        select(Account).where(Account.platform == platform, Account.platform_uid == platform_uid)
    ).first()
    if existing is not None:
        store_token(session, runtime, existing, access_token, expires_at, actor_id=actor_id)
        audit.record(session, "account.token_stored", "account", existing.id, actor_id=actor_id)
        return existing, False
    account = register_account(
        session,
        runtime,
        platform=platform,
        platform_uid=platform_uid,
        display_name=display_name,
        access_token=access_token,
        expires_at=expires_at,
        org=org,
        kind=kind,
        owner_id=actor_id if kind == AccountKind.STAFF_PERSONAL else None,
        operator_ids=(actor_id,) if kind == AccountKind.STAFF_PERSONAL else (),
        actor_id=actor_id,
    )
    return account, True


def register_wechat_account(
    session: Session,
    runtime: Runtime,
    *,
    display_name: str,
    original_id: str,
    appid: str,
    secret: str,
    push_token: str,
    encoding_aes_key: str = "",
    org: Organization,
    operator_ids: tuple[int, ...] = (),
    actor_id: int | None = None,
) -> Account:
    """A WeChat official account: its own appid/appsecret; messages arrive by push only."""
    for label, value in (
        ("原始ID", original_id),
        ("AppID", appid),
        ("AppSecret", secret),
        ("Token", push_token),
    ):
        if not value.strip():
            raise ValueError(f"{label} 不能为空")
    if encoding_aes_key and len(encoding_aes_key) != 43:
        raise ValueError("EncodingAESKey 必须是43个字符")
    app = {"app_key": appid.strip(), "app_secret": secret.strip(), "token": push_token.strip()}
    if encoding_aes_key:
        app["encoding_aes_key"] = encoding_aes_key
    return register_account(
        session,
        runtime,
        platform="wechat",
        platform_uid=original_id.strip(),
        display_name=display_name.strip() or original_id,
        access_token="",
        expires_at=None,
        org=org,
        operator_ids=operator_ids,
        actor_id=actor_id,
        app=app,
    )
