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
    Repeated,
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
# Mass sends (reference §6): the day's 群发 allowance is spent; the same clientmsgid was sent
# already (the answer names that send's msg_id) or retried within a minute.
NO_MASS_QUOTA = 45028
CLIENTMSGID_EXISTS = 45065
CLIENTMSGID_TOO_FAST = 45066

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
    44004: "the message text is empty",
    45067: "the clientmsgid is longer than WeChat allows (64 bytes)",
    40130: "a mass send by openid needs at least two followers",
    40032: "the openid list is empty or too long",
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
    if errcode == NO_MASS_QUOTA:
        # A quota, not a refusal of the content: an official account may mass-send once a
        # day (认证订阅号) and the API allows 100 calls a day (§6.1, §9.2); both start again
        # at Beijing midnight. Only mass sends wait; replies on the account go on.
        return RateLimited(
            f"no mass-send quota left today; {detail}",
            reset_at=_next_beijing_midnight(now),
            scope=LimitScope.CALL,
            code=errcode,
            request=request,
        )
    if errcode == CLIENTMSGID_TOO_FAST:  # "请间隔1分钟重试": the retry itself is safe later
        return RateLimited(
            f"the same mass send was retried within a minute; {detail}",
            reset_at=now + timedelta(minutes=1),
            retry_after=60.0,
            scope=LimitScope.CALL,
            code=errcode,
            request=request,
        )
    if errcode == CLIENTMSGID_EXISTS:  # the adapter answers it with the first send's msg_id
        return Repeated(f"this mass send was made already; {detail}", code=errcode, request=request)
    if errcode == 45159:
        return NotFound(f"no such tag on the account; {detail}", code=errcode, request=request)
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
