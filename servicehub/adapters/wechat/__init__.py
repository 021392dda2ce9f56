"""WeChat official account (公众号) adapter: signed XML push in, customer-service message out.

Unlike Weibo it can neither list mentions nor poll comments; it only receives what WeChat
pushes and answers within the 48-hour window. See :mod:`.client` for the adapter.
"""

from servicehub.adapters.wechat.client import WeChatAdapter
from servicehub.adapters.wechat.push import PUSH_ACK_BODY
from servicehub.adapters.wechat.reply_rules import (
    REPLY_WINDOW,
    TEXT_LIMIT_BYTES,
    reply_window_closes_at,
    within_reply_window,
)

__all__ = [
    "PUSH_ACK_BODY",
    "REPLY_WINDOW",
    "TEXT_LIMIT_BYTES",
    "WeChatAdapter",
    "reply_window_closes_at",
    "within_reply_window",
]
