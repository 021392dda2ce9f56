"""Walking a newest-first Weibo list back to the last cursor so a burst loses nothing.

Weibo lists are newest first, ``since_id`` is exclusive and ``max_id`` *inclusive*. One
page of ``count`` items after a busy hour may hold only the newest part of what arrived,
so a poll with a cursor asks again with ``max_id = oldest_seen - 1`` until a page comes
back empty (or only holds what we already passed). A short page does not mean the end:
Weibo drops items it will not show to this app after choosing the page. The walk is
capped so a runaway never eats the hourly quota; the caller sees ``pages`` and
``truncated``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from servicehub.adapters.weibo.mapping import object_id

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
) -> Walk:
    """Fetch pages of ``what`` until the cursor ``since_id`` is reached.

    ``fetch_page`` must already pass ``since_id`` to the platform; this function only
    decides ``max_id``. With no cursor (the first poll ever) it takes one page: history
    before the hub started listening is not service work.
    """
    cursor = int(since_id) if since_id is not None else None
    seen: dict[int, Mapping[str, Any]] = {}
    max_id: int | None = start_max_id
    pages = 0
    truncated = False
    resume: str | None = None
    while True:
        page = fetch_page(max_id)
        pages += 1
        ids = [(int(object_id(entry, what)), entry) for entry in page]
        fresh = [(i, entry) for i, entry in ids if (cursor is None or i > cursor) and i not in seen]
        for i, entry in fresh:
            seen[i] = entry
        if cursor is None or not fresh:
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
