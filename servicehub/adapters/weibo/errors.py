"""Weibo error bodies and HTTP statuses -> the hub's errors, decided in one place.

Weibo answers failures as ``{"error": ..., "error_code": ..., "request": ...}``; the code
may be a JSON number or a string, and the body sometimes arrives with HTTP 200, so the
*code* decides the class and the HTTP status is only the fallback when there is none.
The tables list every code in the reference (§5.2) whose meaning changes what the hub
does; an unknown code falls back to its HTTP status.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from servicehub.adapters.errors import (
    AcceptedLater,
    MalformedPayload,
    NeverSent,
    NotFound,
    PermissionMissing,
    PlatformError,
    RateLimited,
    Rejected,
    Repeated,
    TokenExpired,
    Unavailable,
)

RATE_LIMIT_CODES = frozenset(
    {
        10022,  # IP requests out of rate limit
        10023,  # user requests out of rate limit
        10024,  # user requests for one API out of rate limit
        20016,  # posting too often (发布内容过于频繁)
        20505,  # follow requests out of limit
        21303,  # password auth out of limit
    }
)

TOKEN_CODES = frozenset(
    {
        10006,  # no token/appkey at all: seen first when a token goes stale, then 21332
        21301,  # auth failed / empty or invalid accessToken
        21314,  # token used
        21315,  # token expired
        21316,  # token revoked
        21317,  # token rejected
        21318,  # verifier failed
        21319,  # authorization revoked by the user
        21325,  # invalid_grant: code or grant expired or revoked
        21327,  # expired_token
        21332,  # invalid_access_token
    }
)

NOT_FOUND_CODES = frozenset(
    {
        20003,  # user does not exist
        20101,  # target weibo does not exist (deleted)
        20201,  # target comment does not exist
        20305,  # direct message does not exist
        20307,  # illegal direct message id
        20501,  # source_user or target_user does not exist
    }
)

UNAVAILABLE_CODES = frozenset(
    {
        10001,  # system error
        10002,  # service unavailable
        10003,  # remote service error
        10009,  # too many pending tasks
        10010,  # job expired
        10011,  # RPC error
        21331,  # temporarily_unavailable
    }
)

# OAuth and app-level refusals: a new token would not help, the app's setup must change.
REJECTED_CODES = frozenset(
    {
        10004,  # IP may not request this resource
        10005,  # needs a higher-level appkey
        10008,  # parameter error
        10012,  # illegal request
        10016,  # missing required parameter
        10018,  # request body too long
        10020,  # API not found
        10021,  # wrong HTTP method
        21320,  # OAuth2 must use https
        21321,  # unaudited app over its user limit
        21322,  # redirect_uri_mismatch
        21323,  # invalid_request
        21324,  # invalid_client (wrong app secret), sent with HTTP 401
        21326,  # unauthorized_client
        21328,  # unsupported_grant_type
        21329,  # unsupported_response_type
        21330,  # access_denied
        21335,  # uid must be the current user
        21337,  # appkey permission denied
    }
)

# This content was just posted by the same account: after a write whose answer was lost,
# that means the write went through.
REPEATED_CODES = frozenset({20017, 20019, 20111, 20306})
ACCEPTED_LATER = 20032  # "Update success, while server slow now": it is published
# The app lacks the permission for this API: every further call gets the same answer.
PERMISSION_CODES = frozenset({10014})

# Everything else the reference documents is a refusal of this content or action, e.g.
# 10014 no permission (statuses/update after 2017), 10017 share URL not on the safe
# domain, 20012/20013 too long, 20017/20019/20111/20306 repeated, 20020 ads, 20021
# illegal content, 20301 recipient is not a follower, 21324 wrong client secret.
REJECTED_MESSAGES = {
    10014: "应用无此接口权限 (insufficient app permissions)",
    10017: "参数值非法 (for statuses/share: the text needs a URL on the app's safe domain)",
    20005: "图片格式不支持 (JPG/GIF/PNG only)",
    20006: "图片太大 (5 MB at most)",
    20007: "图片需以 multipart 上传",
    20012: "文字超过140字",
    20013: "文字超过300字",
    20017: "提交了相似的信息",
    20019: "提交了相同的信息 (repeated content)",
    20020: "包含广告信息",
    20021: "包含非法内容",
    20111: "不能发布相同的微博",
    20301: "不能给不是你粉丝的人发私信",
    # Weibo reports success with a delay: resending would post twice, so never retry.
    20032: "已发布但服务器延迟 (accepted with delay; do not resend)",
}


def error_code(body: Mapping[str, Any]) -> int | None:
    """``error_code`` as an int whether Weibo sent ``10023`` or ``"10023"``; None when absent."""
    raw = body.get("error_code")
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        return int(raw.strip())
    return None


def is_error_body(body: Any) -> bool:
    """True for an error envelope, which Weibo may send with HTTP 200."""
    return isinstance(body, Mapping) and ("error_code" in body or ("error" in body and len(body) <= 6))


def next_top_of_hour(now: datetime | None = None) -> datetime:
    """Weibo quotas are hourly and reset on the hour (reference §5.3)."""
    now = now or datetime.now(UTC)
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def to_platform_error(http_status: int, body: Any, endpoint: str) -> PlatformError:
    """The hub error for one failed call to ``endpoint`` (e.g. ``"comments/create"``).

    ``body`` is the decoded JSON, or the raw text when it was not JSON.
    """
    if not isinstance(body, Mapping):
        text = body if isinstance(body, str) else ""
        if http_status >= 500:
            return Unavailable(f"Weibo {endpoint}: HTTP {http_status} from the server", request=endpoint)
        if http_status == 429:
            return RateLimited(f"Weibo {endpoint}: HTTP 429 too many requests", request=endpoint)
        return MalformedPayload(
            f"Weibo {endpoint}: HTTP {http_status} with a body that is not a JSON object",
            body=text,
            request=endpoint,
        )
    code = error_code(body)
    request = str(body.get("request") or endpoint)
    detail = str(body.get("error_description") or body.get("error") or "no error message")
    message = f"Weibo {endpoint}: {detail}"
    if code is not None:
        if code in RATE_LIMIT_CODES:
            return RateLimited(message, code=code, request=request)
        if code in TOKEN_CODES:
            return TokenExpired(message, code=code, request=request)
        if code in NOT_FOUND_CODES:
            return NotFound(message, code=code, request=request)
        if code in UNAVAILABLE_CODES:
            return Unavailable(message, code=code, request=request)
        if code == ACCEPTED_LATER:
            return AcceptedLater(
                f"Weibo {endpoint}: {REJECTED_MESSAGES[code]} — {detail}", code=code, request=request
            )
        if code in REPEATED_CODES:
            return Repeated(
                f"Weibo {endpoint}: {REJECTED_MESSAGES.get(code, 'repeated content')} — {detail}",
                code=code,
                request=request,
            )
        if code in PERMISSION_CODES:
            return PermissionMissing(
                f"Weibo {endpoint}: {REJECTED_MESSAGES[code]} — {detail}", code=code, request=request
            )
        if code in REJECTED_MESSAGES:
            return Rejected(
                f"Weibo {endpoint}: {REJECTED_MESSAGES[code]} — {detail}", code=code, request=request
            )
        if code in REJECTED_CODES or 20000 <= code < 21000:
            # 20xxx are service-level refusals of this content or action (reference §5.2).
            return Rejected(message, code=code, request=request)
    return _by_status(http_status, message, code, request)


def _by_status(http_status: int, message: str, code: int | None, request: str) -> PlatformError:
    if http_status >= 500:
        return Unavailable(message, code=code, request=request)
    if http_status == 429:
        return RateLimited(message, code=code, request=request)
    if http_status == 401:
        return TokenExpired(message, code=code, request=request)
    if http_status == 404:
        return NotFound(message, code=code, request=request)
    return Rejected(message, code=code, request=request)


class ConnectFailed(NeverSent):
    """The request provably never left this machine (no connection), so even a write may be resent."""
