"""OAuth2: authorize redirect, code exchange, token info, and Weibo's OAuth error bodies."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

REDIRECT = "http://127.0.0.1:9/callback"


async def app_account(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post("/_sim/accounts", json={"redirect_uri": REDIRECT, "seed_posts": 0})
    return dict(response.json())


async def authorize(client: httpx.AsyncClient, app_key: str, **extra: str) -> httpx.Response:
    params = {"client_id": app_key, "redirect_uri": REDIRECT, "response_type": "code", **extra}
    return await client.get("/oauth2/authorize", params=params)


async def get_code(client: httpx.AsyncClient, app_key: str) -> str:
    response = await authorize(client, app_key, state="xyz")
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    return query["code"][0]


async def test_authorize_redirects_with_code_and_state(client: httpx.AsyncClient) -> None:
    acc = await app_account(client)
    response = await authorize(client, acc["app_key"], state="csrf-123")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["csrf-123"] and re.fullmatch(r"[0-9a-f]{32}", query["code"][0])


async def test_authorize_rejects_a_foreign_redirect_uri(client: httpx.AsyncClient) -> None:
    acc = await app_account(client)
    params = {"client_id": acc["app_key"], "redirect_uri": "http://127.0.0.1:9/other"}
    response = await client.get("/oauth2/authorize", params=params)
    assert response.status_code == 400 and response.json()["error_code"] == 21322


async def test_code_exchange_gives_a_weibo_shaped_token(client: httpx.AsyncClient) -> None:
    acc = await app_account(client)
    code = await get_code(client, acc["app_key"])
    form = {
        "client_id": acc["app_key"],
        "client_secret": acc["app_secret"],
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
    }
    response = await client.post("/oauth2/access_token", data=form)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "remind_in", "expires_in", "uid", "isRealName"}
    assert re.fullmatch(r"2\.00[A-Za-z0-9]{28}", body["access_token"])
    assert isinstance(body["expires_in"], int) and body["remind_in"] == str(body["expires_in"])
    assert body["uid"] == acc["uid"] and isinstance(body["uid"], str)
    # re-authorising while the token is valid hands back the same token
    assert body["access_token"] == acc["access_token"]
    api = await client.get("/2/account/get_uid.json", params={"access_token": body["access_token"]})
    assert api.json() == {"uid": acc["uid"]}
    reused = await client.post("/oauth2/access_token", data=form)
    assert reused.status_code == 400
    assert reused.json() == {
        "error": "invalid_grant",
        "error_code": 21325,
        "request": "/oauth2/access_token",
        "error_uri": "/oauth2/access_token",
        "error_description": f"invalid authorization code:{code}",
    }


async def test_bad_secret_unknown_code_and_json_body(client: httpx.AsyncClient) -> None:
    acc = await app_account(client)
    code = await get_code(client, acc["app_key"])
    form = {
        "client_id": acc["app_key"],
        "client_secret": "wrong",
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
    }
    bad = await client.post("/oauth2/access_token", data=form)
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_client" and bad.json()["error_code"] == 21324
    assert bad.json()["error_description"] == "client_secret error."
    unknown = await client.post(
        "/oauth2/access_token", data=form | {"client_secret": acc["app_secret"], "code": "0" * 32}
    )
    assert unknown.status_code == 400 and unknown.json()["error_code"] == 21325
    as_json = await client.post("/oauth2/access_token", json=form | {"client_secret": acc["app_secret"]})
    assert as_json.status_code == 400
    assert as_json.json()["error_code"] == 21323 and as_json.json()["error"] == "invalid_request"
    # the JSON attempt did not burn the code
    good = await client.post("/oauth2/access_token", data=form | {"client_secret": acc["app_secret"]})
    assert good.status_code == 200


async def test_token_info_uses_weibos_spelling(client: httpx.AsyncClient) -> None:
    acc = await app_account(client)
    for method in ("POST", "GET"):
        if method == "POST":
            response = await client.post("/oauth2/get_token_info", data={"access_token": acc["access_token"]})
        else:
            response = await client.get(
                "/oauth2/get_token_info", params={"access_token": acc["access_token"]}
            )
        body = response.json()
        assert set(body) == {"uid", "appkey", "scope", "create_at", "expire_in"}
        assert body["uid"] == int(acc["uid"]) and str(body["appkey"]) == acc["app_key"]
        assert 0 < body["expire_in"] <= acc["expires_in"] and body["create_at"] > 1_600_000_000
    await client.post("/_sim/faults", json={"expire_token": acc["access_token"]})
    expired = await client.post("/oauth2/get_token_info", data={"access_token": acc["access_token"]})
    assert expired.status_code == 401 and expired.json()["error_code"] == 21327


async def test_several_accounts_share_one_app(client: httpx.AsyncClient) -> None:
    first = await app_account(client)
    second = (
        await client.post(
            "/_sim/accounts",
            json={"app_key": first["app_key"], "screen_name": "北京联通客服", "seed_posts": 0},
        )
    ).json()
    assert second["app_secret"] == first["app_secret"] and second["uid"] != first["uid"]
    chooser = await authorize(client, first["app_key"])
    assert chooser.status_code == 200 and "北京联通客服" in chooser.text  # two accounts: a login page
    picked = await authorize(client, first["app_key"], uid=second["uid"])
    assert picked.status_code == 302
    conflict = await client.post("/_sim/accounts", json={"app_key": first["app_key"], "app_secret": "nope"})
    assert conflict.status_code == 400
