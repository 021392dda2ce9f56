"""Error bodies and HTTP statuses -> the hub's errors (weibo/errors.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from servicehub.adapters.errors import (
    AcceptedLater,
    MalformedPayload,
    NotFound,
    PermissionMissing,
    PlatformError,
    RateLimited,
    Rejected,
    Repeated,
    TokenExpired,
    Unavailable,
)
from servicehub.adapters.weibo.errors import error_code, is_error_body, next_top_of_hour, to_platform_error
from tests.adapters.weibo.support import load_fixture


def body(code: int | str, message: str = "some error") -> dict[str, object]:
    return {"error": message, "error_code": code, "request": "/2/statuses/mentions.json"}


CASES: list[tuple[int, type[PlatformError]]] = [
    *[(c, RateLimited) for c in (10022, 10023, 10024, 20016)],
    *[(c, TokenExpired) for c in (21301, 21314, 21315, 21316, 21317, 21318, 21319, 21325, 21327, 21332)],
    *[(c, NotFound) for c in (20003, 20101, 20201, 20305)],
    *[(c, Rejected) for c in (10017, 20012, 20013, 20020, 20021, 20301)],
    *[(c, Repeated) for c in (20017, 20019, 20111, 20306)],
    (10014, PermissionMissing),
    *[(c, Rejected) for c in (20502, 21322, 21323, 21324, 21330)],
    (20032, AcceptedLater),
    *[(c, Unavailable) for c in (10001, 10002, 10009, 21331)],
]


@pytest.mark.parametrize("http_status", [200, 400, 401, 403, 500])
@pytest.mark.parametrize(("code", "expected"), CASES)
def test_each_documented_code_maps_to_its_class(
    code: int, expected: type[PlatformError], http_status: int
) -> None:
    # The code, not the HTTP status, decides.
    error = to_platform_error(http_status, body(code), "statuses/mentions")
    assert type(error) is expected
    assert error.code == code


@pytest.mark.parametrize(("code", "expected"), CASES)
def test_string_error_codes_map_like_numbers(code: int, expected: type[PlatformError]) -> None:
    error = to_platform_error(400, body(str(code)), "statuses/mentions")
    assert type(error) is expected
    assert error.code == code


def test_recorded_string_code_bodies() -> None:
    error = to_platform_error(400, load_fixture("error_source_missing_string_code.json"), "statuses/update")
    assert isinstance(error, TokenExpired)  # 10006: no token at all
    assert error.code == 10006
    unknown = to_platform_error(400, load_fixture("error_weiboclient4j.json"), "statuses/home_timeline")
    assert isinstance(unknown, Rejected)  # 20502 is not special: HTTP 400 -> refused
    assert unknown.code == 20502


def test_recorded_real_bodies() -> None:
    limited = to_platform_error(403, load_fixture("error_rate_limit_real.json"), "statuses/public_timeline")
    assert isinstance(limited, RateLimited)
    assert limited.request == "/2/statuses/public_timeline.json"
    denied = to_platform_error(
        403, load_fixture("error_insufficient_permissions_real.json"), "friendships/create"
    )
    assert isinstance(denied, Rejected)
    assert "insufficient app permissions" in str(denied)
    domain = to_platform_error(400, load_fixture("error_share_domain_real.json"), "statuses/share")
    assert isinstance(domain, Rejected)
    assert "safe domain" in str(domain)
    grant = to_platform_error(400, load_fixture("oauth_error_invalid_grant.json"), "oauth2/access_token")
    assert isinstance(grant, TokenExpired)
    assert "invalid authorization code" in str(grant)  # error_description is the useful part


def test_message_names_the_endpoint_and_code() -> None:
    error = to_platform_error(403, load_fixture("error_rate_limit_real.json"), "statuses/mentions")
    assert str(error).startswith("Weibo statuses/mentions: User requests out of rate limit!")
    assert "(code 10023)" in str(error)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (500, Unavailable),
        (503, Unavailable),
        (429, RateLimited),
        (401, TokenExpired),
        (404, NotFound),
        (400, Rejected),
    ],
)
def test_unknown_code_falls_back_to_http_status(status: int, expected: type[PlatformError]) -> None:
    assert type(to_platform_error(status, body(29999), "x/y")) is expected
    assert type(to_platform_error(status, {"error": "no code"}, "x/y")) is expected


def test_non_json_bodies() -> None:
    html = "<html><body>502 Bad Gateway</body></html>"
    assert isinstance(to_platform_error(502, html, "statuses/mentions"), Unavailable)
    malformed = to_platform_error(403, html, "statuses/mentions")
    assert isinstance(malformed, MalformedPayload)
    assert malformed.body == html
    assert "statuses/mentions" in str(malformed)
    assert isinstance(to_platform_error(429, "", "statuses/mentions"), RateLimited)


def test_error_code_parsing() -> None:
    assert error_code({"error_code": 10023}) == 10023
    assert error_code({"error_code": " 10023 "}) == 10023
    assert error_code({"error_code": "abc"}) is None
    assert error_code({"error_code": True}) is None
    assert error_code({}) is None


def test_is_error_body() -> None:
    assert is_error_body(load_fixture("error_rate_limit_real.json"))
    assert is_error_body({"error": "oops"})
    assert not is_error_body(load_fixture("mentions_wiki.json"))
    assert not is_error_body(load_fixture("statuses_count_biz_wiki.json"))


def test_next_top_of_hour() -> None:
    assert next_top_of_hour(datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)) == datetime(
        2024, 5, 1, 13, tzinfo=UTC
    )
    assert next_top_of_hour(datetime(2024, 5, 1, 23, 0, tzinfo=UTC)) == datetime(2024, 5, 2, 0, tzinfo=UTC)
