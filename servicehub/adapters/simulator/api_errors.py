"""Weibo's error envelope and the HTTP status each error code travels with.

One table maps every code the simulator can emit to Weibo's own English message and to
the status recommended in the reference (400 parameter/content, 401 token, 403
permission and quota, 404 unknown API, 5xx system). Handlers raise :class:`ApiError`;
the dispatcher turns it into ``{"error", "error_code", "request"}``.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

ERRORS: dict[int, tuple[int, str]] = {
    10001: (500, "System error"),
    10002: (503, "Service unavailable"),
    10006: (400, "Source paramter (appkey) is missing"),
    10008: (400, "Param error, see doc for more info"),
    10014: (403, "Insufficient app permissions!"),
    10016: (400, "Miss required parameter (%s) , see doc for more info"),
    10017: (400, "Parameter (%s)'s value invalid, expect (%s) , but get (%s) , see doc for more info"),
    10020: (404, "Request api not found!"),
    10021: (405, "HTTP method is not suported for this request!"),
    10022: (403, "IP requests out of rate limit!"),
    10023: (403, "User requests out of rate limit!"),
    10024: (403, "User requests for (%s) out of rate limit!"),
    20001: (400, "IDs is null"),
    20003: (400, "User does not exists"),
    20005: (400, "Unsupported image type, only suport JPG, GIF, PNG"),
    20006: (400, "Image size too large"),
    20007: (400, "Does multipart has image"),
    20008: (400, "Content is null"),
    20009: (400, "IDs is too many"),
    20012: (400, "Text too long, please input text less than 140 characters"),
    20013: (400, "Text too long, please input text less than 300 characters"),
    20016: (400, "Out of limit"),
    20019: (400, "Repeat conetnt"),
    20101: (400, "Target weibo does not exist"),
    20111: (400, "Repeated weibo text"),
    20201: (400, "Target weibo comment does not exist"),
    20301: (403, "Can't send direct message to user who is not your follower"),
    20302: (403, "Illegal direct message"),
    21322: (400, "redirect_uri_mismatch"),
    21323: (400, "invalid_request"),
    21324: (401, "invalid_client"),
    21325: (400, "invalid_grant"),
    21327: (401, "expired_token"),
    21328: (400, "unsupported_grant_type"),
    21329: (400, "unsupported_response_type"),
    21330: (403, "access_denied"),
    21332: (401, "invalid_access_token"),
    21335: (403, "request uid's value must be the current user"),
}


class ApiError(Exception):
    """A Weibo error. ``args`` fill the ``%s`` holes of the table message."""

    def __init__(
        self, code: int, *args: str, message: str | None = None, description: str | None = None
    ) -> None:
        status, template = ERRORS[code]
        if message is None:
            message = template % args if args else template.replace(" (%s)", "")
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.description = description  # OAuth errors also carry error_description

    def body(self, request_path: str) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.message, "error_code": self.code, "request": request_path}
        if self.description is not None:
            out["error_uri"] = request_path
            out["error_description"] = self.description
        return out


def missing(name: str) -> ApiError:
    return ApiError(10016, name)


def invalid(name: str, expect: str, got: str) -> ApiError:
    return ApiError(10017, name, expect, got[:50])


def dumps(data: Any) -> str:
    """Compact UTF-8 JSON with raw CJK, like Weibo's own responses."""
    return orjson.dumps(data).decode()


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(data),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers={"Cache-Control": "no-cache", "Pragma": "No-cache"},
    )


def error_response(err: ApiError, request_path: str) -> web.Response:
    return json_response(err.body(request_path), err.status)
