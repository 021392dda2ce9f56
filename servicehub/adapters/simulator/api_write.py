"""Write endpoints the hub uses to answer and publish: comments, replies, share, repost.

Every success is also written to the outbox so tests and the demo can see exactly what
the hub sent. Content rules match Weibo's: 140 汉字 (ASCII half, links 10), no repeat of
one's own previous comment (20019) or post (20111), links rewritten to t.cn, and
``statuses/share`` only with a link on the app's 安全域名 and without #话题#; a shared post
then draws customers' reactions when they are on (:mod:`.reactions`).
``statuses/update`` has been closed to third-party apps since 2017 (10014).
"""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp.web_request import FileField

from servicehub.adapters.simulator.api_errors import ApiError, invalid
from servicehub.adapters.simulator.dispatch import ApiCall, RouteTable
from servicehub.adapters.simulator.models import Status
from servicehub.adapters.simulator.render import comment_json, status_json
from servicehub.adapters.simulator.textrules import (
    STATUS_LIMIT,
    has_topic,
    host_in_domains,
    shorten_urls,
    url_hosts,
    weibo_length,
)

routes = RouteTable()


def check_length(text: str) -> None:
    if weibo_length(text) > STATUS_LIMIT:
        raise ApiError(20012)


def _status(call: ApiCall, name: str = "id") -> Status:
    status = call.state.statuses.get(call.require_id(name))
    if status is None:
        raise ApiError(20101)
    return status


def _source(call: ApiCall) -> str:
    return call.sim.app_source(call.state.apps[call.token.app_key])


def _check_repeat_comment(call: ApiCall, stored: str) -> None:
    if call.state.last_comment_text.get(call.uid) == stored:
        raise ApiError(20019)


@routes.api("comments/create", "POST", quota="comment")
async def comments_create(call: ApiCall) -> dict[str, Any]:
    text = call.text("comment")
    status = _status(call)
    check_length(text)
    stored = shorten_urls(text)
    _check_repeat_comment(call, stored)
    state = call.state
    with state.lock:
        comment = state.add_comment(status, call.uid, stored, _source(call), from_hub=True)
        if call.flag("comment_ori") == 1 and status.root_id is not None and status.root_id in state.statuses:
            state.add_comment(state.statuses[status.root_id], call.uid, stored, _source(call), from_hub=True)
        result = comment_json(state, comment, call.uid)
        state.record_outbox(
            "comments/create",
            call.uid,
            call.params,
            text=stored,
            request_text=text,
            result_id=comment.id,
            result=result,
            status_id=status.id,
        )
    return result


@routes.api("comments/reply", "POST", quota="comment")
async def comments_reply(call: ApiCall) -> dict[str, Any]:
    """Reply to comment ``cid`` under post ``id``; ``回复@昵称:`` is prepended unless without_mention=1."""
    state = call.state
    cid = call.require_id("cid")
    status = _status(call)
    text = call.text("comment")
    replied = state.comments.get(cid)
    if replied is None:
        raise ApiError(20201)
    if replied.status_id != status.id:
        raise invalid("id", str(replied.status_id), str(status.id))
    check_length(text)
    if call.flag("without_mention") == 1:
        stored = shorten_urls(text)
    else:
        stored = shorten_urls(f"回复@{state.users[replied.uid].screen_name}:{text}")
    _check_repeat_comment(call, stored)
    with state.lock:
        comment = state.add_comment(status, call.uid, stored, _source(call), reply_to=replied, from_hub=True)
        result = comment_json(state, comment, call.uid)
        state.record_outbox(
            "comments/reply",
            call.uid,
            call.params,
            text=stored,
            request_text=text,
            result_id=comment.id,
            result=result,
            status_id=status.id,
            comment_id=replied.id,
        )
    return result


@routes.api("statuses/update", "POST", quota="post")
async def statuses_update(call: ApiCall) -> dict[str, Any]:
    raise ApiError(10014)


PIC_MAX_BYTES = 5 * 1024 * 1024
_PIC_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")


async def _picture(call: ApiCall) -> tuple[str, ...]:
    """The ``pic`` of a share: multipart only (20007), JPEG/PNG/GIF (20005), under 5 MB (20006)."""
    if call.request.content_type != "multipart/form-data":
        if "pic" in call.params:
            raise ApiError(20007)
        return ()
    form = await call.request.post()  # parsed once already: aiohttp keeps it
    field = form.get("pic")
    if field is None:
        return ()
    if not isinstance(field, FileField):
        raise ApiError(20007)
    data = field.file.read()
    if len(data) > PIC_MAX_BYTES:
        raise ApiError(20006)
    if not data.startswith(_PIC_MAGIC):
        raise ApiError(20005)
    return (hashlib.sha1(data).hexdigest()[:22],)


@routes.api("statuses/share", "POST", quota="post")
async def statuses_share(call: ApiCall) -> dict[str, Any]:
    state = call.state
    text = call.text("status")
    check_length(text)
    if has_topic(text):
        raise ApiError(10017, message="text can not contain topic!")
    app = state.apps[call.token.app_key]
    if not any(host_in_domains(host, app.safe_domains) for host in url_hosts(text)):
        raise ApiError(10017, message="text not find domain!")
    pics = await _picture(call)
    stored = shorten_urls(text)
    if state.last_status_text.get(call.uid) == stored:
        raise ApiError(20111)
    with state.lock:
        status = state.add_status(call.uid, stored, _source(call), from_hub=True)
        status.pic_ids = pics
        result = status_json(state, status, call.uid)
        state.record_outbox(
            "statuses/share",
            call.uid,
            call.params,
            text=stored,
            request_text=text,
            result_id=status.id,
            result=result,
        )
    call.sim.reactions.on_hub_post(status)  # customers start reacting to it (when on)
    return result


@routes.api("statuses/repost", "POST", quota="post")
async def statuses_repost(call: ApiCall) -> dict[str, Any]:
    """Repost ``id``; reposting a repost keeps the chain as ``text//@author:their text``."""
    state = call.state
    parent = _status(call)
    text = (call.get("status") or "").strip() or "转发微博"
    check_length(text)
    is_comment = call.flag("is_comment")
    stored = shorten_urls(text)
    if parent.root_id is not None:
        stored = f"{stored}//@{state.users[parent.uid].screen_name}:{parent.text}"
    with state.lock:
        status = state.add_status(call.uid, stored, _source(call), parent=parent, from_hub=True)
        targets = []
        if is_comment in (1, 3):
            targets.append(parent)
        if is_comment in (2, 3) and parent.root_id is not None and parent.root_id in state.statuses:
            targets.append(state.statuses[parent.root_id])
        for target in targets:
            state.add_comment(target, call.uid, shorten_urls(text), _source(call), from_hub=True)
        result = status_json(state, status, call.uid)
        state.record_outbox(
            "statuses/repost",
            call.uid,
            call.params,
            text=stored,
            request_text=text,
            result_id=status.id,
            result=result,
            status_id=parent.id,
        )
    return result
