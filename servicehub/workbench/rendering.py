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
from servicehub.workbench.i18n import has_text, pick_locale, translator
from servicehub.workbench.security import HubUser, cookie_state, csrf_token, set_language

TEMPLATES = Path(__file__).parent / "templates"
CHINA = timezone(timedelta(hours=8))

# (label, link, the functions any one of which shows it; () for everyone logged in)
MENU: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("nav.home", "/", ()),
    ("nav.queue", "/queue", ("request.view",)),
    ("nav.workorders", "/workorders", ("request.view", "workorder.handle")),
    ("nav.leads", "/leads", ("lead.manage",)),
    ("nav.publish", "/publish", ("publish", "publish.approve")),
    ("nav.snippets", "/snippets", ("request.reply", "snippet.manage")),
    ("nav.review", "/review", ("message.review",)),
    ("nav.accounts", "/accounts", ("account.view",)),
    ("nav.audit", "/audit", ("audit.view",)),
    ("nav.workload", "/workload", ("analytics.view",)),
    ("nav.analytics", "/analytics", ("analytics.view",)),
    ("nav.admin", "/admin", ("user.manage",)),
    ("admin.routing", "/admin/routing", ("rule.manage",)),
)

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))


def _local(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


env.filters["local"] = _local


def _local_short(value: datetime | None) -> str:
    """China time without the year: for narrow columns (today's work is this year's)."""
    if value is None:
        return ""
    return value.astimezone(CHINA).strftime("%m-%d %H:%M")


env.filters["localshort"] = _local_short


def locale_of(request: Request) -> str:
    user = request.user if isinstance(request.user, HubUser) else None
    requested = request.query_params.get("lang") or cookie_state(request).lang
    return pick_locale(requested, user.locale if user else None)


def platform_namer(locale: str) -> Any:
    """``platform_name(code)`` in templates: the platform as people call it, never its code."""

    def name(platform: str) -> str:
        try:
            names = registry.names(platform)
        except Unsupported:
            return platform
        return names.get(locale) or names.get("zh-CN") or platform

    return name


def _context(request: Request, **context: Any) -> dict[str, Any]:
    if "lang" in request.query_params:
        set_language(request, pick_locale(request.query_params["lang"], None))
    locale = locale_of(request)
    user = request.user if isinstance(request.user, HubUser) else None
    menu = [
        (label, href)
        for label, href, functions in MENU
        if user and (not functions or any(user.principal.can(fn) for fn in functions))
    ]
    return {
        "request": request,
        "t": translator(locale),
        "has_text": has_text,
        "platform_name": platform_namer(locale),
        "locale": locale,
        "other_locale": "en" if locale == "zh-CN" else "zh-CN",
        "user": user,
        "menu": menu,
        "csrf": csrf_token(request),
        "now": datetime.now(UTC),
        "nonce": secrets.token_hex(8),
        **context,
    }


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = env.get_template(template).render(**_context(request, **context))
    return HTMLResponse(html, status_code=status_code)


def render_fragment(request: Request, template: str, **context: Any) -> str:
    """A part of a page (a queue row, say) rendered like the page would, for live updates."""
    return env.get_template(template).render(**_context(request, **context))
