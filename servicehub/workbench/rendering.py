"""Template rendering with the request's locale, user, CSRF token and menu.

Jinja2 autoescaping is on for every template: customer text (which may contain HTML or
script) is always shown as text. The menu is derived from function grants, but hiding a
menu item is never the protection -- every view checks on the server too.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from servicehub.adapters import registry
from servicehub.adapters.errors import Unsupported
from servicehub.workbench.i18n import pick_locale, translator
from servicehub.workbench.security import HubUser, csrf_token

TEMPLATES = Path(__file__).parent / "templates"
CHINA = timezone(timedelta(hours=8))

MENU = (
    ("nav.queue", "/", "request.view"),
    ("nav.review", "/review", "message.review"),
    ("nav.accounts", "/accounts", "account.view"),
    ("nav.audit", "/audit", "audit.view"),
    ("nav.workload", "/workload", "analytics.view"),
    ("nav.analytics", "/analytics", "analytics.view"),
    ("nav.admin", "/admin", "user.manage"),
    ("admin.routing", "/admin/routing", "rule.manage"),
)

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))


def _local(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


env.filters["local"] = _local


def locale_of(request: Request) -> str:
    user = request.user if isinstance(request.user, HubUser) else None
    requested = request.query_params.get("lang") or request.session.get("lang")
    return pick_locale(requested, user.locale if user else None)


def platform_namer(locale: str) -> Any:
    """``platform_name("weibo")`` in templates: the platform as people call it, never its code."""

    def name(platform: str) -> str:
        try:
            names = registry.names(platform)
        except Unsupported:
            return platform
        return names.get(locale) or names.get("zh-CN") or platform

    return name


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    if "lang" in request.query_params:
        request.session["lang"] = pick_locale(request.query_params["lang"], None)
    locale = locale_of(request)
    user = request.user if isinstance(request.user, HubUser) else None
    menu = [(label, href) for label, href, fn in MENU if user and user.principal.can(fn)]
    html = env.get_template(template).render(
        request=request,
        t=translator(locale),
        platform_name=platform_namer(locale),
        locale=locale,
        other_locale="en" if locale == "zh-CN" else "zh-CN",
        user=user,
        menu=menu,
        csrf=csrf_token(request),
        now=datetime.now(UTC),
        nonce=secrets.token_hex(8),
        **context,
    )
    return HTMLResponse(html, status_code=status_code)
