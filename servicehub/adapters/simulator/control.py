"""The ``/_sim/`` administration API: accounts, tokens, faults, quotas, clock, traffic, outbox.

Documented path by path in the package docstring (``servicehub/adapters/simulator/__init__.py``).
These routes are never subject to injected faults, tokens or quotas.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from servicehub.adapters.simulator.clock import weibo_date
from servicehub.adapters.simulator.context import SIM_KEY, Simulator
from servicehub.adapters.simulator.control_io import (
    ControlError,
    account_uid,
    as_id,
    ok,
    opt_int,
    opt_str,
    outbox_json,
    push_record_json,
    read_json,
)


async def health(request: web.Request) -> web.Response:
    return ok({"ok": True})


async def state_summary(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    return ok(
        {
            **sim.state.summary(),
            "seed": sim.config.seed,
            "now": sim.clock.now(),
            "traffic": sim.traffic.status(),
            "reactions": sim.reactions.status(),
        }
    )


async def create_account(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    domains = body.get("safe_domains")
    if domains is not None and (
        not isinstance(domains, list) or not all(isinstance(d, str) for d in domains)
    ):
        raise ControlError("safe_domains must be a list of domain names")
    created = sim.create_account(
        screen_name=opt_str(body, "screen_name"),
        uid=as_id(body["uid"], "uid") if body.get("uid") is not None else None,
        app_key=opt_str(body, "app_key"),
        app_secret=opt_str(body, "app_secret"),
        app_name=opt_str(body, "app_name"),
        redirect_uri=opt_str(body, "redirect_uri"),
        safe_domains=domains,
        followers=opt_int(body, "followers"),
        token_ttl=opt_int(body, "token_ttl", minimum=1),
        seed_posts=opt_int(body, "seed_posts"),
    )
    return ok(created.as_json(), 201)


async def list_accounts(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    state = sim.state
    now = sim.clock.now()
    out = []
    for account in state.accounts.values():
        app = state.apps[account.app_key]
        tokens = [
            {"access_token": t.token, "expires_in": int(t.expires_at - now), "revoked": t.revoked}
            for t in state.tokens.values()
            if t.uid == account.uid
        ]
        out.append(
            {
                "uid": str(account.uid),
                "screen_name": state.users[account.uid].screen_name,
                "app_key": app.app_key,
                "app_secret": app.app_secret,
                "redirect_uri": app.redirect_uri,
                "safe_domains": app.safe_domains,
                "callback_url": account.callback_url,
                "followers": len(state.followers.get(account.uid, {})),
                "tokens": tokens,
            }
        )
    return ok({"accounts": out})


async def issue_token(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    uid = account_uid(sim, body)
    ttl = opt_int(body, "ttl", sim.config.token_ttl, minimum=1) or sim.config.token_ttl
    token = sim.state.new_token(uid, sim.state.accounts[uid].app_key, ttl)
    return ok({"uid": str(uid), "access_token": token.token, "expires_in": ttl}, 201)


async def faults(request: web.Request) -> web.Response:
    """POST changes fault settings and performs token actions; GET only reports."""
    sim = request.app[SIM_KEY]
    if request.method == "POST":
        body = await read_json(request)
        if body.pop("clear", False):
            sim.faults.clear()
            sim.quotas.storm = False
        if "rate_limit_storm" in body:
            sim.quotas.storm = bool(body.pop("rate_limit_storm"))
        now = sim.clock.now()
        for action in ("expire_token", "revoke_token"):
            value = body.pop(action, None)
            if value is not None:
                token = sim.state.tokens.get(str(value))
                if token is None:
                    raise ControlError(f"no token {value}", 404)
                if action == "expire_token":
                    token.expires_at = min(token.expires_at, now - 1)
                else:
                    token.revoked = True
        if body.get("expire_account") is not None:
            uid = as_id(body.pop("expire_account"), "expire_account")
            for token in sim.state.tokens.values():
                if token.uid == uid:
                    token.expires_at = min(token.expires_at, now - 1)
        sim.faults.update(body)
    return ok({**sim.faults.settings.as_dict(), "rate_limit_storm": sim.quotas.storm})


async def limits(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    if request.method == "POST":
        sim.config.limits.update(await read_json(request))
    return ok(sim.config.limits.as_dict())


async def clock(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    if request.method == "POST":
        body = await read_json(request)
        seconds = body.get("advance_seconds", 0)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ControlError("advance_seconds must be a non-negative number")
        sim.clock.advance(float(seconds))
        sim.reactions.run_due()  # reactions the jump passed happen now
    now = sim.clock.now()
    return ok({"now": now, "created_at": weibo_date(now), "offset_seconds": sim.clock.offset})


async def reset(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    sim.reset(keep_accounts=bool(body.get("keep_accounts", False)))
    return ok({"ok": True, **sim.state.summary()})


async def traffic(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    items: list[dict[str, Any]] = []
    if request.method == "POST":
        body = await read_json(request)
        if "accounts" in body:
            chosen = body["accounts"]
            if chosen is not None and not isinstance(chosen, list):
                raise ControlError("accounts must be a list of account uids or null")
            sim.traffic.accounts = None if chosen is None else [as_id(v, "accounts") for v in chosen]
        if "rate" in body:
            rate = body["rate"]
            if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0:
                raise ControlError("rate must be a non-negative number (items per second)")
            sim.traffic.set_rate(float(rate))
        step = opt_int(body, "step", 0) or 0
        if step > 10000:
            raise ControlError("step is limited to 10000 items per call")
        items = sim.traffic.step(step)
    return ok({**sim.traffic.status(), "items": items})


async def outbox(request: web.Request) -> web.Response:
    """What the hub wrote, oldest first, filtered by endpoint / account / target."""
    sim = request.app[SIM_KEY]
    query = request.query
    filters: dict[str, int] = {}
    for name in ("uid", "status_id", "comment_id", "receiver_id"):
        if query.get(name):
            filters[name] = as_id(query[name], name)
    since_seq = as_id(query.get("since_seq", "0"), "since_seq")
    endpoint = query.get("endpoint")
    items = [
        outbox_json(entry)
        for entry in sim.state.outbox
        if entry.seq > since_seq
        and (endpoint is None or entry.endpoint == endpoint)
        and all(getattr(entry, name) == value for name, value in filters.items())
    ]
    return ok({"items": items, "total": len(items)})


async def pushes(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    since_seq = as_id(request.query.get("since_seq", "0"), "since_seq")
    items = [push_record_json(r) for r in sim.state.pushes if r.seq > since_seq]
    return ok({"items": items, "total": len(items)})


async def callbacks(request: web.Request) -> web.Response:
    """Register (or with ``url: null`` remove) an account's fans-service callback."""
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    uid = account_uid(sim, body)
    account = sim.state.accounts[uid]
    account.callback_url = opt_str(body, "url")
    secret = opt_str(body, "app_secret")
    if secret is not None:
        account.push_secret = secret
    verified = None
    if body.get("verify") and account.callback_url:
        verified = await sim.pusher.verify(account.callback_url, _secret(sim, uid))
    return ok({"account_uid": str(uid), "url": account.callback_url, "verified": verified})


def _secret(sim: Simulator, uid: int) -> str:
    account = sim.state.accounts[uid]
    return account.push_secret or sim.state.apps[account.app_key].app_secret


async def verify_callback(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    uid = account_uid(sim, await read_json(request))
    url = sim.state.accounts[uid].callback_url
    if not url:
        raise ControlError(f"account {uid} has no callback url", 404)
    return ok(await sim.pusher.verify(url, _secret(sim, uid)))


def register_control(app: web.Application) -> None:
    r = app.router
    r.add_get("/_sim/health", health)
    r.add_get("/_sim/state", state_summary)
    r.add_post("/_sim/accounts", create_account)
    r.add_get("/_sim/accounts", list_accounts)
    r.add_post("/_sim/tokens", issue_token)
    for path, handler in (
        ("/_sim/faults", faults),
        ("/_sim/limits", limits),
        ("/_sim/clock", clock),
        ("/_sim/traffic", traffic),
    ):
        r.add_get(path, handler)
        r.add_post(path, handler)
    r.add_post("/_sim/reset", reset)
    r.add_get("/_sim/outbox", outbox)
    r.add_get("/_sim/pushes", pushes)
    r.add_post("/_sim/callbacks", callbacks)
    r.add_post("/_sim/push/verify", verify_callback)
