"""What the administration pages share: their section menu, and loading a page's data.

Each section is shown only to those holding its function (the pages check it themselves
too); a page's data is read through ``restrict`` by the loader it passes to :func:`show`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from servicehub.core.permissions import Principal
from servicehub.workbench.forms import principal, runtime_of
from servicehub.workbench.rendering import render

SECTIONS = (
    ("admin.orgs", "/admin/orgs", "user.manage"),
    ("admin.users", "/admin/users", "user.manage"),
    ("admin.teams", "/admin/teams", "user.manage"),
    ("admin.roles", "/admin/roles", "user.manage"),
    ("admin.routing", "/admin/routing", "rule.manage"),
    ("admin.listening", "/admin/listening", "rule.manage"),
    ("admin.terms", "/admin/terms", "rule.manage"),
)


async def show(
    request: Request, template: str, load: Callable[[Session, Principal], dict[str, Any]]
) -> Response:
    runtime = runtime_of(request)
    who = principal(request)

    def run() -> dict[str, Any]:
        with runtime.sessions() as session:
            return load(session, who)

    data = await run_in_threadpool(run)
    sections = [(label, href) for label, href, fn in SECTIONS if who.can(fn)]
    return render(request, template, sections=sections, notice=request.query_params.get("notice"), **data)
