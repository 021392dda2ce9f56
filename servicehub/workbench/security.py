"""Sessions, authentication and CSRF for the workbench.

The session cookie is signed (Starlette's SessionMiddleware, itsdangerous) and holds only
the user id and a fingerprint of the password hash, so changing a password ends every
other session. Authentication re-reads the user on each request: a deactivated user or a
revoked grant takes effect immediately. Forms carry a per-session CSRF token; JSON calls
send it in ``X-CSRF-Token``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from servicehub.core.models import User
from servicehub.core.permissions import Forbidden, Principal, principal_for
from servicehub.core.runtime import Runtime
from servicehub.core.security import verify_password

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class HubUser(BaseUser):
    def __init__(self, principal: Principal, locale: str) -> None:
        self.principal = principal
        self.locale = locale

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.principal.display_name

    @property
    def identity(self) -> str:
        return str(self.principal.user_id)


def fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


class SessionAuthBackend(AuthenticationBackend):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        uid = conn.session.get("uid")
        if not isinstance(uid, int):
            return None
        from starlette.concurrency import run_in_threadpool

        found = await run_in_threadpool(self._load, uid, conn.session.get("fp", ""), client_ip(conn))
        if found is None:
            conn.session.clear()
            return None
        principal, locale = found
        return AuthCredentials(principal.scopes), HubUser(principal, locale)

    def _load(self, uid: int, fp: str, ip: str) -> tuple[Principal, str] | None:
        with self.runtime.sessions() as session:
            user = session.get(User, uid)
            if user is None or not user.is_active or not hmac.compare_digest(fingerprint(user), fp):
                return None
            return principal_for(user, ip=ip), user.locale


def client_ip(conn: HTTPConnection) -> str:
    """The client's address as this process sees it (behind a proxy: run uvicorn with
    ``--proxy-headers`` and ``--forwarded-allow-ips`` so it is the operator's, not the proxy's)."""
    return conn.client.host if conn.client else ""


def authenticate_password(runtime: Runtime, username: str, password: str) -> User | None:
    with runtime.sessions() as session:
        user = session.query(User).filter(User.username == username).one_or_none()
        if user is None:
            verify_password(_DUMMY_HASH, password)  # same work either way: no username oracle
            return None
        if not user.is_active or not verify_password(user.password_hash, password):
            return None
        return user


_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$Jj3Zbq0m3R7bqkU1kz8m0c9mS8wQ9qY1b2m2w9xQ1eY"
)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, submitted: Any) -> bool:
    expected = request.session.get("csrf")
    return (
        isinstance(expected, str) and isinstance(submitted, str) and hmac.compare_digest(expected, submitted)
    )


View = Callable[[Request], Awaitable[Response]]


def guard(function: str | None = None, *, page: bool = True) -> Callable[[View], View]:
    """Like Starlette's ``requires``, but tells "log in first" from "not allowed".

    Anonymous: pages redirect to the login form, the API answers 401. Logged in without the
    function: :class:`Forbidden`, which the app turns into 403 and an audit event.
    """
    import functools

    from starlette.responses import JSONResponse, RedirectResponse

    def decorate(view: View) -> View:
        @functools.wraps(view)
        async def wrapper(request: Request) -> Response:
            user = request.user
            if not isinstance(user, HubUser):
                if page:
                    return RedirectResponse("/login", status_code=303)
                return JSONResponse({"error": "log in first"}, status_code=401)
            if function is not None and not user.principal.can(function):
                raise Forbidden(function)
            return await view(request)

        return wrapper

    return decorate


class CsrfFailed(Exception):
    """A form came without this session's CSRF token; the app answers 400 with a reload hint."""


async def checked_form(request: Request) -> Any:
    """The submitted form, once its CSRF token matches the session's (else :class:`CsrfFailed`)."""
    form = await request.form()
    if not csrf_ok(request, form.get(CSRF_FIELD)):
        raise CsrfFailed
    return form
