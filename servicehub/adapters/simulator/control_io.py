"""JSON in and out for the ``/_sim/`` control API, and its one error shape.

Control calls answer ``{"error": "..."}`` with 400 (bad input) or 404 (unknown account,
user, post), never Weibo's envelope, so a test can tell a simulator misuse from a
simulated platform error. Ids go out as strings (JavaScript-safe) and come in as either.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from servicehub.adapters.simulator.api_errors import json_response
from servicehub.adapters.simulator.clock import weibo_date
from servicehub.adapters.simulator.context import Simulator
from servicehub.adapters.simulator.models import OutboxEntry, PushRecord, User


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def control_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/_sim/"):
        return await handler(request)
    try:
        return await handler(request)
    except ControlError as err:
        return json_response({"error": str(err)}, err.status)
    except ValueError as err:
        return json_response({"error": str(err)}, 400)


async def read_json(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ControlError("body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError("body must be a JSON object")
    return body


def as_id(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise ControlError(f"{name} must be a numeric id")
    return int(value)


def opt_int(body: dict[str, Any], name: str, default: int | None = None, minimum: int = 0) -> int | None:
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ControlError(f"{name} must be an integer >= {minimum}")
    return value


def opt_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ControlError(f"{name} must be a string")
    return value


def account_uid(sim: Simulator, body: dict[str, Any]) -> int:
    """``account_uid`` from the body, or the first managed account when there is only a default."""
    if body.get("account_uid") is not None:
        uid = as_id(body["account_uid"], "account_uid")
        if uid not in sim.state.accounts:
            raise ControlError(f"no managed account {uid}", 404)
        return uid
    if not sim.state.accounts:
        raise ControlError("no managed account yet: POST /_sim/accounts first", 404)
    return next(iter(sim.state.accounts))


def customer(sim: Simulator, body: dict[str, Any]) -> User:
    """``user_uid`` (must exist), ``screen_name`` (created when new) or a random customer."""
    state = sim.state
    if body.get("user_uid") is not None:
        user = state.users.get(as_id(body["user_uid"], "user_uid"))
        if user is None:
            raise ControlError(f"no user {body['user_uid']}", 404)
        return user
    name = opt_str(body, "screen_name")
    if name:
        found = state.user_by_name(name)
        if found is not None:
            return found
        return state.add_user(
            name,
            followers_base=opt_int(body, "followers_count", 100) or 0,
            verified=bool(body.get("verified", False)),
            is_customer=True,
        )
    return sim.pick_customer()


def outbox_json(entry: OutboxEntry) -> dict[str, Any]:
    def opt(value: int | None) -> str | None:
        return None if value is None else str(value)

    return {
        "seq": entry.seq,
        "endpoint": entry.endpoint,
        "uid": str(entry.uid),
        "created_at": weibo_date(entry.created_at),
        "params": entry.params,
        "text": entry.text,
        "request_text": entry.request_text,
        "id": str(entry.result_id),
        "status_id": opt(entry.status_id),
        "comment_id": opt(entry.comment_id),
        "receiver_id": opt(entry.receiver_id),
        "result": entry.result,
    }


def push_record_json(record: PushRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "seq": record.seq,
        "account_uid": str(record.account_uid),
        "url": record.url,
        "payload": record.payload,
        "attempts": record.attempts,
        "delivered": record.delivered,
        "status": record.status,
        "error": record.error,
        "response_body": record.response_body,
    }


def ok(data: Any, status: int = 200) -> web.Response:
    return json_response(data, status)
