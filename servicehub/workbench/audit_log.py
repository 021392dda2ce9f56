"""The audit log, filtered by person, action and period, told in words.

Each event is shown as who did what to which object, with its details by name; the
action, object kind and detail names come from the ``audit`` catalog (an unknown action
shows as "其他操作" with its code in the details, never as a bare code).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from servicehub.core.audit import AuditFilter, actions_seen, list_events
from servicehub.core.models import Account, User
from servicehub.core.permissions import FUNCTIONS, restrict
from servicehub.workbench.forms import id_or_none, principal, runtime_of
from servicehub.workbench.i18n import has_text, translator
from servicehub.workbench.rendering import CHINA, locale_of, platform_namer, render
from servicehub.workbench.security import guard

PAGE = 100


def parse_day(text: str) -> datetime | None:
    """A ``YYYY-MM-DD`` date field as the start of that day in China time (None if unusable)."""
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=CHINA)
    except ValueError:
        return None


# Which catalog families a detail's coded values come from, by detail name.
VALUE_FAMILIES: dict[str, tuple[str, ...]] = {
    "strategy": ("strategy",),
    "scope": ("scope",),
    "sources": ("source",),
    "kind": ("org", "accounts.kind", "send_error"),
    "state": ("delivery", "state"),
    "before": ("presence", "priority"),
    "after": ("presence", "priority"),
    "reason": ("drop", "presence_reason"),
    "why": ("why",),
    "by_what": ("lock_by",),
}


# Details that hold ids of people or accounts: shown by name where the viewer may see them.
PEOPLE = {"user_id", "from_user_id", "members", "user_ids"}
ACCOUNTS = {"account_id", "account_ids"}


@dataclass(frozen=True)
class Namer:
    t: Any
    platform: Any
    people: dict[int, str]
    accounts: dict[int, str]


def _value(names: Namer, key: str, value: object) -> str:
    t = names.t
    if isinstance(value, bool):
        return str(t("audit.yes") if value else t("audit.no"))
    if isinstance(value, list | tuple):
        return "、".join(_value(names, key, v) for v in value)
    if isinstance(value, int) and key in PEOPLE | ACCOUNTS:
        known = (names.people if key in PEOPLE else names.accounts).get(value)
        return known or f"#{value}"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    if key == "platform":
        return str(names.platform(text))
    if key == "function" and text in FUNCTIONS:
        return FUNCTIONS[text]
    for family in VALUE_FAMILIES.get(key, ()):
        if has_text(f"{family}.{text}"):
            return str(t(f"{family}.{text}"))
    if has_text(f"audit.value.{key}.{text}"):  # a code (a state, a type) in words
        return str(t(f"audit.value.{key}.{text}"))
    return text


def describe(names: Namer, event: Any) -> list[tuple[str, str]]:
    """The event's details as (label, value) pairs a person can read: names for codes and ids."""
    pairs = []
    for key, value in (event.detail or {}).items():
        label = names.t(f"audit.field.{key}") if has_text(f"audit.field.{key}") else key
        pairs.append((label, _value(names, key, value)))
    return pairs


@guard("audit.view")
async def audit_page(request: Request) -> Response:
    params = request.query_params
    since, until = parse_day(params.get("since", "")), parse_day(params.get("until", ""))
    query = AuditFilter(
        actor_id=id_or_none(params.get("actor", "")),
        action=params.get("action", "")[:64],
        since=since,
        until=until + timedelta(days=1) if until else None,
        before=id_or_none(params.get("before", "")),
    )
    runtime, who = runtime_of(request), principal(request)

    def load() -> dict[str, Any]:
        with runtime.sessions() as session:
            users = session.scalars(restrict(select(User).order_by(User.id), who, "audit.view", User))
            accounts = session.execute(
                restrict(select(Account.id, Account.display_name), who, "account.view", Account)
            )
            return {
                "events": list_events(session, who, query, PAGE),
                "actions": actions_seen(session, who),
                "users": [(u.id, u.display_name) for u in users],
                "accounts": {account_id: name for account_id, name in accounts},
            }

    data = await run_in_threadpool(load)
    locale = locale_of(request)
    names = Namer(translator(locale), platform_namer(locale), dict(data["users"]), data["accounts"])
    rows = [(event, actor, describe(names, event)) for event, actor in data["events"]]
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
