"""WeChat ``errcode`` values translated, once, into the hub's platform errors.

WeChat answers HTTP 200 with ``{"errcode": N, "errmsg": "..."}`` for nearly every failure,
so the status line says little; this table is where the meaning lives. Unknown codes are
treated as refusals: repeating a request WeChat did not understand will not help.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from servicehub.adapters.errors import (
    LimitScope,
    NotFound,
    PermissionMissing,
    PlatformError,
    RateLimited,
    Rejected,
    TokenExpired,
    Unavailable,
    WindowClosed,
)
from servicehub.adapters.wechat.reply_rules import WINDOW_CLOSED_MESSAGE

SYSTEM_BUSY = -1
# The access token is invalid, expired or not the latest one: fetch a new one and retry once.
TOKEN_INVALID = frozenset({40001, 42001, 40014})
# appid / appsecret themselves were refused: a new token will not help, an admin must act.
BAD_APP_CREDENTIALS = frozenset({40013, 40125, 41002, 41004})
MINUTE_QUOTA = 45011
DAILY_QUOTA = 45009

_BEIJING = timezone(timedelta(hours=8))

# Refusals of one reply to one customer: final for it, nothing else waits.
_WINDOW: dict[int, str] = {
    45015: WINDOW_CLOSED_MESSAGE,
    45047: "too many customer-service messages since the customer last wrote; wait for the customer",
}
_REJECTIONS: dict[int, str] = {
    45002: "the message content is longer than WeChat allows",
    43004: "the user does not follow the official account",
    48001: "the official account is not authorized for this API",
    40164: "this server's IP address is not on the account's API whitelist",
    40008: "WeChat does not accept this message type",
    47001: "WeChat could not read the request body",
}


def _next_beijing_midnight(now: datetime) -> datetime:
    local = now.astimezone(_BEIJING)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return midnight.astimezone(UTC)


def error_for(errcode: int, errmsg: str, *, request: str, now: datetime) -> PlatformError:
    """The hub error for a non-zero ``errcode`` returned by ``request`` at ``now``."""
    detail = f"WeChat said {errmsg!r}" if errmsg else "WeChat gave no message"
    if errcode == SYSTEM_BUSY:
        return Unavailable(f"WeChat is busy, try later; {detail}", code=errcode, request=request)
    # WeChat counts quotas per API (reference §9.2): only calls to this one wait.
    if errcode == MINUTE_QUOTA:
        return RateLimited(
            f"API called too often; {detail}",
            reset_at=now + timedelta(minutes=1),
            retry_after=60.0,
            scope=LimitScope.CALL,
            code=errcode,
            request=request,
        )
    if errcode == DAILY_QUOTA:
        midnight = _next_beijing_midnight(now)
        return RateLimited(
            f"daily API quota used up; {detail}",
            reset_at=midnight,
            scope=LimitScope.CALL,
            code=errcode,
            request=request,
        )
    if errcode in TOKEN_INVALID:
        return TokenExpired(f"access token refused; {detail}", code=errcode, request=request)
    if errcode in BAD_APP_CREDENTIALS:
        return TokenExpired(
            f"appid/appsecret refused, fix the account's credentials; {detail}", code=errcode, request=request
        )
    if errcode == 40007:  # temporary media live three days
        return NotFound(f"no such media (expired or never existed); {detail}", code=errcode, request=request)
    if errcode == 40003:
        return NotFound(
            f"no such user (invalid openid) for this account; {detail}", code=errcode, request=request
        )
    if errcode in _WINDOW:
        return WindowClosed(f"{_WINDOW[errcode]}; {detail}", code=errcode, request=request)
    if errcode == 48001:
        return PermissionMissing(f"{_REJECTIONS[errcode]}; {detail}", code=errcode, request=request)
    reason = _REJECTIONS.get(errcode, "WeChat refused the request")
    return Rejected(f"{reason}; {detail}", code=errcode, request=request)
