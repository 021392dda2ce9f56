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
    return set(account.listening.get("sources") or [s.value for s in SOURCE_ORDER])


def set_sources(session: Session, account: Account, sources: list[str]) -> None:
    """Which sources of the account are polled (a source switched off keeps its cursor)."""
    account.listening = {**account.listening, "sources": sorted(set(sources))}
    ensure_cursors(session, account)


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
