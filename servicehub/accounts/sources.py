"""Which sources of an account are polled, in which order, and their cursors.

Service-facing sources come first: when an account's hourly API budget runs short,
mentions and private messages are polled and the rest wait (see ``budget``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.adapters.base import Source
from servicehub.adapters.registry import pollable_sources
from servicehub.core.db import utcnow
from servicehub.core.models import Account, PollCursor

SOURCE_ORDER = (Source.MENTIONS, Source.DIRECT_MESSAGES, Source.COMMENTS_TO_ME, Source.COMMENT_MENTIONS)
# Budget tier of each source (see budget.RESERVE): 0 may spend the whole hour's budget.
TIER = {Source.MENTIONS: 0, Source.DIRECT_MESSAGES: 0, Source.COMMENTS_TO_ME: 1, Source.COMMENT_MENTIONS: 1}


def listened_sources(account: Account) -> set[str]:
    """The sources the account is polled for (by default all of them)."""
    chosen = account.listening.get("sources")
    return set([s.value for s in SOURCE_ORDER] if chosen is None else chosen)


def set_sources(session: Session, account: Account, sources: list[str]) -> None:
    """Which sources of the account are polled (a source switched off keeps its cursor).

    A source switched back on forgets why the hub had switched it off: it is tried again.
    """
    wanted = sorted(set(sources))
    off = {k: v for k, v in switched_off(account).items() if k not in wanted}
    account.listening = {**account.listening, "sources": wanted, "off": off}
    ensure_cursors(session, account)


def switched_off(account: Account) -> dict[str, dict[str, str]]:
    """Sources the hub itself stopped polling, with why: source -> {reason, detail, at}."""
    off = account.listening.get("off") or {}
    return {str(k): dict(v) for k, v in off.items() if isinstance(v, dict)}


def switch_off(account: Account, source: str, reason: str, detail: str) -> None:
    """Stop polling ``source`` because the platform will never answer it (e.g. the app lacks
    the permission); the reason stays visible on the accounts page until someone switches
    it on again."""
    listened = sorted(listened_sources(account) - {source})
    off = {
        **switched_off(account),
        source: {"reason": reason, "detail": detail[:300], "at": utcnow().isoformat()},
    }
    account.listening = {**account.listening, "sources": listened, "off": off}


def ensure_cursors(session: Session, account: Account) -> None:
    """One cursor per source the account listens to (by default all its platform can be polled
    for); a source switched (back) on is due at once, from where its cursor stopped."""
    pollable = {s.value for s in pollable_sources(account.platform)}
    wanted = listened_sources(account) & pollable
    have = {
        c.source: c for c in session.scalars(select(PollCursor).where(PollCursor.account_id == account.id))
    }
    for source in sorted(wanted):
        if source not in have:
            session.add(PollCursor(account_id=account.id, source=source))
        elif have[source].next_poll_at > utcnow():
            have[source].next_poll_at = utcnow()
