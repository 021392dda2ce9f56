"""The audit log, filtered by person, action and period, told in words.

Each event is shown as who did what to which object, with its details by name; the
action, object kind and detail names come from the ``audit`` catalog (an unknown action
shows as "其他操作" with its code in the details, never as a bare code).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from servicehub.core.audit import AuditFilter, actions_seen, list_events
from servicehub.core.models import User
from servicehub.core.permissions import restrict
from servicehub.workbench.forms import principal, runtime_of
from servicehub.workbench.i18n import has_text, translator
from servicehub.workbench.rendering import CHINA, locale_of, render
from servicehub.workbench.security import guard

PAGE = 100


def parse_day(text: str) -> datetime | None:
    """A ``YYYY-MM-DD`` date field as the start of that day in China time (None if unusable)."""
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=CHINA)
    except ValueError:
        return None


def parse_number(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 19 else None


def describe(t: Any, event: Any) -> list[tuple[str, str]]:
    """The event's details as (label, value) pairs a person can read."""
    pairs = []
    for key, value in (event.detail or {}).items():
        label = t(f"audit.field.{key}") if has_text(f"audit.field.{key}") else key
        if isinstance(value, bool):
            shown = t("audit.yes") if value else t("audit.no")
        elif isinstance(value, list | tuple):
            shown = "、".join(str(v) for v in value)
        elif isinstance(value, dict):
            shown = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, str) and has_text(f"audit.value.{key}.{value}"):
            shown = t(f"audit.value.{key}.{value}")  # a code (a state, a type) in words
        else:
            shown = str(value)
        pairs.append((label, shown))
    return pairs


@guard("audit.view")
async def audit_page(request: Request) -> Response:
    params = request.query_params
    since, until = parse_day(params.get("since", "")), parse_day(params.get("until", ""))
    query = AuditFilter(
        actor_id=parse_number(params.get("actor", "")),
        action=params.get("action", "")[:64],
        since=since,
        until=until + timedelta(days=1) if until else None,
        before=parse_number(params.get("before", "")),
    )
    runtime, who = runtime_of(request), principal(request)

    def load() -> dict[str, Any]:
        with runtime.sessions() as session:
            users = session.scalars(restrict(select(User).order_by(User.id), who, "audit.view", User))
            return {
                "events": list_events(session, who, query, PAGE),
                "actions": actions_seen(session, who),
                "users": [(u.id, u.display_name) for u in users],
            }

    data = await run_in_threadpool(load)
    t = translator(locale_of(request))
    rows = [(event, actor, describe(t, event)) for event, actor in data["events"]]
    return render(
        request,
        "audit.html",
        rows=rows,
        actions=data["actions"],
        users=data["users"],
        query=query,
        form=dict(params),
        next_before=rows[-1][0].id if len(rows) == PAGE else None,
        has_text=has_text,
    )


ROUTES: list[BaseRoute] = [Route("/audit", audit_page)]
