"""Fans-service (粉丝服务平台) pushes: signature check and JSON message parsing.

Weibo POSTs each private message, event or @-mention to our callback URL with
``signature``, ``timestamp`` and ``nonce`` in the query string, where ``signature`` is
the hex sha1 of the dictionary-sorted ``[app_secret, timestamp, nonce]`` concatenated.
The same check guards the one-off GET that verifies the URL (answer ``echostr``). A
stale timestamp is refused too, so a captured request cannot be replayed days later.

Pushes carry no message id; Weibo retries a push up to three times, so the id we make
is a digest of its content: a retry maps to the same id and the listener's dedup drops
it. Mention pushes use the mentioned post's (or comment's) own id instead, so they
deduplicate against the same item fetched by polling.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from servicehub.adapters.base import InboundItem, ItemKind, PlatformUser, ReplyTarget
from servicehub.adapters.errors import MalformedPayload
from servicehub.adapters.weibo.mapping import PLATFORM, id_value, obj, parse_created_at

DEFAULT_MAX_SKEW_SECONDS = 300

# Types a fan sends as a private message; their ``text`` is the message or a placeholder
# such as "发送了一个位置" and ``data`` holds the rest (coordinates, voice file ids).
MESSAGE_TYPES = frozenset({"text", "position", "voice", "image"})


def push_signature(app_secret: str, timestamp: str, nonce: str) -> str:
    """The signature Weibo computes for a push (also used by the simulator and tests)."""
    joined = "".join(sorted([app_secret, timestamp, nonce]))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def verify_signature(
    app_secret: str,
    params: Mapping[str, str],
    *,
    now: datetime | None = None,
    max_skew_seconds: int = DEFAULT_MAX_SKEW_SECONDS,
) -> bool:
    """True when ``params`` carry a valid, fresh signature for ``app_secret``."""
    signature = params.get("signature", "")
    timestamp = params.get("timestamp", "")
    nonce = params.get("nonce", "")
    if not (app_secret and signature and timestamp and nonce):
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    now_ts = (now or datetime.now(UTC)).timestamp()
    if abs(now_ts - sent_at) > max_skew_seconds:
        return False
    expected = push_signature(app_secret, timestamp, nonce)
    return hmac.compare_digest(expected, signature.strip().lower())


def echo_reply(
    app_secret: str,
    params: Mapping[str, str],
    *,
    now: datetime | None = None,
    max_skew_seconds: int = DEFAULT_MAX_SKEW_SECONDS,
) -> str | None:
    """The body to answer Weibo's GET URL verification with, or None to refuse it."""
    if "echostr" not in params:
        return None
    if not verify_signature(app_secret, params, now=now, max_skew_seconds=max_skew_seconds):
        return None
    return params["echostr"]


def parse_push_body(body: bytes, content_type: str, account_uid: str) -> list[InboundItem]:
    """A pushed JSON message (or a list of them) -> items; unknown types are ignored."""
    if "xml" in content_type.lower():
        raise MalformedPayload(
            "Weibo push arrived as XML; switch the fans-service push format to JSON (Eps/push/set_format)",
            body=body.decode("utf-8", "replace"),
        )
    try:
        decoded: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:  # deep nesting
        raise MalformedPayload("Weibo push body is not JSON", body=body.decode("utf-8", "replace")) from exc
    messages = decoded if isinstance(decoded, list) else [decoded]
    items = []
    for message in messages:
        item = push_to_item(message, account_uid)
        if item is not None:
            items.append(item)
    return items


def push_to_item(payload: Any, account_uid: str) -> InboundItem | None:
    """One pushed message -> an item, or None for a type the hub does not handle."""
    message = obj(payload, "push")
    kind_name = message.get("type")
    if not isinstance(kind_name, str):
        raise MalformedPayload("Weibo payload is missing required field 'push.type'")
    raw_data = message.get("data")
    data: Mapping[str, Any] = raw_data if isinstance(raw_data, Mapping) else {}
    if kind_name in MESSAGE_TYPES:
        kind = ItemKind.PRIVATE_MESSAGE
    elif kind_name == "event":
        kind = ItemKind.EVENT
    elif kind_name == "mention" and data.get("subtype") in ("status", "comment"):
        kind = ItemKind.MENTION if data["subtype"] == "status" else ItemKind.COMMENT_MENTION
    else:
        return None
    sender_uid = id_value(message.get("sender_id"), "push.sender_id")
    created_at = parse_created_at(message.get("created_at"), "push.created_at")
    text = str(message.get("text") or "")
    author = PlatformUser(platform=PLATFORM, uid=sender_uid, screen_name="")
    if kind is ItemKind.MENTION:
        status_id = id_value(data.get("key"), "push.data.key")
        platform_id, thread_id = status_id, status_id
        target = ReplyTarget(kind="comment_status", status_id=status_id)
    elif kind is ItemKind.COMMENT_MENTION:
        # The push names only the comment; the reply looks its post up (comments/show_batch).
        comment_id = id_value(data.get("key"), "push.data.key")
        platform_id, thread_id = comment_id, comment_id
        target = ReplyTarget(kind="reply_comment", comment_id=comment_id)
    else:
        platform_id = _push_id(message, sender_uid, created_at)
        thread_id = sender_uid
        target = ReplyTarget(kind="private_message", user_uid=sender_uid)
    return InboundItem(
        platform=PLATFORM,
        kind=kind,
        platform_id=platform_id,
        account_uid=account_uid,
        author=author,
        text=text,
        created_at=created_at,
        thread_id=thread_id,
        reply_target=target,
        raw=message,
    )


def _push_id(message: Mapping[str, Any], sender_uid: str, created_at: datetime) -> str:
    """The long-connection API gives an ``id``; callback pushes do not, so derive a stable one."""
    if message.get("id") not in (None, ""):
        return id_value(message["id"], "push.id")
    content = json.dumps(
        [message.get("type"), message.get("text"), message.get("data")], ensure_ascii=False, sort_keys=True
    )
    digest = hashlib.sha1(content.encode("utf-8")).hexdigest()[:10]
    return f"push-{sender_uid}-{int(created_at.timestamp())}-{digest}"
