"""Managed accounts: health, listening settings, and connecting / re-authorizing them.

Thin views over ``accounts.connect``: how an account is connected -- OAuth at
``/oauth/{platform}/start`` and ``/callback``, or a credential form at
``/accounts/connect/{platform}`` -- is whatever its platform's adapter offers; nothing here
names a platform.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from servicehub.accounts.connect import (
    authorizing_platforms,
    credential_platforms,
    do_begin_authorization,
    do_complete_authorization,
    do_connect_with_credentials,
    do_set_listening,
)
from servicehub.accounts.health import account_rows
from servicehub.adapters import registry
from servicehub.core.errors import ActionError
from servicehub.core.models import AccountKind
from servicehub.core.permissions import Principal
from servicehub.workbench.forms import Form, explain, principal, runtime_of, submit, with_notice
from servicehub.workbench.i18n import translator
from servicehub.workbench.rendering import locale_of, render
from servicehub.workbench.security import csrf_token, guard


@guard("account.view")
async def accounts_page(request: Request) -> Response:
    runtime, who = runtime_of(request), principal(request)

    def load() -> list[Any]:
        with runtime.sessions() as session:
            return account_rows(session, runtime, who)

    rows = await run_in_threadpool(load)
    return render(
        request,
        "accounts.html",
        rows=rows,
        can_manage=who.can("account.manage"),
        oauth_platforms=[(p, registry.names(p)) for p in authorizing_platforms()],
        credential_forms=[
            (p, registry.names(p), registry.credential_fields(p)) for p in credential_platforms()
        ],
        kinds=[k.value for k in AccountKind],
        notice=request.query_params.get("notice"),
        first_connect_hours=f"{runtime.settings.listener.first_connect_hours:g}",
        first_connect_pages=runtime.settings.listener.first_connect_pages,
    )


@guard("account.manage")
async def listening_submit(request: Request) -> Response:
    account_id = int(request.path_params["account_id"])

    def act(session: Session, who: Principal, form: Form) -> str:
        do_set_listening(session, who, account_id, form.strings("sources"))
        return f"/accounts#a{account_id}"

    return await submit(request, act, back="/accounts", done="saved")


@guard("account.manage")
async def credentials_submit(request: Request) -> Response:
    """Add an account of a credential platform, or re-enter a known one's credentials."""
    platform = str(request.path_params["platform"])
    runtime = runtime_of(request)

    def act(session: Session, who: Principal, form: Form) -> str:
        fields = registry.credential_fields(platform) if platform in credential_platforms() else ()
        values = {f.name: form.text(f.name, max_length=256) for f in fields}
        connected = do_connect_with_credentials(session, runtime, who, platform, values)
        return with_notice(
            f"/accounts#a{connected.account_id}", "app_added" if connected.is_new else "app_updated"
        )

    return await submit(request, act, back="/accounts", done="saved")


def _binding(request: Request) -> str:
    """What ties an OAuth round trip to this browser session: its CSRF token."""
    return csrf_token(request)


@guard("account.manage")
async def oauth_start(request: Request) -> Response:
    """Send the browser to the platform's consent page; ``kind`` says what is being connected."""
    platform = str(request.path_params["platform"])
    kind = request.query_params.get("kind", AccountKind.OFFICIAL.value)
    runtime, who, binding = runtime_of(request), principal(request), _binding(request)
    url = await run_in_threadpool(do_begin_authorization, runtime, who, platform, kind, binding)
    return RedirectResponse(url, status_code=303)


@guard("account.manage")
async def oauth_callback(request: Request) -> Response:
    platform = str(request.path_params["platform"])
    params = request.query_params
    t = translator(locale_of(request))
    if "error" in params:  # the person refused on the platform's consent page
        return render(
            request, "error.html", status_code=400, message=t("accounts.oauth_denied"), back="/accounts"
        )
    runtime, who, binding = runtime_of(request), principal(request), _binding(request)
    try:
        connected = await run_in_threadpool(
            lambda: do_complete_authorization(
                runtime,
                who,
                platform,
                state=params.get("state", ""),
                code=params.get("code", ""),
                session_binding=binding,
            )
        )
    except ActionError as error:
        status = 502 if error.code == "oauth_failed" else 400
        return render(
            request, "error.html", status_code=status, message=explain(request, error), back="/accounts"
        )
    notice = "connected" if connected.is_new else "reauthorized"
    return RedirectResponse(f"/accounts?notice={notice}#a{connected.account_id}", status_code=303)


ROUTES: list[BaseRoute] = [
    Route("/accounts", accounts_page),
    Route("/accounts/{account_id:id}/listening", listening_submit, methods=["POST"]),
    Route("/accounts/connect/{platform:str}", credentials_submit, methods=["POST"]),
    Route("/oauth/{platform:str}/start", oauth_start),
    Route("/oauth/{platform:str}/callback", oauth_callback),
]
