"""The ``/_sim/`` injection API: put chosen customer activity into the simulated platform.

Mentions, comments, private messages (pushed to the callback and awaited, so a test can
assert on delivery), follow events, engagement on a post, and bursts of N items for
paging and throughput tests. Generated traffic goes through the same Simulator methods.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from servicehub.adapters.simulator.context import SIM_KEY, Simulator
from servicehub.adapters.simulator.control_io import (
    ControlError,
    account_uid,
    as_id,
    customer,
    ok,
    opt_int,
    opt_str,
    push_record_json,
    read_json,
)
from servicehub.adapters.simulator.models import Comment, Status
from servicehub.adapters.simulator.render import comment_json, message_json, status_json

BURST_LIMIT = 100_000


def _text(body: dict[str, Any], default: str | None = None) -> str:
    text = opt_str(body, "text")
    if text is None:
        if default is None:
            raise ControlError("text is required")
        return default
    return text


def _own_post(sim: Simulator, account: int) -> Status:
    """The account's newest post, made on the spot if it has none."""
    status = sim.state.latest_status(account)
    if status is None:
        sim.seed_posts(account, 1)
        status = sim.state.latest_status(account)
        assert status is not None
    return status


def _comment_target(sim: Simulator, account: int, body: dict[str, Any]) -> tuple[Status, Comment | None]:
    state = sim.state
    reply_to = None
    if body.get("reply_to") is not None:
        reply_to = state.comments.get(as_id(body["reply_to"], "reply_to"))
        if reply_to is None:
            raise ControlError(f"no comment {body['reply_to']}", 404)
    if body.get("status_id") is not None:
        status = state.statuses.get(as_id(body["status_id"], "status_id"))
        if status is None:
            raise ControlError(f"no status {body['status_id']}", 404)
    elif reply_to is not None:
        status = state.statuses[reply_to.status_id]
    else:
        status = _own_post(sim, account)
    if reply_to is not None and reply_to.status_id != status.id:
        raise ControlError("reply_to is not a comment on status_id")
    return status, reply_to


async def inject_mention(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    account = account_uid(sim, body)
    status = sim.inject_mention(account, customer(sim, body), _text(body, ""))
    return ok({"id": str(status.id), "status": status_json(sim.state, status, account)}, 201)


async def inject_comment(request: web.Request) -> web.Response:
    """A comment on a post (default: the account's newest); ``mention: true`` adds the @account."""
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    account = account_uid(sim, body)
    user = customer(sim, body)
    status, reply_to = _comment_target(sim, account, body)
    text = _text(body)
    name = sim.state.users[account].screen_name
    if body.get("mention") and account not in sim.state.resolve_mentions(text, user.uid):
        text = f"@{name} {text}"
    comment = sim.inject_comment(status, user, text, reply_to=reply_to)
    return ok({"id": str(comment.id), "comment": comment_json(sim.state, comment, account)}, 201)


async def inject_message(request: web.Request) -> web.Response:
    """A private message to the account; pushed to its callback (awaited) unless ``push: false``."""
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    account = account_uid(sim, body)
    message = sim.inject_message(account, customer(sim, body), _text(body))
    record = await sim.push_message(message) if body.get("push", True) else None
    return ok(
        {
            "id": str(message.id),
            "message": message_json(sim.state, message),
            "push": push_record_json(record),
        },
        201,
    )


async def inject_event(request: web.Request) -> web.Response:
    """A fans-service event; ``follow`` / ``unfollow`` also change the follow graph."""
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    account = account_uid(sim, body)
    user = customer(sim, body)
    subtype = opt_str(body, "subtype") or "follow"
    changed = None
    if subtype == "follow":
        changed = sim.state.follow(user.uid, account)
    elif subtype == "unfollow":
        changed = sim.state.unfollow(user.uid, account)
    record = await sim.push_event(account, user.uid, subtype)
    return ok({"user_uid": str(user.uid), "changed": changed, "push": push_record_json(record)}, 201)


async def engagement(request: web.Request) -> web.Response:
    """Likes, reposts and comments by random customers on one post (e.g. a hub publication)."""
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    if body.get("status_id") is None:
        raise ControlError("status_id is required")
    status = sim.state.statuses.get(as_id(body["status_id"], "status_id"))
    if status is None:
        raise ControlError(f"no status {body['status_id']}", 404)
    status.attitudes_count += opt_int(body, "likes", 0) or 0
    for _ in range(opt_int(body, "reposts", 0) or 0):
        sim.inject_status(sim.pick_customer(), "转发微博", parent=status)
    for index in range(opt_int(body, "comments", 0) or 0):
        sim.inject_comment(status, sim.pick_customer(), ("支持", "已转", "怎么参加？", "[赞]")[index % 4])
    return ok(
        {
            "id": str(status.id),
            "reposts": status.reposts_count,
            "comments": status.comments_count,
            "attitudes": status.attitudes_count,
        }
    )


async def burst(request: web.Request) -> web.Response:
    """N mentions / comments / messages at once; ``{i}`` in ``text`` is replaced by 1..N."""
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    account = account_uid(sim, body)
    n = opt_int(body, "n", 1, minimum=1) or 1
    if n > BURST_LIMIT:
        raise ControlError(f"n is limited to {BURST_LIMIT}")
    kind = opt_str(body, "kind") or "mention"
    if kind not in ("mention", "comment", "message"):
        raise ControlError("kind must be mention, comment or message")
    template = _text(body, "第{i}条：信号太差了，什么时候修好？")
    fixed_user = customer(sim, body) if body.get("user_uid") or body.get("screen_name") else None
    push = bool(body.get("push", True))
    post = _own_post(sim, account) if kind == "comment" else None
    ids: list[str] = []
    with sim.state.lock:
        for i in range(1, n + 1):
            user = fixed_user or sim.pick_customer()
            text = template.replace("{i}", str(i))
            if post is not None:
                ids.append(str(sim.inject_comment(post, user, text).id))
            elif kind == "message":
                message = sim.inject_message(account, user, text)
                if push:
                    sim.push_message_later(message)
                ids.append(str(message.id))
            else:
                ids.append(str(sim.inject_mention(account, user, text).id))
    return ok({"count": n, "kind": kind, "ids": ids, "first_id": ids[0], "last_id": ids[-1]}, 201)


async def backlog(request: web.Request) -> web.Response:
    """N items that arrived *before now*: what an account already holds when it is connected.

    ``from_hours`` and ``to_hours`` ago (oldest, newest) bound them, spread evenly, with ids
    that fit their times among everything else; ``{i}`` in ``text`` is replaced by 1..N.
    """
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    account = account_uid(sim, body)
    n = opt_int(body, "n", 1, minimum=1) or 1
    if n > BURST_LIMIT:
        raise ControlError(f"n is limited to {BURST_LIMIT}")
    kind = opt_str(body, "kind") or "mention"
    if kind not in ("mention", "comment", "message"):
        raise ControlError("kind must be mention, comment or message")
    oldest, newest = body.get("from_hours", 24), body.get("to_hours", 0.1)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (oldest, newest)):
        raise ControlError("from_hours and to_hours must be numbers")
    if not oldest >= newest > 0:
        raise ControlError("from_hours must be >= to_hours > 0")
    template = _text(body, "积压第{i}条：宽带一直连不上，请尽快处理")
    state, now = sim.state, sim.clock.now()
    step = (oldest - newest) * 3600 / max(n - 1, 1)
    times = [now - oldest * 3600 + i * step for i in range(n)]
    ids: list[str] = []
    with state.lock:
        post = None
        if kind == "comment":
            post = state.add_status(
                account, "【公告】宽带维护通知", sim.app_source(sim.app_of(account)), at=times[0] - 3600
            )
        for i, at in enumerate(times, start=1):
            user = sim.pick_customer()
            text = template.replace("{i}", str(i))
            if post is not None:
                record_id = state.add_comment(post, user.uid, text, "微博 weibo.com", at=at).id
            elif kind == "message":
                record_id = state.add_message(user.uid, account, text, at=at).id
            else:
                name = state.users[account].screen_name
                record_id = state.add_status(user.uid, f"@{name} {text}", "微博 weibo.com", at=at).id
            ids.append(str(record_id))
    return ok({"count": n, "kind": kind, "ids": ids, "first_id": ids[0], "last_id": ids[-1]}, 201)


def register_injection(app: web.Application) -> None:
    r = app.router
    r.add_post("/_sim/mentions", inject_mention)
    r.add_post("/_sim/comments", inject_comment)
    r.add_post("/_sim/messages", inject_message)
    r.add_post("/_sim/events", inject_event)
    r.add_post("/_sim/engagement", engagement)
    r.add_post("/_sim/burst", burst)
    r.add_post("/_sim/backlog", backlog)
