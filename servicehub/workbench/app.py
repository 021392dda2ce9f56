"""The workbench ASGI app: routes, middleware, error pages, security headers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicehub.core.permissions import Forbidden, NotVisible
from servicehub.core.runtime import Runtime
from servicehub.core.users import record_denial
from servicehub.workbench import accounts, admin, analytics, api, audit_log, customers, live, pages, review
from servicehub.workbench.i18n import translator
from servicehub.workbench.rendering import locale_of, render
from servicehub.workbench.security import CsrfFailed, HubUser, SessionAuthBackend

STATIC = Path(__file__).parent / "static"

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"].extend(SECURITY_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _error_page(request: Request, status: int, key: str) -> Response:
    return render(request, "error.html", status_code=status, message=translator(locale_of(request))(key))


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def not_visible(request: Request, exc: Exception) -> Response:
    """404 for missing and out-of-scope alike; a logged-in probe is still audited."""
    user = request.user if isinstance(request.user, HubUser) else None
    if user is not None:
        await _audit_denied(request, "access.not_found", str(exc))
    if _wants_json(request):
        return JSONResponse({"error": "not found"}, status_code=404)
    return _error_page(request, 404, "error.not_found")


async def _audit_denied(request: Request, action: str, what: str) -> None:
    runtime: Runtime = request.app.state.runtime
    user = request.user if isinstance(request.user, HubUser) else None

    def record() -> None:
        with runtime.sessions.begin() as session:
            record_denial(
                session, user.principal if user else None, action=action, path=request.url.path, what=what
            )

    await run_in_threadpool(record)


async def forbidden(request: Request, exc: Exception) -> Response:
    await _audit_denied(request, "access.denied", str(exc))
    if _wants_json(request):
        return JSONResponse({"error": "forbidden"}, status_code=403)
    return _error_page(request, 403, "error.forbidden")


async def csrf_failed(request: Request, exc: Exception) -> Response:
    return _error_page(request, 400, "error.csrf")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 403:
        return await forbidden(request, exc)
    if exc.status_code == 404:
        return await not_visible(request, exc)
    if _wants_json(request):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return render(request, "error.html", status_code=exc.status_code, message=str(exc.detail))


def create_app(runtime: Runtime) -> Starlette:
    routes = [
        *pages.ROUTES,
        *accounts.ROUTES,
        *review.ROUTES,
        *customers.ROUTES,
        *audit_log.ROUTES,
        *analytics.ROUTES,
        *api.ROUTES,
        Route("/events", live.events),
        Route("/push/{platform:str}/{account_id:int}", live.push, methods=["GET", "POST"]),
        Route("/healthz", live.healthz),
        *admin.ROUTES,
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=runtime.secret,
            session_cookie="hub_session",
            max_age=runtime.settings.web.session_max_age_seconds,
            same_site="lax",
            https_only=runtime.settings.public_url.startswith("https"),
        ),
        Middleware(AuthenticationMiddleware, backend=SessionAuthBackend(runtime)),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            NotVisible: not_visible,
            Forbidden: forbidden,
            CsrfFailed: csrf_failed,
            HTTPException: http_error,
        },
    )
    app.state.runtime = runtime
    app.state.stopping = asyncio.Event()  # set by workbench.server on shutdown: live streams end
    return app
