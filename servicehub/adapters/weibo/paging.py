"""Walking a newest-first Weibo list back to the last cursor so a burst loses nothing.

Weibo lists are newest first, ``since_id`` is exclusive and ``max_id`` *inclusive*. One
page of ``count`` items after a busy hour may hold only the newest part of what arrived,
so a poll with a cursor asks again with ``max_id = oldest_seen - 1`` until a page comes
back empty (or only holds what we already passed). A short page does not mean the end:
Weibo drops items it will not show to this app after choosing the page. The walk is
capped so a runaway never eats the hourly quota; the caller sees ``pages`` and
``truncated``.

Without a cursor (an account's first connection) the walk goes back to a horizon instead:
items created since ``not_before``, in at most ``max_pages`` pages; what is older is history
the account inherited. A cursor of ``0`` (the list was empty at the first poll) is below
every id: the walk takes everything the list holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from servicehub.adapters.base import Horizon
from servicehub.adapters.weibo.mapping import object_id, parse_created_at

log = logging.getLogger(__name__)

DEFAULT_MAX_PAGES = 50

Page = Sequence[Mapping[str, Any]]
PageFetcher = Callable[[int | None], Page]  # max_id (inclusive) or None -> one page


@dataclass(frozen=True, slots=True)
class Walk:
    """Raw objects newer than the cursor, newest first, unique by id."""

    items: list[Mapping[str, Any]]
    newest_id: str | None
    pages: int
    truncated: bool
    resume_max_id: str | None = None  # when truncated: where the next walk must start


def walk_back(
    fetch_page: PageFetcher,
    since_id: str | None,
    *,
    what: str,
    max_pages: int = DEFAULT_MAX_PAGES,
    start_max_id: int | None = None,
    horizon: Horizon | None = None,
) -> Walk:
    """Fetch pages of ``what`` until the cursor ``since_id`` is reached.

    ``fetch_page`` must already pass ``since_id`` to the platform; this function only
    decides ``max_id``. With no cursor (the first poll ever) it walks back to ``horizon``
    (see the module docstring), or takes one page when there is none.
    """
    if since_id is None:
        return _walk_to_horizon(fetch_page, what=what, horizon=horizon, start_max_id=start_max_id)
    cursor = int(since_id)
    seen: dict[int, Mapping[str, Any]] = {}
    max_id: int | None = start_max_id
    pages = 0
    truncated = False
    resume: str | None = None
    while True:
        page = fetch_page(max_id)
        pages += 1
        ids = [(int(object_id(entry, what)), entry) for entry in page]
        fresh = [(i, entry) for i, entry in ids if i > cursor and i not in seen]
        for i, entry in fresh:
            seen[i] = entry
        if not fresh:
            break
        oldest = min(i for i, _ in ids)
        if oldest <= cursor + 1:
            break  # the page reached the cursor: nothing can lie between
        if max_id is not None and oldest > max_id:
            break  # the server ignored max_id; asking again would loop
        if pages >= max_pages:
            truncated = True
            resume = str(oldest - 1)
            log.info(
                "Weibo %s: stopped after %d pages; the next poll continues below %d", what, pages, oldest
            )
            break
        max_id = oldest - 1
    ordered = [seen[i] for i in sorted(seen, reverse=True)]
    if ordered:
        newest_id: str | None = str(max(seen))
    else:
        newest_id = since_id
    return Walk(items=ordered, newest_id=newest_id, pages=pages, truncated=truncated, resume_max_id=resume)


def _walk_to_horizon(
    fetch_page: PageFetcher, *, what: str, horizon: Horizon | None, start_max_id: int | None
) -> Walk:
    """A first connection: newest first, back to ``horizon`` (one page without one).

    ``newest_id`` is the newest id the list holds even when it is older than the horizon
    (and so not returned): the cursor then starts there. An empty list gives ``"0"``.
    """
    seen: dict[int, Mapping[str, Any]] = {}
    newest: int | None = None
    max_id = start_max_id
    pages = 0
    limit = horizon.max_pages if horizon is not None else 1
    while True:
        page = fetch_page(max_id)
        pages += 1
        ids = [(int(object_id(entry, what)), entry) for entry in page]
        if not ids:
            break
        newest = max([newest or 0, *(i for i, _ in ids)])
        reached = False
        for i, entry in ids:
            if horizon is not None and _older(entry, horizon.not_before, what):
                reached = True
            elif i not in seen:
                seen[i] = entry
        oldest = min(i for i, _ in ids)
        if reached or pages >= limit or (max_id is not None and oldest > max_id):
            break
        max_id = oldest - 1
    ordered = [seen[i] for i in sorted(seen, reverse=True)]
    return Walk(items=ordered, newest_id=str(newest) if newest else "0", pages=pages, truncated=False)


def _older(entry: Mapping[str, Any], not_before: datetime, what: str) -> bool:
    created = entry.get("created_at")
    if not created:  # a tombstone without a date: let the mapping decide what it is
        return False
    return parse_created_at(created, f"{what}.created_at") < not_before
