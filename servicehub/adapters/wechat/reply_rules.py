"""What WeChat allows an official account to send, checkable before anything is queued.

Customer-service messages may only go to a user who interacted with the account in the
last 48 hours (sent a message, followed, clicked certain menus, scanned a code), and a
text is at most 2048 bytes. Checking here lets the workbench say so at once instead of
an outbox item failing later with errcode 45015 or 45002.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from servicehub.adapters.errors import Rejected

REPLY_WINDOW = timedelta(hours=48)
TEXT_LIMIT_BYTES = 2048
# A mass-sent text: WeChat documents no limit of its own for it (reference §6 is silent) and
# answers the same 45002 "content size out of limit"; the customer-service figure is assumed.
MASS_TEXT_LIMIT_BYTES = TEXT_LIMIT_BYTES

# Pushed events that (re)open the 48-hour window; VIEW and LOCATION reports do not.
WINDOW_OPENING_EVENTS = frozenset({"subscribe", "SCAN", "CLICK", "scancode_push", "scancode_waitmsg"})
WINDOW_CLOSING_EVENTS = frozenset({"unsubscribe"})

WINDOW_CLOSED_MESSAGE = (
    "WeChat refused the customer-service message: the 48-hour reply window is closed "
    "(the customer has not written to the account in 48 hours, or has unfollowed it); "
    "it can be answered again after the customer's next message"
)


def reply_window_closes_at(last_inbound_at: datetime) -> datetime:
    """When a customer-service reply to this user stops being accepted."""
    return last_inbound_at + REPLY_WINDOW


def within_reply_window(
    last_inbound_at: datetime | None, now: datetime, *, margin: timedelta = timedelta()
) -> bool:
    """Whether a reply sent at ``now`` (plus ``margin`` for queueing delay) is still allowed.

    Both datetimes must be timezone-aware. ``None`` (never heard from) is outside.
    """
    if last_inbound_at is None:
        return False
    return now + margin < reply_window_closes_at(last_inbound_at)


def check_text(text: str, *, what: str = "customer-service text") -> None:
    """Raise :class:`Rejected` for text WeChat would refuse (empty or over 2048 UTF-8 bytes);
    ``what`` names the kind of message in the explanation."""
    if not text.strip():
        raise Rejected(f"a {what} message cannot be empty")
    size = len(text.encode("utf-8"))
    if size > TEXT_LIMIT_BYTES:
        raise Rejected(
            f"{what} is {size} bytes in UTF-8; WeChat accepts at most {TEXT_LIMIT_BYTES}",
            code=45002,
        )
