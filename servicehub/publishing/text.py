"""Length rules checked before anything is queued, so the operator sees the error at once."""

from __future__ import annotations

from servicehub.adapters.weibo.text import weibo_length

WEIBO_LIMITS = {"comment_status": 140, "reply_comment": 140, "post": 140, "private_message": 300}
WECHAT_MAX_BYTES = 2048


class ReplyError(ValueError):
    """The message cannot be queued; the text is shown to the operator as is."""


class TextTooLong(ReplyError):
    pass


def check_length(platform: str, target_kind: str, text: str) -> None:
    if platform == "weibo":
        limit = WEIBO_LIMITS.get(target_kind)
        length = weibo_length(text)
        if limit is not None and length > limit:
            raise TextTooLong(f"内容超过{limit}字（当前{length}字）")
    elif platform == "wechat" and len(text.encode()) > WECHAT_MAX_BYTES:
        raise TextTooLong(f"内容超过{WECHAT_MAX_BYTES}字节")
