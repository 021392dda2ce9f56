"""The accounts page tells the truth about each account: token, errors, API budget.

Found by using the hub: the expiry column showed a date a week ahead while the platform had
already called the token expired; the raw English error stayed on screen after the account
was re-authorized; the hour's API budget was never shown.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from starlette.testclient import TestClient

from servicehub.accounts.budget import budget_for
from servicehub.accounts.registration import store_token
from servicehub.core.db import utcnow
from servicehub.core.models import Account, Health, PollCursor
from servicehub.core.runtime import Runtime
from servicehub.workbench.rendering import CHINA
from tests.factories import World
from tests.workbench.conftest import login

RAW = "Weibo statuses/mentions: expired_token (code 21327)"


def _row(client: TestClient, account_id: int) -> str:
    return client.get("/accounts").text.split(f'id="a{account_id}"')[1].split("</tr>")[0]


def _expire(runtime: Runtime, account_id: int) -> str:
    """The platform refused the token although its stored expiry is a week away."""
    ahead = utcnow() + timedelta(days=7)
    with runtime.sessions.begin() as s:
        account = s.get(Account, account_id)
        assert account is not None
        account.token_expires_at, account.health, account.health_detail = ahead, Health.NEEDS_REAUTH, RAW
        for cursor in s.scalars(select(PollCursor).where(PollCursor.account_id == account_id)):
            cursor.last_error, cursor.error_kind = RAW, "token_expired"
    return ahead.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def test_an_expired_token_reads_expired_whatever_its_date(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    shown_date = _expire(sqlite_runtime, world.inhouse_account_id)
    login(client, "admin")
    row = _row(client, world.inhouse_account_id)
    assert "已失效，需重新授权" in row and shown_date not in row
    assert "重新授权" in row and "授权已失效" in row  # the source's error, in words
    assert row.count(RAW) == row.count("<code>" + RAW)  # the raw text only as folded detail


def test_re_authorizing_clears_the_old_errors(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    _expire(sqlite_runtime, world.inhouse_account_id)
    with sqlite_runtime.sessions.begin() as s:
        account = s.get(Account, world.inhouse_account_id)
        assert account is not None
        store_token(s, sqlite_runtime, account, "2.00fresh", utcnow() + timedelta(days=30))
    login(client, "admin")
    row = _row(client, world.inhouse_account_id)
    assert RAW not in row and "授权已失效" not in row and "正常" in row


def test_the_hours_api_budget_is_shown(client: TestClient, world: World, sqlite_runtime: Runtime) -> None:
    per_hour = sqlite_runtime.settings.listener.hourly_budget
    budget_for(sqlite_runtime).spend(world.inhouse_account_id, 7)
    login(client, "admin")
    assert f"剩余 {per_hour - 7} / {per_hour} 次" in _row(client, world.inhouse_account_id)
    assert f"剩余 {per_hour} / {per_hour} 次" in _row(client, world.partner_account_id)
