"""Who else has a request open right now: "someone else is viewing / replying".

The request page sends a heartbeat about every 15 seconds (``do_heartbeat``), saying
whether its user is only viewing or typing a reply. Each heartbeat renews one row per
(request, user) with an expiry :data:`TTL` ahead, so a closed tab fades out on its own
and every workbench process -- the rows are in the database -- sees the same people.

A heartbeat is presence, not a change of the request: it is not audited and announces no
live event (the others learn of it on their own next heartbeat).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from servicehub.core.db import is_postgres, utcnow
from servicehub.core.errors import ActionError
from servicehub.core.models import RequestViewer, User
from servicehub.core.permissions import Principal
from servicehub.routing.requests import access_request

TTL = timedelta(seconds=45)
MODES = ("viewing", "replying")


@dataclass(frozen=True)
class Viewer:
    name: str
    mode: str


def do_heartbeat(
    session: Session, who: Principal, request_id: int, mode: str, now: datetime | None = None
) -> list[Viewer]:
    """``who`` has request ``request_id`` open (``mode``); returns the *other* people there."""
    if mode not in MODES:
        raise ActionError("invalid_choice", f"unknown mode {mode!r}", field="mode")
    request = access_request(session, who, request_id)
    now = now or utcnow()
    values = {"request_id": request.id, "user_id": who.user_id, "mode": mode, "expires_at": now + TTL}
    insert = pg_insert if is_postgres(session) else sqlite_insert
    stmt = insert(RequestViewer).values(**values)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["request_id", "user_id"],
            set_={"mode": stmt.excluded.mode, "expires_at": stmt.excluded.expires_at},
        )
    )
    session.execute(delete(RequestViewer).where(RequestViewer.expires_at < now - TTL))  # long gone
    return viewers(session, who, request.id, now)


def viewers(session: Session, who: Principal, request_id: int, now: datetime | None = None) -> list[Viewer]:
    """The others who have the request open now (the caller has checked ``who`` may see it)."""
    rows = session.execute(
        select(User.display_name, RequestViewer.mode)
        .join(User, User.id == RequestViewer.user_id)
        .where(
            RequestViewer.request_id == request_id,
            RequestViewer.user_id != who.user_id,
            RequestViewer.expires_at >= (now or utcnow()),
        )
        .order_by(User.display_name)
    )
    return [Viewer(name, mode) for name, mode in rows]
