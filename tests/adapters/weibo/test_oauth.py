"""Connecting an account: authorize URL, state, code exchange, token info (weibo/oauth.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from servicehub.adapters.errors import MalformedPayload, Rejected, TokenExpired
from servicehub.adapters.weibo.oauth import WeiboOAuth
from tests.adapters.weibo.support import API, NOW, FakeWeibo, form, load_fixture, make_config

TOKEN_PATH = "/oauth2/access_token"
INFO_PATH = "/oauth2/get_token_info"


@pytest.fixture
def oauth(fake: FakeWeibo, sleeps: list[float]) -> Iterator[WeiboOAuth]:
    client = WeiboOAuth(
        make_config(), transport=httpx.MockTransport(fake), sleep=sleeps.append, clock=lambda: NOW
    )
    yield client
    client.close()


def test_authorize_url(oauth: WeiboOAuth) -> None:
    url = urlsplit(oauth.authorize_url("st4te", scope="direct_messages_write", display="mobile"))
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{API}/oauth2/authorize"
    assert parse_qs(url.query) == {
        "client_id": ["1352222456"],
        "redirect_uri": ["https://hub.example.com/oauth/weibo"],
        "response_type": ["code"],
        "state": ["st4te"],
        "scope": ["direct_messages_write"],
        "display": ["mobile"],
    }


@pytest.mark.parametrize(
    ("fixture", "uid", "lifetime"),
    [
        ("access_token_real.json", "1567896867", 142153),  # expires_in a number
        ("access_token_string_expires_constructed.json", "12341234", 798114),  # a string
        ("access_token_weiboclient4j.json", "12341234", 1234),
    ],
)
def test_exchange_code(fake: FakeWeibo, oauth: WeiboOAuth, fixture: str, uid: str, lifetime: int) -> None:
    fake.on("POST", TOKEN_PATH, load_fixture(fixture))
    token = oauth.exchange_code("CODE")
    assert token.uid == uid
    assert token.expires_at == NOW + timedelta(seconds=lifetime)
    assert token.access_token == load_fixture(fixture)["access_token"]
    assert token.access_token not in repr(token)
    assert token.credentials().expires_at == token.expires_at
    assert form(fake.requests[0]) == {
        "client_id": "1352222456",
        "client_secret": "app-secret",
        "grant_type": "authorization_code",
        "code": "CODE",
        "redirect_uri": "https://hub.example.com/oauth/weibo",
    }


def test_exchange_falls_back_to_remind_in(fake: FakeWeibo, oauth: WeiboOAuth) -> None:
    fake.on("POST", TOKEN_PATH, {"access_token": "2.00x", "remind_in": "600", "uid": 5})
    token = oauth.exchange_code("CODE")
    assert (token.uid, token.expires_at) == ("5", NOW + timedelta(seconds=600))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expires_in": 1, "uid": "1"}, "access_token"),
        ({"access_token": "2.00x", "uid": "1"}, "expires_in"),
        ({"access_token": "2.00x", "expires_in": "soon", "uid": "1"}, "expires_in"),
        ({"access_token": "2.00x", "expires_in": 1}, "access_token.uid"),
    ],
)
def test_exchange_missing_fields(
    fake: FakeWeibo, oauth: WeiboOAuth, body: dict[str, object], field: str
) -> None:
    fake.on("POST", TOKEN_PATH, body)
    with pytest.raises(MalformedPayload, match=repr(field).replace(".", r"\.")):
        oauth.exchange_code("CODE")


def test_exchange_errors(fake: FakeWeibo, oauth: WeiboOAuth, sleeps: list[float]) -> None:
    fake.on("POST", TOKEN_PATH, httpx.Response(400, json=load_fixture("oauth_error_invalid_grant.json")))
    with pytest.raises(TokenExpired, match="invalid authorization code"):
        oauth.exchange_code("used-code")
    fake.on("POST", TOKEN_PATH, httpx.Response(401, json=load_fixture("oauth_error_invalid_client.json")))
    with pytest.raises(Rejected, match="client_secret error") as info:
        oauth.exchange_code("CODE")
    assert info.value.code == 21324
    fake.on("POST", TOKEN_PATH, httpx.ReadTimeout("slow"))
    with pytest.raises(Exception, match="oauth2/access_token"):
        oauth.exchange_code("CODE")
    assert len(fake.calls(TOKEN_PATH)) == 3  # a code is single-use: never resent
    assert sleeps == []


@pytest.mark.parametrize("fixture", ["token_info_weiboclient4j.json", "token_info_strings_constructed.json"])
def test_get_token_info(fake: FakeWeibo, oauth: WeiboOAuth, fixture: str) -> None:
    fake.on("POST", INFO_PATH, load_fixture(fixture))
    info = oauth.get_token_info("2.00token")
    assert form(fake.requests[0]) == {"access_token": "2.00token"}
    assert info.uid == "1073880650"
    assert info.appkey == "1352222456"
    assert info.scope is None
    assert info.created_at == datetime.fromtimestamp(1352267591, UTC)
    assert info.expires_at == NOW + timedelta(seconds=157679471)


def test_get_token_info_is_retried(fake: FakeWeibo, oauth: WeiboOAuth, sleeps: list[float]) -> None:
    fake.on("POST", INFO_PATH, httpx.ReadTimeout("slow"), load_fixture("token_info_weiboclient4j.json"))
    assert oauth.get_token_info("t").uid == "1073880650"
    assert len(sleeps) == 1


def test_get_token_info_older_spelling(fake: FakeWeibo, oauth: WeiboOAuth) -> None:
    fake.on("POST", INFO_PATH, {"uid": 1, "appkey": "k", "scope": "all", "create_at": 0, "expires_in": "60"})
    info = oauth.get_token_info("t")
    assert (info.scope, info.expires_at) == ("all", NOW + timedelta(seconds=60))
