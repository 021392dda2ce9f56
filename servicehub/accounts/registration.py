"""Registering managed accounts and storing their (encrypted) credentials.

These are the building blocks of the connect actions in ``accounts.connect`` (and of the
demo's and tests' seeding): they write rows and audit events but check no permission --
the actions that call them on behalf of a person do.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from servicehub.accounts.sources import ensure_cursors
from servicehub.adapters import registry
from servicehub.core import audit
from servicehub.core.db import utcnow
from servicehub.core.models import Account, AccountKind, AccountOperator, Health, Organization, PollCursor
from servicehub.core.permissions import Principal, access
from servicehub.core.runtime import Runtime


def access_account(
    session: Session, principal: Principal, account_id: int, function: str = "account.view"
) -> Account:
    """The account, if ``function`` reaches it in ``principal``'s data scope (else NotVisible)."""
    return access(session, principal, Account, account_id, function)


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
    """Seal a new token; an account waiting for re-authorization resumes polling from its cursors.

    The errors its sources recorded under the old token are cleared with it: they described
    a token that is gone, and left on the accounts page they would say the account is broken.
    """
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
    account.rate_limited_until = None
    session.execute(
        update(PollCursor)
        .where(PollCursor.account_id == account.id, PollCursor.last_error != "")
        .values(last_error="", next_poll_at=utcnow())
    )


def register_with_credentials(
    session: Session,
    runtime: Runtime,
    *,
    platform: str,
    values: Mapping[str, str],
    org: Organization,
    operator_ids: tuple[int, ...] = (),
    actor_id: int | None = None,
) -> Account:
    """Add an account from its platform's credential form (validated by the adapter class:
    ``InvalidCredentials`` names a bad field); the demo and tests seed accounts this way."""
    connection = registry.check_credentials(platform, values)
    return register_account(
        session,
        runtime,
        platform=platform,
        platform_uid=connection.uid,
        display_name=connection.display_name[:120],
        access_token="",
        expires_at=None,
        org=org,
        operator_ids=operator_ids,
        actor_id=actor_id,
        app=connection.app,
    )
