"""Logging in and out, server-side sessions, passwords, and unlocking a throttled login.

A session is a row (``WebSession``) found by the SHA-256 of the random token in the
browser's cookie. Every request re-reads it with its user: a revoked or expired session,
or a deactivated user, is logged out on the next request -- and live-update streams check
again every few seconds. Revoking is what logout, "log out everywhere", a password change
(the other sessions), a password reset by an administrator and deactivation do.

Login is throttled per user name and per client address (``core.throttle``), and checks
a password in every branch -- against a dummy hash when the user is missing or
deactivated -- so neither the answer nor its timing tells those cases apart.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.db import on_commit, utcnow
from servicehub.core.errors import ActionError
from servicehub.core.models import User, WebSession
from servicehub.core.passwords import check_new_password
from servicehub.core.permissions import Principal, access, principal_for
from servicehub.core.runtime import Runtime
from servicehub.core.security import hash_password, spend_a_verification, verify_password
from servicehub.core.tasks import task
from servicehub.core.throttle import Lock

MANAGE = "user.manage"
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often per session
KEEP_ENDED = timedelta(days=7)  # ended sessions stay this long (who was logged in when), then go


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(secret: str, token: str) -> str:
    """The CSRF token of a session: bound to it, so a new session (login, logout) gets a new one."""
    return hmac.new(secret.encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Login:
    """What a login attempt came to: a session token, or why not (``lock`` set: throttled)."""

    token: str | None = None
    user_id: int | None = None
    lock: Lock | None = None


def do_log_in(
    session: Session, runtime: Runtime, *, username: str, password: str, ip: str, user_agent: str = ""
) -> Login:
    """Check a login and open a session; failures are audited and counted (the caller commits)."""
    throttle = runtime.login_throttle
    name = username.strip()[:64]
    lock = throttle.lock(name, ip)
    if lock is not None:
        audit.record(
            session, "auth.login_throttled", "user", name, ip=ip, by_what=lock.by, seconds=lock.seconds
        )
        return Login(lock=lock)
    user = session.scalars(select(User).where(User.username == name)).one_or_none()
    if user is None or not user.is_active:
        spend_a_verification(password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password)
    if not ok or user is None:
        audit.record(session, "auth.login_failed", "user", name, ip=ip)
        started = throttle.failed(name, ip)
        if started is not None:
            audit.record(
                session, "auth.login_locked", "user", name, ip=ip, by_what=started.by, seconds=started.seconds
            )
        return Login(lock=started)
    throttle.succeeded(name)
    token = new_token()
    now = utcnow()
    session.add(
        WebSession(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=runtime.settings.web.session_max_age_seconds),
            ip=ip[:64],
            user_agent=user_agent[:200],
        )
    )
    user.last_seen_at = now
    audit.record(session, "auth.login", "user", user.id, actor_id=user.id, ip=ip)
    return Login(token=token, user_id=user.id)


@dataclass(frozen=True)
class SignedIn:
    session_id: int
    principal: Principal
    locale: str


def signed_in(session: Session, token: str, *, ip: str = "") -> SignedIn | None:
    """The live session of ``token`` and its user, or None (unknown, revoked, expired, inactive)."""
    if not token:
        return None
    now = utcnow()
    found = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == token_hash(token))
    ).first()
    if found is None:
        return None
    web, user = found
    if web.revoked_at is not None or web.expires_at <= now or not user.is_active:
        return None
    if now - web.last_seen_at >= TOUCH_EVERY:
        session.execute(update(WebSession).where(WebSession.id == web.id).values(last_seen_at=now))
        session.execute(update(User).where(User.id == user.id).values(last_seen_at=now))
    return SignedIn(web.id, principal_for(user, ip=ip), user.locale)


def end_sessions(session: Session, user_id: int, *, keep: int | None = None) -> int:
    """Revoke every live session of ``user_id`` (but ``keep``); how many were ended."""
    stmt = update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(WebSession.id != keep)
    result = session.execute(stmt.values(revoked_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def do_log_out(session: Session, who: Principal, session_id: int) -> None:
    session.execute(
        update(WebSession)
        .where(
            WebSession.id == session_id, WebSession.user_id == who.user_id, WebSession.revoked_at.is_(None)
        )
        .values(revoked_at=utcnow())
    )
    audit.record(session, "auth.logout", "user", who.user_id, by=who)


def do_log_out_everywhere(session: Session, who: Principal) -> int:
    ended = end_sessions(session, who.user_id)
    audit.record(session, "auth.logout_everywhere", "user", who.user_id, by=who, sessions=ended)
    return ended


def _personal(user: User) -> tuple[str, ...]:
    return (user.username, user.display_name)


def do_change_password(
    session: Session, who: Principal, *, current: str, new: str, repeated: str, session_id: int
) -> None:
    """The owner changes their password; their other sessions end, this one goes on."""
    user = session.get(User, who.user_id)
    if user is None or not user.is_active:
        raise ActionError("password_wrong", "the current password is wrong")
    if not verify_password(user.password_hash, current):
        raise ActionError("password_wrong", "the current password is wrong")
    if new != repeated:
        raise ActionError("password_mismatch", "the two new passwords differ")
    if new == current:
        raise ActionError("password_unchanged", "the new password is the current one")
    check_new_password(new, personal=_personal(user))
    user.password_hash = hash_password(new)
    ended = end_sessions(session, user.id, keep=session_id)
    audit.record(session, "user.password_changed", "user", user.id, by=who, sessions=ended)


def do_reset_password(session: Session, who: Principal, user_id: int, *, new: str) -> User:
    """An administrator sets someone's password; every session of theirs ends."""
    user = access(session, who, User, user_id, MANAGE)
    check_new_password(new, personal=_personal(user))
    user.password_hash = hash_password(new)
    ended = end_sessions(session, user.id)
    audit.record(session, "user.password_reset", "user", user.id, by=who, sessions=ended)
    return user


def do_unlock_login(session: Session, runtime: Runtime, who: Principal, user_id: int) -> User:
    """Lift a throttling lock on someone's user name (once the transaction commits)."""
    user = access(session, who, User, user_id, MANAGE)
    name = user.username
    on_commit(session, lambda: runtime.login_throttle.unlock(name))
    audit.record(session, "auth.unlocked", "user", user.id, by=who)
    return user


def locked_users(runtime: Runtime, users: list[User]) -> dict[int, int]:
    """user id -> minutes left, for the users whose name is locked now."""
    locked = runtime.login_throttle.locked(u.username for u in users)
    return {u.id: -(-locked[u.username] // 60) for u in users if u.username in locked}


@task("auth.sweep_sessions", every=3600)
def sweep_sessions() -> None:
    """Forget sessions that ended (expired or revoked) more than a week ago."""
    from servicehub.core.runtime import get_runtime

    runtime = get_runtime()
    cutoff: datetime = utcnow() - KEEP_ENDED
    with runtime.sessions.begin() as session:
        session.execute(
            delete(WebSession).where(
                (WebSession.expires_at < cutoff)
                | (WebSession.revoked_at.is_not(None) & (WebSession.revoked_at < cutoff))
            )
        )


@dataclass(frozen=True)
class SessionRow:
    id: int
    created_at: datetime
    last_seen_at: datetime
    ip: str
    user_agent: str


def live_sessions(session: Session, who: Principal) -> list[SessionRow]:
    """The caller's own sessions that are still live, newest first (the account security page)."""
    rows = session.scalars(
        select(WebSession)
        .where(
            WebSession.user_id == who.user_id,
            WebSession.revoked_at.is_(None),
            WebSession.expires_at > utcnow(),
        )
        .order_by(WebSession.id.desc())
        .limit(50)
    )
    return [SessionRow(r.id, r.created_at, r.last_seen_at, r.ip, r.user_agent) for r in rows]
