"""Private notes on a request, with @mentions of colleagues.

A note is for staff only (never sent to the customer) and is read by whoever may read the
request. Writing one needs only that too: a manager who may not reply may still leave a
note. ``@名字`` or ``@username`` mentions a colleague; only people who may see the request
can be mentioned (anyone else would be told of a request they cannot open), and each one
mentioned gets a notification. Texts are shown with phone and ID numbers masked for
readers who do not see them on the request's account, like the messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.errors import ActionError
from servicehub.core.masking import phone_sight
from servicehub.core.models import Account, AccountOperator, RequestNote, ServiceRequest, User
from servicehub.core.notifications import notify
from servicehub.core.permissions import Principal, may_see_account, principal_for
from servicehub.core.runtime import Runtime
from servicehub.routing.requests import access_request

MAX_NOTE = 2000


@dataclass(frozen=True)
class Colleague:
    id: int
    name: str
    username: str


def colleagues_for(session: Session, request: ServiceRequest, exclude: int | None = None) -> list[Colleague]:
    """Active people who may see ``request`` (the ones a note on it may mention)."""
    account = session.get(Account, request.account_id)
    if account is None:
        return []
    operators = list(
        session.scalars(select(AccountOperator.user_id).where(AccountOperator.account_id == account.id))
    )
    found = []
    for user in session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.id)):
        if user.id == exclude:
            continue
        if user.id == request.assignee_id or may_see_account(principal_for(user), account, operators):
            found.append(Colleague(user.id, user.display_name, user.username))
    return found


def mentioned_in(text: str, colleagues: list[Colleague]) -> list[Colleague]:
    """Colleagues named as ``@display name`` or ``@username`` in ``text`` (longest names first,
    so ``@李娜（外包）`` is not read as ``@李娜``)."""
    found: dict[int, Colleague] = {}
    rest = text
    names = sorted(
        ((name, c) for c in colleagues for name in (c.name, c.username) if name),
        key=lambda pair: -len(pair[0]),
    )
    for name, colleague in names:
        marker = f"@{name}"
        if marker in rest:
            found[colleague.id] = colleague
            rest = rest.replace(marker, " ")
    return sorted(found.values(), key=lambda c: c.id)


def do_add_note(
    session: Session, runtime: Runtime, who: Principal, request_id: int, body: str
) -> tuple[RequestNote, list[Colleague]]:
    """Add ``who``'s private note to the request and tell the colleagues it mentions."""
    request = access_request(session, who, request_id)
    text = body.strip()
    if not text:
        raise ActionError("text_empty", "the note is empty")
    if len(text) > MAX_NOTE:
        raise ActionError("too_long", f"the note is longer than {MAX_NOTE}", field="note", limit=MAX_NOTE)
    mentioned = mentioned_in(text, colleagues_for(session, request, exclude=who.user_id))
    note = RequestNote(
        request_id=request.id, author_id=who.user_id, body=text, mentions=[c.id for c in mentioned]
    )
    session.add(note)
    session.flush()
    audit.record(
        session,
        "request.note_added",
        "request",
        request.id,
        by=who,
        note_id=note.id,
        mentioned=[c.name for c in mentioned],
    )
    notify(
        session,
        runtime,
        [c.id for c in mentioned],
        "mention",
        by=who,
        account_id=request.account_id,
        request_id=request.id,
        note_id=note.id,
    )
    runtime.publish_on_commit(
        session, {"type": "request", "request_id": request.id, "account_id": request.account_id}
    )
    return note, mentioned


@dataclass(frozen=True)
class ShownNote:
    id: int
    author: str
    created_at: datetime
    body: str
    mentions_me: bool


def notes_of(session: Session, who: Principal, request: ServiceRequest) -> list[ShownNote]:
    """The notes on a request ``who`` may read (the caller has checked that), oldest first."""
    sight = phone_sight(session, who)
    rows = session.execute(
        select(RequestNote, User.display_name)
        .outerjoin(User, User.id == RequestNote.author_id)
        .where(RequestNote.request_id == request.id)
        .order_by(RequestNote.id)
    )
    return [
        ShownNote(
            n.id,
            author or "",
            n.created_at,
            sight.text(request.account_id, n.body),
            who.user_id in (n.mentions or []),
        )
        for n, author in rows
    ]
