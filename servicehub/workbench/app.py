"""The workbench ASGI app: routes, middleware, error pages, security headers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import anyio.to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicehub.core.permissions import Forbidden, NotVisible
from servicehub.core.runtime import Runtime
from servicehub.core.users import record_denial
from servicehub.workbench import (
    account_security,
    accounts,
    admin,
    analytics,
    api,
    audit_log,
    contact,
    customers,
    home,
    leads,
    live,
    media,
    notices,
    openapi,
    ops,
    pages,
    publish,
    publish_lists,
    publish_monitor,
    request_tools,
    review,
    snippets,
    workorders,
)
from servicehub.workbench.i18n import translator
from servicehub.workbench.limits import BodyLimit
from servicehub.workbench.rendering import locale_of, render
from servicehub.workbench.request_ids import RequestIds
from servicehub.workbench.security import CsrfFailed, HubUser, SessionAuthBackend, SessionCookies

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


HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """The same headers on every answer; HSTS too when the hub is served over https."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = [*SECURITY_HEADERS, HSTS] if https else SECURITY_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"].extend(self.headers)
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


def _lifespan(runtime: Runtime) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """At start-up: no more request threads than pooled database connections.

    Every view reads in Starlette's thread pool (40 threads by default). With more threads
    than the pool holds (``[database].pool_size``), a busy workbench opened overflow
    connections and closed them again on every return -- a new PostgreSQL backend per
    request under load. Capping the threads at the pool size keeps the connections open;
    a request beyond it waits for a thread instead of for a connection.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = max(
            1, runtime.settings.database.pool_size
        )
        yield

    return lifespan


def create_app(runtime: Runtime) -> Starlette:
    routes = [
        *home.ROUTES,
        *pages.ROUTES,
        *request_tools.ROUTES,
        *notices.ROUTES,
        *snippets.ROUTES,
        *workorders.ROUTES,
        *leads.ROUTES,
        *publish.ROUTES,
        *publish_lists.ROUTES,
        *publish_monitor.ROUTES,
        *account_security.ROUTES,
        *media.ROUTES,
        *accounts.ROUTES,
        *review.ROUTES,
        *customers.ROUTES,
        *contact.ROUTES,
        *audit_log.ROUTES,
        *analytics.ROUTES,
        *api.ROUTES,
        Route("/events", live.events),
        Route("/push/{platform:str}/{account_id:id}", live.push, methods=["GET", "POST"]),
        Route("/healthz", live.healthz),
        Route("/readyz", live.readyz),
        *ops.ROUTES,
        *openapi.ROUTES,
        *admin.ROUTES,
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    https = runtime.settings.public_url.startswith("https://")
    middleware = [
        Middleware(RequestIds),
        Middleware(SecurityHeaders, https=https),
        Middleware(BodyLimit),
        Middleware(SessionCookies, secure=https, max_age=runtime.settings.web.session_max_age_seconds),
        Middleware(AuthenticationMiddleware, backend=SessionAuthBackend(runtime)),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=_lifespan(runtime),
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
