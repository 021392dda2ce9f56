"""What each inbound message is for analytics -- a comment, a reply, a repost, a follow -- in SQL.

The hub stores a message's kind as the listener saw it (mention, comment, private message,
event); whether a mention is really a repost, or a comment a reply to another fan, is in
the platform's raw payload. Each adapter declares how to read that (``PayloadRule`` and
``TieRule`` in ``adapters.base``); here those declarations become SQL expressions, so the
rollup classifies millions of rows inside the database, never asking which platform it
reads.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, null

from servicehub.adapters import registry
from servicehub.adapters.base import ItemKind
from servicehub.core.models import Message

# The interaction a message is when no payload rule says more.
BY_KIND = {
    ItemKind.MENTION: "mention",
    ItemKind.COMMENT_MENTION: "mention",
    ItemKind.COMMENT: "comment",
    ItemKind.PRIVATE_MESSAGE: "dm",
    ItemKind.EVENT: "event",
}
# What the trends page counts as interacting with fans, in chart order.
INTERACTIONS = ("comment", "reply", "repost", "mention", "dm")
FOLLOW, UNFOLLOW = "follow", "unfollow"
SENTIMENTS = ("positive", "neutral", "negative")


def _at(path: tuple[str, ...]) -> ColumnElement[Any]:
    """The raw payload's value at ``path`` as text (None when absent or JSON null)."""
    node = Message.raw[path[0]] if len(path) == 1 else Message.raw[path]
    found: ColumnElement[Any] = node.as_string()
    return found


def interaction() -> ColumnElement[str]:
    """CASE expression: the interaction of each ``messages`` row."""
    whens: list[tuple[ColumnElement[bool], str]] = []
    for platform in registry.platforms():
        for rule in registry.payload_rules(platform):
            value = _at(rule.path)
            test = value.is_not(None) if rule.equals is None else value == rule.equals
            whens.append(
                (and_(Message.platform == platform, Message.kind == rule.kind.value, test), rule.means)
            )
    whens.extend((Message.kind == kind.value, name) for kind, name in BY_KIND.items())
    return case(*whens, else_=literal("other"))


def tie() -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """(tie kind, uid of the user answered) of each row, from the payload; NULLs when none."""
    kinds: list[tuple[ColumnElement[bool], Any]] = []
    uids: list[tuple[ColumnElement[bool], Any]] = []
    for platform in registry.platforms():
        for rule in registry.tie_rules(platform):
            found = (
                func.coalesce(*(_at(path) for path in rule.paths))
                if len(rule.paths) > 1
                else _at(rule.paths[0])
            )
            matches = and_(Message.platform == platform, Message.kind == rule.kind.value, found.is_not(None))
            kinds.append((matches, rule.means))
            uids.append((matches, found))
    if not kinds:
        return null(), null()
    return case(*kinds, else_=null()), case(*uids, else_=null())


def follows_by_event(platform: str) -> bool:
    """Whether the platform pushes follow / unfollow events (else fans are counted from snapshots)."""
    return any(rule.means == FOLLOW for rule in registry.payload_rules(platform))
