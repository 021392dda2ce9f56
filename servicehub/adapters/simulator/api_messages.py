"""Private messages: the direct_messages API and the fans-service ``messages/reply``.

``direct_messages/new`` only reaches users who follow the account (20301).
``messages/reply`` (form: type, data = URL-encoded JSON, receiver_id) is allowed only
while the fan's last message or follow event is younger than the 48-hour window; it is
exempt from the per-API hourly quota, as the fans-service platform promises.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from servicehub.adapters.simulator.api_errors import ApiError, invalid
from servicehub.adapters.simulator.clock import weibo_date
from servicehub.adapters.simulator.dispatch import ApiCall, RouteTable
from servicehub.adapters.simulator.paging import PageRequest, envelope, page_ids
from servicehub.adapters.simulator.render import message_json
from servicehub.adapters.simulator.textrules import MESSAGE_LIMIT, weibo_length

routes = RouteTable()


def check_message_length(text: str) -> None:
    if weibo_length(text) > MESSAGE_LIMIT:
        raise ApiError(20013)


def _message_list(call: ApiCall, source: list[int]) -> dict[str, Any]:
    state = call.state
    req = PageRequest.from_params(call.params, 50, 200)
    with state.lock:
        page = page_ids(source, req)
        items = [message_json(state, state.messages[i]) for i in page.ids]
    return envelope("direct_messages", items, page)


@routes.api("direct_messages")
async def direct_messages(call: ApiCall) -> dict[str, Any]:
    return _message_list(call, call.state.messages_to.get(call.uid, []))


@routes.api("direct_messages/sent")
async def direct_messages_sent(call: ApiCall) -> dict[str, Any]:
    return _message_list(call, call.state.messages_from.get(call.uid, []))


@routes.api("direct_messages/new", "POST", quota="message")
async def direct_messages_new(call: ApiCall) -> dict[str, Any]:
    state = call.state
    recipient = call.target_user()
    text = call.text("text")
    check_message_length(text)
    if not state.follows(recipient.uid, call.uid):
        raise ApiError(20301)
    with state.lock:
        message = state.add_message(call.uid, recipient.uid, text, from_hub=True)
        result = message_json(state, message)
        state.record_outbox(
            "direct_messages/new",
            call.uid,
            call.params,
            text=text,
            request_text=text,
            result_id=message.id,
            result=result,
            receiver_id=recipient.uid,
        )
    return result


def _reply_data(raw: str) -> dict[str, Any]:
    """``data`` arrives URL-encoded inside the form; tolerate a second layer of encoding."""
    for candidate in (raw, unquote(raw)):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise invalid("data", "url-encoded json object", raw)


@routes.api("messages/reply", "POST")
async def messages_reply(call: ApiCall) -> dict[str, Any]:
    state = call.state
    msg_type = call.require("type").strip()
    data = _reply_data(call.require("data"))
    receiver_raw = call.require("receiver_id").strip()
    if not receiver_raw.isdigit():
        raise invalid("receiver_id", "int64", receiver_raw)
    receiver = state.users.get(int(receiver_raw))
    if receiver is None:
        raise ApiError(20003)
    if msg_type == "text":
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(20008)
        check_message_length(text)
    elif msg_type == "articles":
        articles = data.get("articles")
        if not isinstance(articles, list) or not articles:
            raise invalid("data", "articles list", json.dumps(data, ensure_ascii=False))
        text = str(articles[0].get("display_name", "")) if isinstance(articles[0], dict) else ""
    elif msg_type == "position":
        if "longitude" not in data or "latitude" not in data:
            raise invalid("data", "longitude and latitude", json.dumps(data, ensure_ascii=False))
        text = "发送了一个位置"
    else:
        raise invalid("type", "text, articles or position", msg_type)
    last = state.last_inbound.get((call.uid, receiver.uid))
    if last is None or call.sim.clock.now() - last > call.sim.config.message_window:
        raise ApiError(20302, message="Illegal direct message: the fan has not messaged you in 48 hours")
    with state.lock:
        message = state.add_message(call.uid, receiver.uid, text, msg_type=msg_type, data=data, from_hub=True)
        result = {
            "id": message.id,
            "idstr": str(message.id),
            "type": msg_type,
            "receiver_id": receiver.uid,
            "sender_id": call.uid,
            "created_at": weibo_date(message.created_at),
            "text": text,
            "data": data,
        }
        state.record_outbox(
            "messages/reply",
            call.uid,
            call.params,
            text=text,
            request_text=text,
            result_id=message.id,
            result=result,
            receiver_id=receiver.uid,
        )
    return result
