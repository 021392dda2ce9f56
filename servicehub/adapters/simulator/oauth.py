"""OAuth2 as Weibo runs it: authorize redirect, code-for-token exchange, token info.

The authorize step has no real login: the account that consents is chosen with the
simulator-only ``uid`` (or ``screen_name``) parameter, or automatically when the app has
exactly one managed account; otherwise a bare HTML page lists the accounts as links.
Re-authorizing while a token is still valid returns that same token with a renewed
lifetime, as Weibo does. Errors carry ``error_uri`` / ``error_description`` like the real ones.
"""

from __future__ import annotations

import html

from aiohttp import web
from yarl import URL

from servicehub.adapters.simulator.api_errors import ApiError, error_response, json_response
from servicehub.adapters.simulator.context import SIM_KEY, Simulator
from servicehub.adapters.simulator.dispatch import read_params
from servicehub.adapters.simulator.models import App


def _oauth_error(code: int, description: str) -> ApiError:
    return ApiError(code, description=description)


def _redirect(target: str, **query: str) -> web.Response:
    url = URL(target).update_query(query)
    return web.Response(status=302, headers={"Location": str(url)})


def _app_for(sim: Simulator, client_id: str | None) -> App:
    if not client_id:
        raise _oauth_error(21323, "miss client id or secret")
    app = sim.state.apps.get(client_id)
    if app is None:
        raise _oauth_error(21324, "client_id error.")
    return app


async def authorize(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIM_KEY]
    path = "/oauth2/authorize"
    params = await read_params(request)
    try:
        app = _app_for(sim, params.get("client_id"))
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri:
            raise _oauth_error(21323, "miss redirect uri")
        if app.redirect_uri and redirect_uri != app.redirect_uri:
            raise _oauth_error(21322, "redirect_uri_mismatch")
        response_type = params.get("response_type", "code")
        if response_type != "code":
            raise _oauth_error(21329, "不支持的 ResponseType.")
    except ApiError as err:
        return error_response(err, path)
    state_param = {"state": params["state"]} if "state" in params else {}
    if params.get("deny"):
        return _redirect(
            redirect_uri,
            error="access_denied",
            error_code="21330",
            error_description="user denied the request",
            **state_param,
        )
    uid = _consenting_uid(sim, app, params)
    if uid is None:
        return _chooser(sim, request)
    code = sim.state.new_code(app.app_key, uid, redirect_uri)
    return _redirect(redirect_uri, code=code.code, **state_param)


def _consenting_uid(sim: Simulator, app: App, params: dict[str, str]) -> int | None:
    state = sim.state
    if params.get("uid", "").isdigit() and int(params["uid"]) in state.accounts:
        return int(params["uid"])
    if params.get("screen_name"):
        user = state.user_by_name(params["screen_name"])
        return user.uid if user is not None and user.uid in state.accounts else None
    own = [uid for uid, account in state.accounts.items() if account.app_key == app.app_key]
    return own[0] if len(own) == 1 else None


def _chooser(sim: Simulator, request: web.Request) -> web.Response:
    """Stand-in for Weibo's login page: one link per managed account."""
    items = []
    for uid in sorted(sim.state.accounts):
        name = html.escape(sim.state.users[uid].screen_name)
        href = html.escape(str(request.rel_url.update_query(uid=str(uid))), quote=True)
        items.append(f'<li><a href="{href}">{name}</a> ({uid})</li>')
    body = (
        "<!doctype html><meta charset='utf-8'><title>微博授权（模拟）</title>"
        f"<h1>选择授权的账号</h1><ul>{''.join(items) or '<li>没有托管账号</li>'}</ul>"
    )
    return web.Response(text=body, content_type="text/html", charset="utf-8")


async def access_token(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIM_KEY]
    path = "/oauth2/access_token"
    try:
        if request.content_type == "application/json":
            raise _oauth_error(21323, "miss client id or secret")
        params = await read_params(request)
        if not params.get("client_id") or not params.get("client_secret"):
            raise _oauth_error(21323, "miss client id or secret")
        app = _app_for(sim, params["client_id"])
        if params["client_secret"] != app.app_secret:
            raise _oauth_error(21324, "client_secret error.")
        if params.get("grant_type", "authorization_code") != "authorization_code":
            raise _oauth_error(21328, "unsupported grant type")
        value = params.get("code", "")
        code = sim.state.codes.get(value)
        now = sim.clock.now()
        if (
            code is None
            or code.used
            or code.app_key != app.app_key
            or now - code.created_at > sim.config.code_ttl
        ):
            raise _oauth_error(21325, f"invalid authorization code:{value}")
        if params.get("redirect_uri") and params["redirect_uri"] != code.redirect_uri:
            raise _oauth_error(21322, "redirect_uri_mismatch")
        code.used = True
        token = sim.state.valid_token_for(code.uid, app.app_key)
        if token is not None:
            token.expires_at = now + sim.config.token_ttl
        else:
            token = sim.state.new_token(code.uid, app.app_key, sim.config.token_ttl)
    except ApiError as err:
        return error_response(err, path)
    expires_in = int(token.expires_at - now)
    return json_response(
        {
            "access_token": token.token,
            "remind_in": str(expires_in),
            "expires_in": expires_in,
            "uid": str(token.uid),
            "isRealName": "true",
        }
    )


async def get_token_info(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIM_KEY]
    path = "/oauth2/get_token_info"
    params = await read_params(request)
    token = sim.state.tokens.get(params.get("access_token", ""))
    now = sim.clock.now()
    if token is None or token.revoked:
        return error_response(ApiError(21332), path)
    if token.expires_at <= now:
        return error_response(ApiError(21327), path)
    appkey: int | str = int(token.app_key) if token.app_key.isdigit() else token.app_key
    return json_response(
        {
            "uid": token.uid,
            "appkey": appkey,
            "scope": None,
            "create_at": int(token.created_at),
            "expire_in": int(token.expires_at - now),
        }
    )


async def revoke(request: web.Request) -> web.StreamResponse:
    """``/oauth2/revokeoauth2``: the user withdraws the app's access."""
    sim = request.app[SIM_KEY]
    params = await read_params(request)
    token = sim.state.tokens.get(params.get("access_token", ""))
    if token is None or token.revoked:
        return error_response(ApiError(21332), "/oauth2/revokeoauth2")
    token.revoked = True
    return json_response({"result": "true"})


def register_oauth(app: web.Application) -> None:
    app.router.add_route("GET", "/oauth2/authorize", authorize)
    app.router.add_route("POST", "/oauth2/authorize", authorize)
    app.router.add_route("POST", "/oauth2/access_token", access_token)
    app.router.add_route("GET", "/oauth2/get_token_info", get_token_info)
    app.router.add_route("POST", "/oauth2/get_token_info", get_token_info)
    app.router.add_route("POST", "/oauth2/revokeoauth2", revoke)
