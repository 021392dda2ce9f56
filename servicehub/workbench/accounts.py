"""Managed accounts: health, listening settings, and connecting / re-authorizing through OAuth2.

The OAuth ``state`` is an HMAC bound to the operator's session CSRF token and the kind of
account being connected, so a callback cannot be replayed into another session; the
callback re-authorizes a known account (polling resumes from its cursors) or adds a new one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from servicehub.adapters.base import Source
from servicehub.adapters.errors import PlatformError
from servicehub.adapters.registry import build_adapter, pollable_sources
from servicehub.core.models import Account, AccountKind, AccountOperator, Organization, PollCursor, User
from servicehub.core.permissions import restrict
from servicehub.core.runtime import Runtime
from servicehub.listener.accounts import connect_authorized, register_wechat_account, set_listening
from servicehub.listener.connect import oauth_client, platform_config
from servicehub.routing.access import access_account
from servicehub.workbench.i18n import translator
from servicehub.workbench.pages import principal, runtime_of
from servicehub.workbench.rendering import locale_of, render
from servicehub.workbench.security import checked_form, csrf_token, guard


@guard("account.view")
async def accounts_page(request: Request) -> Response:
    runtime = runtime_of(request)
    who = principal(request)

    def load() -> list[dict[str, Any]]:
        with runtime.sessions() as session:
            stmt = restrict(select(Account).order_by(Account.id), who, "account.view", Account)
            accounts = list(session.scalars(stmt))
            ids = [a.id for a in accounts]
            operators = session.execute(
                select(AccountOperator.account_id, User.display_name)
                .join(User, User.id == AccountOperator.user_id)
                .where(AccountOperator.account_id.in_(ids))
            ).all()
            orgs = dict(session.execute(select(Organization.id, Organization.name)).all())
            errors = dict(
                session.execute(
                    select(PollCursor.account_id, func.max(PollCursor.last_error))
                    .where(PollCursor.account_id.in_(ids), PollCursor.last_error != "")
                    .group_by(PollCursor.account_id)
                ).all()
            )
            return [
                {
                    "account": a,
                    "org": orgs.get(a.operated_by_org_id, ""),
                    "operators": [name for aid, name in operators if aid == a.id],
                    "sources": a.listening.get("sources") or [s.value for s in Source],
                    "pollable": [s.value for s in pollable_sources(a.platform)],
                    "push_url": f"{runtime.settings.public_url}/push/{a.platform}/{a.id}",
                    "last_error": errors.get(a.id, ""),
                }
                for a in accounts
            ]

    rows = await run_in_threadpool(load)
    return render(
        request,
        "accounts.html",
        rows=rows,
        can_manage=who.can("account.manage"),
        notice=request.query_params.get("notice"),
    )


@guard("account.manage")
async def listening_submit(request: Request) -> Response:
    account_id = int(request.path_params["account_id"])
    form = await checked_form(request)
    runtime = runtime_of(request)
    who = principal(request)
    sources = [str(v) for v in form.getlist("sources")]

    def act() -> None:
        with runtime.sessions.begin() as session:
            account = access_account(session, who, account_id, "account.manage")
            set_listening(session, account, sources, actor_id=who.user_id)

    try:
        await run_in_threadpool(act)
    except ValueError as exc:
        return render(request, "error.html", status_code=400, message=str(exc))
    return RedirectResponse("/accounts?notice=saved", status_code=303)


@guard("account.manage")
async def wechat_submit(request: Request) -> Response:
    """Add a WeChat official account: its appid/appsecret and the push Token set in its console."""
    form = await checked_form(request)
    runtime = runtime_of(request)
    who = principal(request)
    fields = {
        k: str(form.get(k, ""))
        for k in ("display_name", "original_id", "appid", "secret", "push_token", "aes_key")
    }

    def act() -> int:
        with runtime.sessions.begin() as session:
            org = session.get(Organization, who.org_id)
            assert org is not None
            account = register_wechat_account(
                session,
                runtime,
                display_name=fields["display_name"],
                original_id=fields["original_id"],
                appid=fields["appid"],
                secret=fields["secret"],
                push_token=fields["push_token"],
                encoding_aes_key=fields["aes_key"].strip(),
                org=org,
                actor_id=who.user_id,
            )
            return account.id

    try:
        account_id = await run_in_threadpool(act)
    except ValueError as exc:
        return render(request, "error.html", status_code=422, message=str(exc))
    return RedirectResponse(f"/accounts?notice=wechat_added#a{account_id}", status_code=303)


def _binding(request: Request, kind: str) -> str:
    return f"{csrf_token(request)}:{kind}"


@guard("account.manage")
async def oauth_start(request: Request) -> Response:
    """Send the browser to the platform's consent page; ``kind`` says what is being connected."""
    kind = request.query_params.get("kind", AccountKind.OFFICIAL.value)
    if kind not in {k.value for k in AccountKind}:
        kind = AccountKind.OFFICIAL.value
    runtime = runtime_of(request)
    client = oauth_client(runtime, "weibo")
    try:
        url = client.authorize_url(client.new_state(_binding(request, kind)))
    finally:
        client.close()
    return RedirectResponse(url, status_code=303)


@guard("account.manage")
async def oauth_callback(request: Request) -> Response:
    t = translator(locale_of(request))
    params = request.query_params
    if "error" in params:
        return render(
            request,
            "error.html",
            status_code=400,
            message=f"{t('accounts.oauth_denied')} ({params['error']})",
        )
    state, code = params.get("state", ""), params.get("code", "")
    runtime = runtime_of(request)
    who = principal(request)
    client = oauth_client(runtime, "weibo")
    try:
        # The kind travels inside the signed binding: whichever kind verifies is the one asked for.
        kind = next(
            (k.value for k in AccountKind if client.check_state(state, _binding(request, k.value))), None
        )
        if kind is None or not code:
            return render(request, "error.html", status_code=400, message=t("accounts.oauth_bad_state"))

        def act() -> tuple[int, bool]:
            token = client.exchange_code(code)
            display = _screen_name(runtime, token)
            with runtime.sessions.begin() as session:
                org = session.get(Organization, who.org_id)
                assert org is not None
                account, is_new = connect_authorized(
                    session,
                    runtime,
                    platform="weibo",
                    platform_uid=token.uid,
                    display_name=display,
                    access_token=token.access_token,
                    expires_at=token.expires_at,
                    org=org,
                    kind=AccountKind(kind),
                    actor_id=who.user_id,
                )
                return account.id, is_new

        try:
            account_id, is_new = await run_in_threadpool(act)
        except PlatformError as exc:
            return render(
                request, "error.html", status_code=502, message=f"{t('accounts.oauth_failed')}: {exc}"
            )
    finally:
        client.close()
    return RedirectResponse(
        f"/accounts?notice={'connected' if is_new else 'reauthorized'}#a{account_id}", status_code=303
    )


def _screen_name(runtime: Runtime, token: Any) -> str:
    """The authorized account's screen name, read with the fresh token (the uid if that fails)."""
    adapter = build_adapter(platform_config(runtime, "weibo"), token.credentials(), runtime.adapter_transport)
    try:
        return str(adapter.user(token.uid).screen_name)
    except PlatformError:
        return str(token.uid)
    finally:
        adapter.close()


ROUTES = [
    Route("/accounts", accounts_page),
    Route("/accounts/{account_id:int}/listening", listening_submit, methods=["POST"]),
    Route("/accounts/wechat", wechat_submit, methods=["POST"]),
    Route("/oauth/weibo/start", oauth_start),
    Route("/oauth/weibo/callback", oauth_callback),
]
