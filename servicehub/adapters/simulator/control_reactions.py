"""Control routes for reactions to posts: switch them, plan them on a post, or add them at once.

``/_sim/reactions`` turns the reactions a hub post draws on or off and sets their intensity;
``/_sim/statuses/{id}/reactions`` plans the decaying schedule on any post (as if the hub
had just published it, whatever the switch says); ``/_sim/statuses/{id}/engage`` adds
likes, comments and reposts right now. The schedule runs on the simulated clock: advance
it with ``POST /_sim/clock`` (see :mod:`.reactions`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from servicehub.adapters.simulator.context import SIM_KEY, Simulator
from servicehub.adapters.simulator.control_io import ControlError, as_id, ok, opt_int, read_json
from servicehub.adapters.simulator.models import Status
from servicehub.adapters.simulator.reactions import KINDS

ENGAGE_LIMIT = 10_000  # reactions of one kind per call
_FIELDS = {"likes": "like", "comments": "comment", "reposts": "repost"}


def _status(sim: Simulator, request: web.Request) -> Status:
    raw = request.match_info["id"]
    status = sim.state.statuses.get(as_id(raw, "id"))
    if status is None:
        raise ControlError(f"no status {raw}", 404)
    return status


def _number(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ControlError(f"{name} must be a non-negative number")
    return float(value)


def _counts(body: dict[str, Any]) -> dict[str, int] | None:
    """``{likes, comments, reposts}`` of a body as reaction counts; None when none is given."""
    if not any(name in body for name in _FIELDS):
        return None
    counts = {}
    for name, kind in _FIELDS.items():
        value = opt_int(body, name, 0) or 0
        if value > ENGAGE_LIMIT:
            raise ControlError(f"{name} is limited to {ENGAGE_LIMIT} per call")
        counts[kind] = value
    return counts


def _counts_json(status: Status) -> dict[str, Any]:
    return {
        "id": str(status.id),
        "reposts": status.reposts_count,
        "comments": status.comments_count,
        "attitudes": status.attitudes_count,
    }


async def reactions(request: web.Request) -> web.Response:
    """GET (``?status_id=`` adds that post's plan) / POST ``{enabled?, intensity?, clear?}``."""
    sim = request.app[SIM_KEY]
    if request.method == "POST":
        body = await read_json(request)
        enabled = body.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise ControlError("enabled must be true or false")
        sim.reactions.configure(enabled=enabled, intensity=_number(body, "intensity"))
        if body.get("clear"):
            sim.reactions.clear()
        status_id = as_id(body["status_id"], "status_id") if body.get("status_id") is not None else None
    else:
        raw = request.query.get("status_id")
        status_id = as_id(raw, "status_id") if raw else None
    return ok(sim.reactions.status(status_id))


async def schedule(request: web.Request) -> web.Response:
    """Plan reactions on a post from now: ``{likes?, comments?, reposts?}`` exactly, or as
    many as ``intensity`` (default: the current setting) draws."""
    sim = request.app[SIM_KEY]
    status = _status(sim, request)
    body = await read_json(request)
    planned = sim.reactions.schedule(status, intensity=_number(body, "intensity"), counts=_counts(body))
    return ok({"id": str(status.id), "planned": planned, **sim.reactions.status(status.id)}, 201)


async def engage(request: web.Request) -> web.Response:
    """Add ``{likes?, comments?, reposts?}`` to a post now, by simulated customers; comments
    are the same mix as scheduled ones (the first a service question or complaint)."""
    sim = request.app[SIM_KEY]
    status = _status(sim, request)
    counts = _counts(await read_json(request)) or dict.fromkeys(KINDS, 0)
    items = sim.reactions.engage_now(status, counts)
    return ok({**_counts_json(status), "items": items})


def register_reactions(app: web.Application) -> None:
    r = app.router
    r.add_get("/_sim/reactions", reactions)
    r.add_post("/_sim/reactions", reactions)
    r.add_post("/_sim/statuses/{id}/reactions", schedule)
    r.add_post("/_sim/statuses/{id}/engage", engage)
