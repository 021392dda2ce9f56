"""HTTP behaviour: error translation at the boundary, retries, rate-limit reset (weibo/session.py)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from servicehub.adapters.base import Credentials, ReplyTarget
from servicehub.adapters.errors import (
    LimitScope,
    MalformedPayload,
    NotFound,
    RateLimited,
    Rejected,
    TokenExpired,
    Unavailable,
)
from servicehub.adapters.weibo.client import WeiboAdapter
from servicehub.adapters.weibo.session import BACKOFF_CAP_SECONDS, FALLBACK_PAUSE_SECONDS
from tests.adapters.weibo.support import NOW, TOKEN, FakeWeibo, load_fixture, make_adapter

MENTIONS = "/2/statuses/mentions.json"
CREATE = "/2/comments/create.json"
RATE = "/2/account/rate_limit_status.json"
TARGET = ReplyTarget(kind="comment_status", status_id="11488058246")


def error(status: int, fixture: str) -> httpx.Response:
    return httpx.Response(status, json=load_fixture(fixture))


def test_token_goes_in_the_authorization_header(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("GET", MENTIONS, {"statuses": []})
    adapter.fetch_mentions(None)
    request = fake.requests[0]
    assert request.headers["Authorization"] == f"OAuth2 {TOKEN}"
    assert "access_token" not in request.url.params


def test_get_is_retried_on_unavailable_then_succeeds(
    fake: FakeWeibo, adapter: WeiboAdapter, sleeps: list[float]
) -> None:
    fake.on(
        "GET",
        MENTIONS,
        httpx.Response(502, text="<html>bad gateway</html>"),
        httpx.ReadTimeout("slow"),
        load_fixture("mentions_wiki.json"),
    )
    result = adapter.fetch_mentions(None)
    assert [i.platform_id for i in result.items] == ["11488058246"]
    assert len(fake.calls(MENTIONS)) == 3
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0  # jittered, doubling


def test_get_retries_are_bounded(fake: FakeWeibo, adapter: WeiboAdapter, sleeps: list[float]) -> None:
    unavailable = {
        "error": "Service unavailable",
        "error_code": 10002,
        "request": "/2/statuses/mentions.json",
    }
    fake.on("GET", MENTIONS, httpx.Response(503, json=unavailable))
    with pytest.raises(Unavailable) as info:
        adapter.fetch_mentions(None)
    assert len(fake.calls(MENTIONS)) == 4  # 1 + max_retries (3)
    assert len(sleeps) == 3
    assert "gave up after 4 attempts" in str(info.value)
    assert info.value.code == 10002


def test_backoff_is_capped(fake: FakeWeibo, sleeps: list[float]) -> None:
    fake.on("GET", MENTIONS, httpx.ConnectError("refused"))
    with make_adapter(fake, sleeps) as weibo:
        weibo._session.max_retries = 12
        with pytest.raises(Unavailable):
            weibo.fetch_mentions(None)
    assert len(sleeps) == 12
    assert max(sleeps) <= BACKOFF_CAP_SECONDS
    assert sleeps[-1] >= BACKOFF_CAP_SECONDS / 2


def test_post_is_not_retried_on_read_timeout(
    fake: FakeWeibo, adapter: WeiboAdapter, sleeps: list[float]
) -> None:
    fake.on("POST", CREATE, httpx.ReadTimeout("no answer"), load_fixture("comments_wiki.json")["comments"][0])
    with pytest.raises(Unavailable, match="comments/create"):
        adapter.reply(TARGET, "您好")
    assert len(fake.calls(CREATE)) == 1
    assert sleeps == []


def test_post_is_not_retried_on_5xx(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("POST", CREATE, httpx.Response(500, json={"error": "System error", "error_code": 10001}))
    with pytest.raises(Unavailable):
        adapter.reply(TARGET, "您好")
    assert len(fake.calls(CREATE)) == 1


@pytest.mark.parametrize("never_sent", [httpx.ConnectError("refused"), httpx.ConnectTimeout("syn lost")])
def test_post_is_retried_when_the_request_never_left(
    fake: FakeWeibo, adapter: WeiboAdapter, sleeps: list[float], never_sent: Exception
) -> None:
    fake.on("POST", CREATE, never_sent, load_fixture("comments_wiki.json")["comments"][0])
    sent = adapter.reply(TARGET, "您好")
    assert sent.platform_id == "12438492184"
    assert len(fake.calls(CREATE)) == 2
    assert len(sleeps) == 1


def test_network_error_names_the_endpoint(fake: FakeWeibo, sleeps: list[float]) -> None:
    fake.on("GET", MENTIONS, httpx.RemoteProtocolError("peer closed"))
    with make_adapter(fake, sleeps) as weibo:
        weibo._session.max_retries = 0
        with pytest.raises(Unavailable, match=r"Weibo statuses/mentions: network error") as info:
            weibo.fetch_mentions(None)
    assert isinstance(info.value.__cause__, httpx.RemoteProtocolError)


def test_error_body_with_http_200(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on(
        "GET",
        MENTIONS,
        {"error": "expired_token", "error_code": 21327, "request": "/2/statuses/mentions.json"},
    )
    with pytest.raises(TokenExpired) as info:
        adapter.fetch_mentions(None)
    assert info.value.code == 21327


def test_expired_token_from_the_server(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on(
        "POST", CREATE, httpx.Response(401, json={"error": "invalid_access_token", "error_code": "21332"})
    )
    with pytest.raises(TokenExpired, match="comments/create"):
        adapter.reply(TARGET, "您好")


def test_expired_token_is_refused_locally(fake: FakeWeibo) -> None:
    creds = Credentials(access_token=TOKEN, uid="1", expires_at=NOW - timedelta(seconds=1))
    with make_adapter(fake, creds=creds) as weibo, pytest.raises(TokenExpired, match="expired at"):
        weibo.fetch_mentions(None)
    assert fake.requests == []


def test_malformed_json_success(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on(
        "GET",
        MENTIONS,
        httpx.Response(200, text='{"statuses": [', headers={"content-type": "application/json"}),
    )
    with pytest.raises(MalformedPayload) as info:
        adapter.fetch_mentions(None)
    assert info.value.body == '{"statuses": ['
    assert "statuses/mentions" in str(info.value)


def test_list_envelope_without_its_list(fake: FakeWeibo, adapter: WeiboAdapter) -> None:
    fake.on("GET", MENTIONS, {"comments": []})
    with pytest.raises(MalformedPayload, match="'statuses'") as info:
        adapter.fetch_mentions(None)
    assert info.value.request == "statuses/mentions"


def test_missing_field_in_a_listed_item_names_field_and_endpoint(
    fake: FakeWeibo, adapter: WeiboAdapter
) -> None:
    comment = load_fixture("comments_show_real.json")["comments"][0]
    del comment["user"]
    fake.on("GET", "/2/comments/to_me.json", {"comments": [comment]})
    with pytest.raises(MalformedPayload, match=r"'comment\.user'") as info:
        adapter.fetch_comments_to_me(None)
    assert info.value.request == "comments/to_me"


def test_html_5xx_page_is_unavailable(fake: FakeWeibo, sleeps: list[float]) -> None:
    fake.on("GET", MENTIONS, httpx.Response(504, text="<html>Gateway Time-out</html>"))
    with make_adapter(fake, sleeps) as weibo:
        weibo._session.max_retries = 0
        with pytest.raises(Unavailable, match="HTTP 504"):
            weibo.fetch_mentions(None)


def _limit(code: int, api: str = "/2/statuses/mentions.json") -> dict[str, object]:
    return {"error": "out of rate limit!", "error_code": code, "request": api}


def _status(user_hits: int, reset_in: int) -> dict[str, object]:
    return {
        **load_fixture("rate_limit_status_wiki.json"),
        "remaining_user_hits": user_hits,
        "reset_time_in_seconds": reset_in,
    }


def test_a_spent_user_quota_stops_the_account_until_weibo_says(
    fake: FakeWeibo, adapter: WeiboAdapter
) -> None:
    fake.on("GET", MENTIONS, httpx.Response(403, json=_limit(10023)))
    fake.on("GET", RATE, _status(0, 1415))
    with pytest.raises(RateLimited) as info:
        adapter.fetch_mentions(None)
    assert info.value.scope == LimitScope.ACCOUNT
    assert info.value.retry_after == 1415 and info.value.reset_at == NOW + timedelta(seconds=1415)
    assert len(fake.calls(MENTIONS)) == 1  # a rate limit is not retried


def test_a_user_limit_with_hits_left_stops_only_that_call_briefly(
    fake: FakeWeibo, adapter: WeiboAdapter
) -> None:
    fake.on("GET", MENTIONS, error(403, "error_rate_limit_real.json"))  # 10023
    fake.on("GET", RATE, load_fixture("rate_limit_status_wiki.json"))  # 150 hits left
    with pytest.raises(RateLimited) as info:
        adapter.fetch_mentions(None)
    assert info.value.scope == LimitScope.CALL and info.value.retry_after == 60


@pytest.mark.parametrize(("code", "scope"), [(10024, LimitScope.CALL), (10022, LimitScope.ACCOUNT)])
def test_one_api_limit_and_the_ip_limit_on_a_read(
    fake: FakeWeibo, adapter: WeiboAdapter, code: int, scope: LimitScope
) -> None:
    fake.on("GET", MENTIONS, httpx.Response(403, json=_limit(code)))
    fake.on("GET", RATE, _status(100, 900))
    with pytest.raises(RateLimited) as info:
        adapter.fetch_mentions(None)
    assert info.value.scope == scope and info.value.retry_after == 900


def test_a_write_limit_stops_writes_and_never_reads_the_local_clock(
    fake: FakeWeibo, adapter: WeiboAdapter
) -> None:
    fake.on("POST", CREATE, _limit(10024, "/2/comments/create.json"))
    fake.on("GET", RATE, httpx.Response(403, json=load_fixture("error_rate_limit_real.json")))
    with pytest.raises(RateLimited) as info:
        adapter.reply(TARGET, "您好")
    assert info.value.scope == LimitScope.WRITES and info.value.code == 10024
    # rate_limit_status unreadable: a fixed pause, not "the top of this machine's hour"
    assert info.value.retry_after == FALLBACK_PAUSE_SECONDS


def test_not_found_and_rejected_are_not_retried(
    fake: FakeWeibo, adapter: WeiboAdapter, sleeps: list[float]
) -> None:
    fake.on("GET", "/2/statuses/show.json", httpx.Response(400, json={"error": "x", "error_code": 20101}))
    with pytest.raises(NotFound):
        adapter.status("1")
    fake.on(
        "GET",
        "/2/users/show.json",
        httpx.Response(403, json=load_fixture("error_insufficient_permissions_real.json")),
    )
    with pytest.raises(Rejected):
        adapter.user("1")
    assert sleeps == []
    assert len(fake.requests) == 2
