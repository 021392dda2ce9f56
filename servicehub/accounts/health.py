"""How each account is doing, as the accounts page shows it: health, token, budget, errors.

An account's health is what the hub last learned from using it, so the page must not
contradict it: a token the platform called expired is shown as expired whatever date it
was issued for; a source's error is shown by kind (the platform's own words only as
detail); the hour's API budget shows how much is left and when it renews.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.accounts.budget import HOUR, budget_for
from servicehub.accounts.pauses import WRITES, active_pauses, source_scope
from servicehub.accounts.sources import listened_sources, switched_off
from servicehub.adapters import registry
from servicehub.adapters.base import Source
from servicehub.core.db import utcnow
from servicehub.core.models import Account, AccountOperator, Health, Organization, PollCursor, User
from servicehub.core.permissions import Principal, restrict
from servicehub.core.runtime import Runtime

EXPIRING_SOON = timedelta(days=3)


@dataclass(frozen=True)
class SourceState:
    source: str
    listened: bool
    error_kind: str | None
    error: str
    started: bool = True  # polled at least once (else its first poll reaches back to the horizon)
    paused_until: datetime | None = None  # a platform limit on this source alone


@dataclass(frozen=True)
class SwitchedOff:
    """A source the hub stopped polling by itself, and why (``reason``: ``permission``)."""

    source: str
    reason: str
    detail: str
    at: datetime | None


@dataclass(frozen=True)
class AccountRow:
    account: Account
    platform_names: Mapping[str, str]
    org: str
    operators: list[str]
    token: str  # "valid" | "expiring" | "expired" | "none" (app credentials, no expiry)
    sources: list[SourceState]
    push_url: str
    budget_left: int
    budget_per_hour: int
    budget_renews_at: datetime
    can_authorize: bool
    credential_platform: bool
    writes_paused_until: datetime | None = None
    switched_off: tuple[SwitchedOff, ...] = ()
    name_pending: bool = False  # named by its uid: the platform's name is fetched again

    @property
    def pollable(self) -> list[str]:
        return [s.source for s in self.sources]

    @property
    def errors(self) -> list[SourceState]:
        return [s for s in self.sources if s.error]


def token_state(account: Account, now: datetime) -> str:
    if account.health == Health.NEEDS_REAUTH:
        return "expired"  # the platform refused the token, whatever its date said
    if account.token_expires_at is None:
        return "none"
    if account.token_expires_at <= now:
        return "expired"
    if account.token_expires_at - now <= EXPIRING_SOON:
        return "expiring"
    return "valid"


def account_rows(session: Session, runtime: Runtime, who: Principal) -> list[AccountRow]:
    accounts = list(
        session.scalars(restrict(select(Account).order_by(Account.id), who, "account.view", Account))
    )
    ids = [a.id for a in accounts]
    operators: dict[int, list[str]] = {}
    for account_id, name in session.execute(
        select(AccountOperator.account_id, User.display_name)
        .join(User, User.id == AccountOperator.user_id)
        .where(AccountOperator.account_id.in_(ids))
        .order_by(User.id)
    ):
        operators.setdefault(account_id, []).append(name)
    orgs = {org_id: name for org_id, name in session.execute(select(Organization.id, Organization.name))}
    cursors: dict[int, dict[str, PollCursor]] = {}
    for cursor in session.scalars(select(PollCursor).where(PollCursor.account_id.in_(ids))):
        cursors.setdefault(cursor.account_id, {})[cursor.source] = cursor
    budget, per_hour = budget_for(runtime), runtime.settings.listener.hourly_budget
    renews = datetime.fromtimestamp((int(time.time()) // HOUR + 1) * HOUR, UTC)
    now = utcnow()
    pauses = {
        account_id: {p.scope: p.until for p in rows}
        for account_id, rows in active_pauses(session, ids, now).items()
    }
    return [
        AccountRow(
            account=a,
            platform_names=registry.names(a.platform),
            org=orgs.get(a.operated_by_org_id, ""),
            operators=operators.get(a.id, []),
            token=token_state(a, now),
            sources=_sources(a, cursors.get(a.id, {}), pauses.get(a.id, {})),
            push_url=f"{runtime.settings.public_url}/push/{a.platform}/{a.id}",
            budget_left=max(0, budget.remaining(a.id)),
            budget_per_hour=per_hour,
            budget_renews_at=renews,
            can_authorize=registry.can_authorize(a.platform),
            credential_platform=bool(registry.credential_fields(a.platform)),
            writes_paused_until=pauses.get(a.id, {}).get(WRITES),
            switched_off=_switched_off(a),
            name_pending=a.display_name == a.platform_uid and registry.can_authorize(a.platform),
        )
        for a in accounts
    ]


def _switched_off(account: Account) -> tuple[SwitchedOff, ...]:
    found = []
    for source, info in sorted(switched_off(account).items()):
        try:
            at: datetime | None = datetime.fromisoformat(info.get("at", ""))
        except ValueError:
            at = None
        found.append(SwitchedOff(source, info.get("reason", ""), info.get("detail", ""), at))
    return tuple(found)


def _sources(
    account: Account, cursors: Mapping[str, PollCursor], pauses: Mapping[str, datetime]
) -> list[SourceState]:
    listened = listened_sources(account)
    pollable: Sequence[Source] = registry.pollable_sources(account.platform)
    states = []
    for source in pollable:
        cursor = cursors.get(source.value)
        error = cursor.last_error if cursor is not None and source.value in listened else ""
        states.append(
            SourceState(
                source.value,
                source.value in listened,
                (cursor.error_kind or "rejected") if cursor is not None and error else None,
                error,
                started=cursor is not None and (cursor.cursor is not None or cursor.gap_max_id is not None),
                paused_until=pauses.get(source_scope(source.value)),
            )
        )
    return states
