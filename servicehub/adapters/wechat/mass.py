"""Mass sends (群发) to a user tag, as WeChat's wire format has them (reference §5.4, §6).

The adapter's :meth:`~servicehub.adapters.wechat.client.WeChatAdapter.mass_send` and
``audience_tags`` are thin; what a ``mass/sendall`` body holds, what a ``tags/get`` answer
means and how an answer becomes a :class:`SentRef` are here, checkable without HTTP.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from servicehub.adapters.base import AudienceTag, SentRef
from servicehub.adapters.errors import MalformedPayload, Rejected, Repeated
from servicehub.adapters.wechat.errcodes import CLIENTMSGID_EXISTS
from servicehub.adapters.wechat.reply_rules import check_text

TAGS_GET_PATH = "/cgi-bin/tags/get"
MASS_SENDALL_PATH = "/cgi-bin/message/mass/sendall"
CLIENTMSGID_LIMIT_BYTES = 64  # "开发者侧群发 msgid，长度限制 64 字节" (45067 beyond)


def tags_from(data: dict[str, Any]) -> list[AudienceTag]:
    """The tags of a ``tags/get`` answer, 星标组 included, with WeChat's own fan counts."""
    tags = data.get("tags")
    if not isinstance(tags, list):
        raise MalformedPayload("tags/get answered without a tag list", request=TAGS_GET_PATH)
    out = []
    for tag in tags:
        fields = tag if isinstance(tag, dict) else {}
        tag_id, name, count = fields.get("id"), fields.get("name"), fields.get("count")
        if not isinstance(tag_id, int) or not isinstance(name, str) or not isinstance(count, int):
            raise MalformedPayload("tags/get answered a malformed tag", request=TAGS_GET_PATH)
        out.append(AudienceTag(tag_id=str(tag_id), name=name, count=count))
    return out


def sendall_body(tag_id: str, text: str, client_msg_id: str) -> dict[str, Any]:
    """The ``mass/sendall`` body of a text to one tag; refuses what WeChat would refuse."""
    check_text(text, what="mass-sent text")
    if not tag_id.isdigit():
        raise Rejected(f"WeChat user tags are numbered; {tag_id!r} is not a tag id")
    if not client_msg_id or len(client_msg_id.encode("utf-8")) > CLIENTMSGID_LIMIT_BYTES:
        raise Rejected(
            f"a clientmsgid is 1 to {CLIENTMSGID_LIMIT_BYTES} bytes in UTF-8; got {client_msg_id!r}",
            code=45067,
        )
    return {
        "filter": {"is_to_all": False, "tag_id": int(tag_id)},
        "text": {"content": text},
        "msgtype": "text",
        "clientmsgid": client_msg_id,
    }


def sent_ref(data: dict[str, Any], text: str, now: datetime) -> SentRef:
    """The send a ``mass/sendall`` answer names: a new one, or with 45065 the earlier send
    of the same clientmsgid (its time unknown here), which is what the hub sent."""
    msg_id = data.get("msg_id")
    already = data.get("errcode") == CLIENTMSGID_EXISTS
    if isinstance(msg_id, bool) or not isinstance(msg_id, int | str) or not str(msg_id):
        if already:
            raise Repeated(
                "WeChat says this mass send was made already but did not name it",
                code=CLIENTMSGID_EXISTS,
                request=MASS_SENDALL_PATH,
            )
        raise MalformedPayload("mass/sendall answered without a msg_id", request=MASS_SENDALL_PATH)
    return SentRef(platform_id=str(msg_id), text=text, created_at=None if already else now)
