"""WeChat push XML: parsed defensively, unwrapped in safe mode, normalized to InboundItems.

The callback URL is public, so anything may arrive there before its signature is even
looked at. Bodies are capped in size, and any DOCTYPE is refused before ElementTree sees
the bytes: that stops entity expansion and external entities without trusting the
parser's own limits. Every failure is a :class:`MalformedPayload`.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.parsers import expat

from servicehub.adapters.base import InboundItem, ItemKind, MediaRef, PlatformUser, ReplyTarget
from servicehub.adapters.errors import MalformedPayload
from servicehub.adapters.wechat.crypto import MessageCrypto

PLATFORM = "wechat"
# What a callback answers once a push is accepted (within WeChat's 5 s, or it pushes again).
PUSH_ACK_BODY = "success"
MAX_PUSH_BYTES = 64 * 1024
_MAX_DEPTH = 4

# What a non-text customer message reads as in the workbench; raw keeps the media ids.
_PLACEHOLDERS = {
    "image": "[图片]",
    "voice": "[语音]",
    "video": "[视频]",
    "shortvideo": "[小视频]",
    "location": "[位置]",
    "link": "[链接]",
}
_KNOWN_TYPES = frozenset({"text", "event", *_PLACEHOLDERS})
# Message types whose content is a file fetched by its MediaId (reference §2.3, §4.1).
_MEDIA_TYPES = frozenset({"image", "voice", "video", "shortvideo"})
# Messages.platform_id holds 64 characters; an event id longer than that is shortened.
MAX_ID_LENGTH = 64


def _refuse_doctype(body: bytes) -> None:
    """Raise on a DOCTYPE: every entity trick needs one, and WeChat never sends one."""

    def refuse(*_: object) -> None:
        raise MalformedPayload("push XML with a DOCTYPE is refused", body=_preview(body))

    probe = expat.ParserCreate()
    probe.StartDoctypeDeclHandler = refuse
    try:
        probe.Parse(body, True)
    except expat.ExpatError as exc:
        raise MalformedPayload(f"push is not well-formed XML: {exc}", body=_preview(body)) from None


def _preview(body: bytes) -> str:
    return body[:2000].decode("utf-8", "replace")


def _value(element: ET.Element, depth: int) -> Any:
    if len(element) == 0:
        return element.text or ""
    if depth >= _MAX_DEPTH:
        return {}
    return {child.tag: _value(child, depth + 1) for child in element}


def parse_xml(body: bytes) -> dict[str, Any]:
    """The children of the ``<xml>`` root as a dict (nested elements become nested dicts)."""
    if len(body) > MAX_PUSH_BYTES:
        raise MalformedPayload(f"push body of {len(body)} bytes exceeds the {MAX_PUSH_BYTES}-byte cap")
    _refuse_doctype(body)
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise MalformedPayload(f"push is not well-formed XML: {exc}", body=_preview(body)) from None
    if root.tag != "xml":
        raise MalformedPayload(f"push root is <{root.tag}>, expected <xml>", body=_preview(body))
    return {child.tag: _value(child, 1) for child in root}


def read_push(body: bytes, crypto: MessageCrypto | None) -> dict[str, Any]:
    """The message fields of a push, decrypting a safe-mode ``<Encrypt>`` envelope.

    With a key configured only encrypted pushes are accepted: a plaintext body is covered
    by no signature, so accepting one would let anyone who saw a signed URL forge messages.
    """
    fields = parse_xml(body)
    encrypted = fields.get("Encrypt")
    if crypto is not None:
        if not isinstance(encrypted, str) or not encrypted:
            raise MalformedPayload("expected an encrypted (safe-mode) push", body=_preview(body))
        return parse_xml(crypto.decrypt(encrypted))
    if encrypted and "MsgType" not in fields:  # compatible mode carries plaintext alongside
        raise MalformedPayload("push is encrypted but no encoding_aes_key is configured")
    return fields


def encrypted_part(body: bytes) -> str | None:
    """The ``<Encrypt>`` text of a safe-mode body, which ``msg_signature`` covers."""
    value = parse_xml(body).get("Encrypt")
    return value if isinstance(value, str) and value else None


def _require(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"push lacks <{name}>", body=repr(dict(fields))[:2000])
    return value


def _describe(msg_type: str, fields: Mapping[str, Any]) -> str:
    if msg_type == "text":
        return str(fields.get("Content", ""))
    label = _PLACEHOLDERS[msg_type]
    detail = {
        "voice": fields.get("Recognition"),
        "location": fields.get("Label"),
        "link": " ".join(str(fields.get(k, "")) for k in ("Title", "Url")).strip(),
    }.get(msg_type)
    return f"{label} {detail}" if detail else label


def items_from_fields(fields: Mapping[str, Any]) -> list[InboundItem]:
    """Zero or one normalized item; message types WeChat may add later are ignored."""
    msg_type = _require(fields, "MsgType")
    if msg_type not in _KNOWN_TYPES:
        return []
    openid = _require(fields, "FromUserName")
    account = _require(fields, "ToUserName")
    create_time = _require(fields, "CreateTime")
    try:
        unix_time = int(create_time)
        created_at = datetime.fromtimestamp(unix_time, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise MalformedPayload(f"push CreateTime {create_time!r} is not a unix time") from None
    media: tuple[MediaRef, ...] = ()
    if msg_type == "event":
        event = _require(fields, "Event")
        kind = ItemKind.EVENT
        key = fields.get("EventKey")
        key = key if isinstance(key, str) else ""
        platform_id = event_id(openid, unix_time, event, key)
        text = f"{event}:{key}" if key else event
    else:
        kind = ItemKind.PRIVATE_MESSAGE
        platform_id = _require(fields, "MsgId")
        text = _describe(msg_type, fields)
        if msg_type in _MEDIA_TYPES and fields.get("MediaId"):
            media = (_media(msg_type, fields),)
    return [
        InboundItem(
            platform=PLATFORM,
            kind=kind,
            platform_id=platform_id,
            account_uid=account,
            author=PlatformUser(platform=PLATFORM, uid=openid, screen_name=openid),
            text=text,
            created_at=created_at,
            thread_id=openid,
            reply_target=ReplyTarget(kind="private_message", user_uid=openid),
            raw=dict(fields),
            media=media,
        )
    ]


def event_id(openid: str, unix_time: int, event: str, key: str) -> str:
    """The id of an event push: events have no MsgId, so sender + time + event (WeChat's
    advice) + its key, which tells two menu clicks of one second apart. Past 64 characters
    (``subscribe_msg_change_event``, a VIEW event's URL key) the event part is a digest."""
    readable = f"{openid}:{unix_time}:{event}" + (f":{key}" if key else "")
    if len(readable) <= MAX_ID_LENGTH:
        return readable
    digest = hashlib.sha1(f"{event}\x00{key}".encode()).hexdigest()[:16]
    return f"{openid}:{unix_time}:{digest}"[:MAX_ID_LENGTH]


def _media(msg_type: str, fields: Mapping[str, Any]) -> MediaRef:
    def opt(name: str) -> str | None:
        value = fields.get(name)
        return value if isinstance(value, str) and value else None

    return MediaRef(
        kind=msg_type,
        media_id=_require(fields, "MediaId"),
        thumb_media_id=opt("ThumbMediaId"),
        url=opt("PicUrl"),
        format=opt("Format"),
    )
