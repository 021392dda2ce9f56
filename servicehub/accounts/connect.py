"""Connecting accounts: OAuth for platforms that authorize (Weibo), app credentials for
platforms that issue them (WeChat official accounts), and what is listened to.

Which way a platform connects is a capability of its adapter (``adapters.registry``); this
module never asks which platform it is. Re-connecting a known account (same platform and
uid) re-authorizes it: the token is replaced, health returns to normal and polling resumes
from its cursors, so whatever arrived in between is fetched.

The OAuth ``state`` is the hub's own: an HMAC (with the hub's secret) of a nonce, the time,
the operator's session binding, the platform and the kind of account asked for. Any
workbench process can check it, a callback cannot be replayed into another session, and
the kind travels inside it instead of in a query parameter an attacker could change.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.accounts.adapters import adapter_for
from servicehub.accounts.config import platform_config
from servicehub.accounts.registration import access_account, register_account, store_token
from servicehub.accounts.sources import set_sources
from servicehub.adapters import registry
from servicehub.adapters.base import Credentials, ProfileReader, Source
from servicehub.adapters.errors import InvalidCredentials, PlatformError
from servicehub.core import audit
from servicehub.core.errors import ActionError
from servicehub.core.models import Account, AccountKind, Health, Organization
from servicehub.core.permissions import NotVisible, Principal, access, require
from servicehub.core.runtime import Runtime

STATE_MAX_AGE_SECONDS = 600
MANAGE = "account.manage"


@dataclass(frozen=True)
class Connected:
    account_id: int
    is_new: bool


# -- the OAuth state ----------------------------------------------------------------------


def _mac(secret: str, message: str) -> str:
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def make_state(secret: str, binding: str = "", *, now: datetime | None = None) -> str:
    """A CSRF ``state`` for the authorize redirect, bound to ``binding``."""
    nonce = secrets.token_urlsafe(12)
    issued = int((now or datetime.now(UTC)).timestamp())
    return f"{nonce}.{issued}.{_mac(secret, f'{nonce}.{issued}.{binding}')}"


def verify_state(
    secret: str,
    state: str,
    binding: str = "",
    *,
    max_age_seconds: int = STATE_MAX_AGE_SECONDS,
    now: datetime | None = None,
) -> bool:
    """True when ``state`` came from :func:`make_state` with this secret and binding, recently."""
    try:
        nonce, issued_text, mac = state.split(".")
        issued = int(issued_text)
    except ValueError:
        return False
    age = (now or datetime.now(UTC)).timestamp() - issued
    if age < -60 or age > max_age_seconds:
        return False
    return hmac.compare_digest(mac, _mac(secret, f"{nonce}.{issued}.{binding}"))


def _bound(session_binding: str, platform: str, kind: str) -> str:
    return f"{session_binding}:{platform}:{kind}"


# -- OAuth ----------------------------------------------------------------------------------


def authorizing_platforms() -> list[str]:
    """The platforms whose accounts are connected through OAuth."""
    return [p for p in registry.platforms() if registry.can_authorize(p)]


def do_begin_authorization(
    runtime: Runtime, who: Principal, platform: str, kind: str, session_binding: str
) -> str:
    """Where to send the browser to connect (or re-authorize) an account of ``platform``."""
    require(who, MANAGE)
    if platform not in authorizing_platforms():
        raise NotVisible(f"platform {platform}")
    kind = kind if kind in {k.value for k in AccountKind} else AccountKind.OFFICIAL.value
    state = make_state(runtime.secret, _bound(session_binding, platform, kind))
    client = registry.authorizer(platform_config(runtime, platform), runtime.adapter_transport)
    try:
        return client.authorize_url(state)
    finally:
        client.close()


def do_complete_authorization(
    runtime: Runtime, who: Principal, platform: str, *, state: str, code: str, session_binding: str
) -> Connected:
    """The OAuth callback: check the state, exchange the code, add or re-authorize the account.

    Raises :class:`ActionError` ``oauth_bad_state`` for a forged, replayed or stale state and
    ``oauth_failed`` when the platform refuses the code.
    """
    require(who, MANAGE)
    if platform not in authorizing_platforms():
        raise NotVisible(f"platform {platform}")
    kind = next(
        (
            k
            for k in AccountKind
            if verify_state(runtime.secret, state, _bound(session_binding, platform, k.value))
        ),
        None,
    )
    if kind is None or not code:
        raise ActionError("oauth_bad_state", "the authorization link is stale or not from this session")
    client = registry.authorizer(platform_config(runtime, platform), runtime.adapter_transport)
    try:
        creds = client.exchange_code(code)
    except PlatformError as exc:
        raise ActionError("oauth_failed", f"the platform refused the authorization: {exc}") from exc
    finally:
        client.close()
    name = own_name(runtime, platform, creds)
    with runtime.sessions.begin() as session:
        return _connect(session, runtime, who, platform, creds, name or creds.uid, kind)


def refresh_pending_names(runtime: Runtime) -> list[int]:
    """Name the accounts still named by their uid (the platform's profile could not be read
    when they were connected) from the platform, now that it may answer; returns the renamed.

    A system action run by a periodic task: no person acts, so there is no permission check.
    """
    with runtime.sessions() as session:
        waiting = [
            account
            for account in session.scalars(
                select(Account).where(
                    Account.display_name == Account.platform_uid, Account.health == Health.OK
                )
            )
            if registry.can_authorize(account.platform) and account.credentials is not None
        ]
        renamed = []
        for account in waiting:
            try:
                name = _profile_name(adapter_for(runtime, account))
            except PlatformError:
                continue  # still not readable: the next run tries again
            if name and name != account.display_name:
                audit.record(
                    session, "account.renamed", "account", account.id, before=account.display_name, after=name
                )
                account.display_name = name[:120]
                renamed.append(account.id)
        session.commit()
    return renamed


def _profile_name(adapter: object) -> str:
    return adapter.own_profile().screen_name if isinstance(adapter, ProfileReader) else ""


def own_name(runtime: Runtime, platform: str, creds: Credentials) -> str:
    """The account's screen name read with its fresh credentials ("" when it cannot be read)."""
    adapter = registry.build_adapter(platform_config(runtime, platform), creds, runtime.adapter_transport)
    try:
        return _profile_name(adapter)
    except PlatformError:
        return ""
    finally:
        adapter.close()


def _known(session: Session, platform: str, uid: str) -> Account | None:
    return session.scalars(
        select(Account).where(Account.platform == platform, Account.platform_uid == uid)
    ).first()


def _connect(
    session: Session,
    runtime: Runtime,
    who: Principal,
    platform: str,
    creds: Credentials,
    display_name: str,
    kind: AccountKind,
) -> Connected:
    existing = _known(session, platform, creds.uid)
    if existing is not None:
        access(session, who, Account, existing.id, MANAGE)  # another company's account is "missing"
        store_token(session, runtime, existing, creds.access_token, creds.expires_at, actor_id=who.user_id)
        audit.record(session, "account.token_stored", "account", existing.id, by=who)
        return Connected(existing.id, False)
    personal = kind == AccountKind.STAFF_PERSONAL
    account = register_account(
        session,
        runtime,
        platform=platform,
        platform_uid=creds.uid,
        display_name=display_name,
        access_token=creds.access_token,
        expires_at=creds.expires_at,
        org=_org(session, who),
        kind=kind,
        owner_id=who.user_id if personal else None,
        operator_ids=(who.user_id,) if personal else (),
        actor_id=who.user_id,
    )
    return Connected(account.id, True)


def _org(session: Session, who: Principal) -> Organization:
    org = session.get(Organization, who.org_id)
    if org is None:
        raise NotVisible(f"organization {who.org_id}")
    return org


# -- app credentials --------------------------------------------------------------------------


def credential_platforms() -> list[str]:
    """The platforms whose accounts are connected by typing in app credentials."""
    return [p for p in registry.platforms() if registry.credential_fields(p)]


def do_connect_with_credentials(
    session: Session, runtime: Runtime, who: Principal, platform: str, values: Mapping[str, str]
) -> Connected:
    """Add an account from its app credentials, or re-enter those of a known one.

    The platform's adapter validates the form (a malformed field is an :class:`ActionError`
    naming it, so nothing unusable is ever stored); re-entering resets the account's health.
    """
    require(who, MANAGE)
    if platform not in credential_platforms():
        raise NotVisible(f"platform {platform}")
    try:
        connection = registry.check_credentials(platform, values)
    except InvalidCredentials as exc:
        label = next(
            (f.label for f in registry.credential_fields(platform) if f.name == exc.field), exc.field
        )
        raise ActionError(f"credential_{exc.problem}", str(exc), field=label) from exc
    existing = _known(session, platform, connection.uid)
    if existing is not None:
        access(session, who, Account, existing.id, MANAGE)
        store_token(session, runtime, existing, "", None, actor_id=who.user_id, app=connection.app)
        audit.record(session, "account.credentials_stored", "account", existing.id, by=who)
        return Connected(existing.id, False)
    account = register_account(
        session,
        runtime,
        platform=platform,
        platform_uid=connection.uid,
        display_name=connection.display_name[:120],
        access_token="",
        expires_at=None,
        org=_org(session, who),
        actor_id=who.user_id,
        app=connection.app,
    )
    return Connected(account.id, True)


# -- listening -------------------------------------------------------------------------------


def do_set_listening(session: Session, who: Principal, account_id: int, sources: list[str]) -> None:
    """Which sources of the account are polled; a source switched off keeps its cursor."""
    account = access_account(session, who, account_id, MANAGE)
    unknown = sorted(set(sources) - {s.value for s in Source})
    if unknown:
        raise ActionError("unknown_source", f"unknown source(s): {', '.join(unknown)}")
    set_sources(session, account, sources)
    audit.record(session, "account.listening_changed", "account", account.id, by=who, sources=sorted(sources))
