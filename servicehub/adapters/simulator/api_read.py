"""Read endpoints: mention and comment timelines, posts, counts, users, followers, quotas.

All timelines share :mod:`.paging` (newest first, since_id exclusive, max_id inclusive,
count clamped). ``statuses/count`` answers a bare array and silently drops unknown ids,
as the v1 docs promised and clients rely on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from servicehub.adapters.simulator.api_errors import ApiError
from servicehub.adapters.simulator.dispatch import ApiCall, RouteTable
from servicehub.adapters.simulator.models import Comment, Status
from servicehub.adapters.simulator.paging import PageRequest, cursor_page, envelope, page_ids
from servicehub.adapters.simulator.render import comment_json, status_json, user_json

routes = RouteTable()


Keep = Callable[[int], bool]


def _author_filter(call: ApiCall, author_of: Mapping[int, Status | Comment]) -> Keep | None:
    """filter_by_author: 0 everyone, 1 people the account follows, 2 strangers."""
    mode = call.flag("filter_by_author")
    if mode == 0:
        return None
    following = call.state.following.get(call.uid, set())
    wanted = mode == 1
    return lambda item_id: (author_of[item_id].uid in following) == wanted


@routes.api("statuses/mentions")
async def statuses_mentions(call: ApiCall) -> dict[str, Any]:
    state = call.state
    req = PageRequest.from_params(call.params, 20, 200)
    by_author = _author_filter(call, state.statuses)
    originals_only = call.flag("filter_by_type") == 1

    def keep(sid: int) -> bool:
        if originals_only and state.statuses[sid].root_id is not None:
            return False
        return by_author is None or by_author(sid)

    with state.lock:
        filtered = by_author is not None or originals_only
        page = page_ids(state.mentions_of.get(call.uid, []), req, keep if filtered else None)
        items = [status_json(state, state.statuses[i], call.uid) for i in page.ids]
    return envelope("statuses", items, page)


@routes.api("statuses/mentions/ids")
async def statuses_mentions_ids(call: ApiCall) -> dict[str, Any]:
    req = PageRequest.from_params(call.params, 50, 200)
    page = page_ids(call.state.mentions_of.get(call.uid, []), req)
    return envelope("statuses", [str(i) for i in page.ids], page)


def _comment_list(call: ApiCall, source: list[int], *, with_author_filter: bool = True) -> dict[str, Any]:
    state = call.state
    req = PageRequest.from_params(call.params, 50, 200)
    keep = _author_filter(call, state.comments) if with_author_filter else None
    with state.lock:
        page = page_ids(source, req, keep)
        items = [comment_json(state, state.comments[i], call.uid) for i in page.ids]
    return envelope("comments", items, page)


@routes.api("comments/mentions")
async def comments_mentions(call: ApiCall) -> dict[str, Any]:
    return _comment_list(call, call.state.comments_mentioning.get(call.uid, []))


@routes.api("comments/to_me")
async def comments_to_me(call: ApiCall) -> dict[str, Any]:
    return _comment_list(call, call.state.comments_to.get(call.uid, []))


@routes.api("comments/by_me")
async def comments_by_me(call: ApiCall) -> dict[str, Any]:
    return _comment_list(call, call.state.comments_by.get(call.uid, []), with_author_filter=False)


@routes.api("comments/show")
async def comments_show(call: ApiCall) -> dict[str, Any]:
    status_id = call.require_id("id")
    if status_id not in call.state.statuses:
        raise ApiError(20101)
    return _comment_list(call, call.state.comments_on.get(status_id, []))


@routes.api("comments/show_batch")
async def comments_show_batch(call: ApiCall) -> list[dict[str, Any]]:
    ids = _id_list(call, "cids", 50)
    state = call.state
    return [comment_json(state, state.comments[i], call.uid) for i in ids if i in state.comments]


@routes.api("statuses/repost_timeline")
async def repost_timeline(call: ApiCall) -> dict[str, Any]:
    state = call.state
    status_id = call.require_id("id")
    if status_id not in state.statuses:
        raise ApiError(20101)
    req = PageRequest.from_params(call.params, 20, 200)
    with state.lock:
        page = page_ids(state.reposts_of.get(status_id, []), req, _author_filter(call, state.statuses))
        items = [status_json(state, state.statuses[i], call.uid) for i in page.ids]
    return envelope("reposts", items, page)


@routes.api("statuses/user_timeline")
async def user_timeline(call: ApiCall) -> dict[str, Any]:
    """Only the authorised user's own posts since the 2014 interface upgrade (else 21335)."""
    state = call.state
    if (call.get("uid") or call.get("screen_name")) and call.target_user().uid != call.uid:
        raise ApiError(21335)
    req = PageRequest.from_params(call.params, 20, 100)
    with state.lock:
        page = page_ids(state.statuses_by.get(call.uid, []), req)
        items = [status_json(state, state.statuses[i], call.uid) for i in page.ids]
    return envelope("statuses", items, page)


def _id_list(call: ApiCall, name: str, limit: int) -> list[int]:
    raw = [part.strip() for part in call.require(name).split(",") if part.strip()]
    if not raw:
        raise ApiError(20001)
    if len(raw) > limit:
        raise ApiError(20009)
    return [int(part) for part in raw if part.isdigit()]


@routes.api("statuses/count")
async def statuses_count(call: ApiCall) -> list[dict[str, Any]]:
    state = call.state
    out = []
    for status_id in _id_list(call, "ids", 100):
        status = state.statuses.get(status_id)
        if status is None:
            continue  # unknown or deleted ids are dropped without a word
        out.append(
            {
                "id": status.id,
                "idstr": str(status.id),
                "comments": status.comments_count,
                "reposts": status.reposts_count,
                "attitudes": status.attitudes_count,
                "number_display_strategy": {
                    "apply_scenario_flag": 3,
                    "display_text_min_number": 1000000,
                    "display_text": "100万+",
                },
            }
        )
    return out


@routes.api("statuses/show")
async def statuses_show(call: ApiCall) -> dict[str, Any]:
    status = call.state.statuses.get(call.require_id("id"))
    if status is None:
        raise ApiError(20101)
    return status_json(call.state, status, call.uid)


@routes.api("users/show")
async def users_show(call: ApiCall) -> dict[str, Any]:
    return user_json(call.state, call.target_user(), call.uid, with_status=True)


def _followers_of_me(call: ApiCall) -> list[int]:
    """Newest follower first; only the authorised user's own list may be read (21335)."""
    if call.target_user().uid != call.uid:
        raise ApiError(21335)
    return list(reversed(call.state.followers.get(call.uid, {})))


@routes.api("friendships/followers")
async def followers(call: ApiCall) -> dict[str, Any]:
    state = call.state
    page = cursor_page(_followers_of_me(call), call.params, 50, 200)
    trim = (call.get("trim_status") or "1").strip() != "0"
    users = [user_json(state, state.users[uid], call.uid, with_status=not trim) for uid in page.items]
    return {
        "users": users,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
        "total_number": page.total,
    }


@routes.api("friendships/friends")
async def friends(call: ApiCall) -> dict[str, Any]:
    """The accounts the authorised user follows, most recently followed first (its own list only)."""
    state = call.state
    if call.target_user().uid != call.uid:
        raise ApiError(21335)
    followed = sorted(
        state.following.get(call.uid, set()), key=lambda uid: -state.followers[uid].get(call.uid, 0.0)
    )
    page = cursor_page(followed, call.params, 50, 200)
    users = [user_json(state, state.users[uid], call.uid, with_status=False) for uid in page.items]
    return {
        "users": users,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
        "total_number": page.total,
    }


@routes.api("friendships/followers/ids")
async def follower_ids(call: ApiCall) -> dict[str, Any]:
    page = cursor_page(_followers_of_me(call), call.params, 500, 5000)
    return {
        "ids": page.items,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
        "total_number": page.total,
    }


@routes.api("account/get_uid")
async def get_uid(call: ApiCall) -> dict[str, Any]:
    return {"uid": str(call.uid)}


@routes.api("account/rate_limit_status", counted=False)
async def rate_limit_status(call: ApiCall) -> dict[str, Any]:
    return call.sim.quotas.status(call.token.token, call.request.remote or "127.0.0.1")
