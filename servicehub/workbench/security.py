"""Sessions, authentication and CSRF for the workbench.

The browser's ``hub_session`` cookie holds only a random token (HttpOnly, SameSite=Lax,
``Secure`` when the public URL is https). A signed-in token names a row of
``web_sessions`` (``core.auth``): authentication re-reads it and its user on every request,
so logout, "log out everywhere", a password change or reset and deactivation take effect
at once, and a copied cookie is worth nothing afterwards. A visitor who is not signed in
gets a token too, with no row: it binds the login form's CSRF token. Logging in and out
issue a fresh token (no session fixation). Forms carry the session's CSRF token (derived
from its token with the app secret); JSON calls send it in ``X-CSRF-Token``.
"""

from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicehub.core.auth import SignedIn, csrf_for, new_token, signed_in
from servicehub.core.permissions import Forbidden, Principal
from servicehub.core.runtime import Runtime

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_COOKIE = "hub_session"
LANG_COOKIE = "hub_lang"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
_LANGS = ("zh-CN", "en")
LANG_MAX_AGE = 365 * 24 * 3600


class HubUser(BaseUser):
    def __init__(self, principal: Principal, locale: str, session_id: int) -> None:
        self.principal = principal
        self.locale = locale
        self.session_id = session_id

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.principal.display_name

    @property
    def identity(self) -> str:
        return str(self.principal.user_id)


@dataclass
class CookieState:
    """This request's session token and language, and whether the answer must set them."""

    token: str
    issue: bool = False
    lang: str | None = None
    lang_changed: bool = False


def cookie_state(conn: HTTPConnection) -> CookieState:
    state: CookieState = conn.scope["hub.cookies"]
    return state


def start_new_session(conn: HTTPConnection, token: str | None = None) -> None:
    """Send a new session token with this answer (after login: ``token``; logout: a fresh one)."""
    state = cookie_state(conn)
    state.token, state.issue = token or new_token(), True


def set_language(conn: HTTPConnection, lang: str) -> None:
    state = cookie_state(conn)
    if lang in _LANGS and lang != state.lang:
        state.lang, state.lang_changed = lang, True


class SessionCookies:
    """Reads the session token and language from the cookies; sets them when they change."""

    def __init__(self, app: ASGIApp, *, secure: bool, max_age: int) -> None:
        self.app = app
        self.flags = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
        self.max_age = max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        cookies = HTTPConnection(scope).cookies
        token = cookies.get(SESSION_COOKIE, "")
        lang = cookies.get(LANG_COOKIE)
        state = CookieState(token=token, lang=lang if lang in _LANGS else None)
        if not _TOKEN.fullmatch(token):
            state.token, state.issue = new_token(), True
        scope["hub.cookies"] = state

        async def with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                if state.issue:
                    headers.append(self._cookie(SESSION_COOKIE, state.token, self.max_age))
                if state.lang_changed and state.lang:
                    headers.append(self._cookie(LANG_COOKIE, state.lang, LANG_MAX_AGE))
            await send(message)

        await self.app(scope, receive, with_cookies)

    def _cookie(self, name: str, value: str, max_age: int) -> tuple[bytes, bytes]:
        cookie: SimpleCookie = SimpleCookie()
        cookie[name] = value
        return b"set-cookie", f"{cookie.output(header='').strip()}; Max-Age={max_age}{self.flags}".encode()


class SessionAuthBackend(AuthenticationBackend):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        state = cookie_state(conn)
        if state.issue:  # a token minted just now names no session
            return None
        found = await run_in_threadpool(self._load, state.token, client_ip(conn))
        if found is None:
            return None
        return AuthCredentials(found.principal.scopes), HubUser(
            found.principal, found.locale, found.session_id
        )

    def _load(self, token: str, ip: str) -> SignedIn | None:
        with self.runtime.sessions() as session:
            found = signed_in(session, token, ip=ip)
            session.commit()  # last seen (at most once a minute)
            return found


def client_ip(conn: HTTPConnection) -> str:
    """The client's address as this process sees it (behind a proxy: ``[web]
    forwarded_allow_ips`` names the proxies whose X-Forwarded-For is believed)."""
    return conn.client.host if conn.client else ""


def csrf_token(request: Request) -> str:
    runtime: Runtime = request.app.state.runtime
    return csrf_for(runtime.secret, cookie_state(request).token)


def csrf_ok(request: Request, submitted: Any) -> bool:
    return isinstance(submitted, str) and hmac.compare_digest(csrf_token(request), submitted)


View = Callable[[Request], Awaitable[Response]]


def guard(function: str | None = None, *, page: bool = True) -> Callable[[View], View]:
    """Like Starlette's ``requires``, but tells "log in first" from "not allowed".

    Anonymous: pages redirect to the login form, the API answers 401. Logged in without the
    function: :class:`Forbidden`, which the app turns into 403 and an audit event.
    """

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
