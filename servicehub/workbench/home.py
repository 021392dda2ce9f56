"""The home page (我的工作台) and the live queue rows.

``/`` shows the operator's day: their open requests (updated in place), what they handled
today and this week, the accounts they serve and their health, their load and median first
response, announcements and notifications; supervisors (``request.assign``) also see the
team's queue, overdue requests and orders, and everyone's load. An old queue link
(``/?view=...``) is sent on to ``/queue``.

``/api/queue/rows`` is what the live page asks when an event names some requests: their
rows as the queue would render them in one view, scoped like the queue, and the ids that
left the view (or are not the caller's to see: the two are one answer).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from servicehub.analytics.alerts import active_alerts
from servicehub.core.models import Scope
from servicehub.core.notifications import latest, unread_count
from servicehub.core.permissions import Principal
from servicehub.core.settings import AnalyticsSettings
from servicehub.routing.home import my_day, team_board
from servicehub.routing.queue import VIEWS, list_requests, queue_rows
from servicehub.workbench.forms import principal, runtime_of
from servicehub.workbench.i18n import translator
from servicehub.workbench.rendering import locale_of, render, render_fragment
from servicehub.workbench.security import guard
from servicehub.workday.announcements import announcements_for
from servicehub.workorders.reads import list_orders, overdue_orders

MAX_LIVE_IDS = 100


def _home(session: Session, who: Principal, analytics: AnalyticsSettings) -> dict[str, Any]:
    can_view = who.can("request.view")
    handle = who.scope("workorder.handle")
    supervisor = who.can("request.assign")
    return {
        "day": my_day(session, who),
        "mine": list_requests(session, who, "mine", limit=20) if can_view else None,
        "announcements": announcements_for(session, who, limit=10),
        "notifications": latest(session, who, limit=8),
        "unread": unread_count(session, who),
        "board": team_board(session, who) if supervisor else None,
        "team_queue": list_requests(session, who, "open", limit=10) if supervisor else None,
        "late_orders": overdue_orders(session, who) if supervisor or who.can("workorder.handle") else None,
        # Sent to me, my teams or my company. For someone who handles every order that would be
        # all of them: the overdue list is the part that needs them.
        "inbox": list_orders(session, who, "inbox", "open", limit=10)
        if handle not in (None, Scope.ALL)
        else None,
        "can_announce": who.can("announcement.manage"),
        # Today's and yesterday's spikes on the accounts one serves (a broadband outage, a
        # wave of anger): seen on arrival, not only by whoever opens the trends page.
        "alerts": active_alerts(session, who, settings=analytics, samples=False),
    }


@guard()
async def home_page(request: Request) -> Response:
    params = request.query_params
    if "view" in params or "after" in params:  # a queue link from before the home page existed
        return RedirectResponse(f"/queue?{urlencode(list(params.multi_items()))}", status_code=303)
    runtime, who = runtime_of(request), principal(request)

    def load() -> dict[str, Any]:
        with runtime.sessions() as session:
            return _home(session, who, runtime.settings.analytics)

    return render(request, "home.html", **await run_in_threadpool(load))


def _ids(raw: str) -> list[int]:
    ids = []
    for part in raw.split(",")[:MAX_LIVE_IDS]:
        part = part.strip()
        if part.isdigit() and len(part) < 12:
            ids.append(int(part))
    return ids


@guard("request.view", page=False)
async def api_queue_rows(request: Request) -> Response:
    view = request.query_params.get("view", "open")
    view = view if view in VIEWS else "open"
    ids = _ids(request.query_params.get("ids", ""))
    compact = request.query_params.get("compact") == "1"
    runtime, who = runtime_of(request), principal(request)

    def load() -> Any:
        with runtime.sessions() as session:
            return queue_rows(session, who, view, ids)

    live = await run_in_threadpool(load)
    t = translator(locale_of(request))
    return JSONResponse(
        {
            "rows": [
                {
                    "id": r.id,
                    "priority": r.priority,
                    "html": render_fragment(request, "_queue_row.html", r=r, live=view, compact=compact),
                }
                for r in live.rows
            ],
            "gone": live.gone,
            "total": live.total,
            "total_text": t("queue.total", n=f"{live.total}+" if live.more else live.total),
        }
    )


ROUTES: list[BaseRoute] = [
    Route("/", home_page, name="home"),
    Route("/api/queue/rows", api_queue_rows),
]
