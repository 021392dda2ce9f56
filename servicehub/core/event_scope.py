"""Which live events a workbench user may receive, and with what in them.

Events name the requests and accounts they concern (``request_id`` / ``request_ids``,
``account_id`` / ``account_ids``). A receiver gets an event only if it may view requests
(``request.view``) and some named request lies in its scope (checked with ``restrict``,
exactly as lists are) -- or, for an event naming only accounts, some named account does.
What is passed on is cut down to those ids: nobody learns the ids (or the timing) of
another company's requests. An event naming neither is not sent to anyone: fail closed.

Publication events (``publication_id`` / ``publication_ids``) are for the people who may look
at a publication: those holding ``publish`` over every account it goes out on, or
``publish.approve`` over them (``publishing.publications.seen_by``, rebuilt here from the
same scope clauses because ``core`` imports no feature package). They carry nothing else.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from servicehub.core.models import Account, Publication, Scope, ServiceRequest
from servicehub.core.permissions import Principal, restrict, scope_clause

VIEW = "request.view"
PUBLICATION_READERS = ("publish", "publish.approve")
_NAMES = ("request_id", "request_ids", "account_id", "account_ids")
_PUBLICATIONS = ("publication_id", "publication_ids")


def _ids(event: dict[str, Any], one: str, many: str) -> list[int]:
    values = event.get(many) if many in event else [event.get(one)] if one in event else []
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def _publications(event: dict[str, Any]) -> list[int]:
    return _ids(event, "publication_id", "publication_ids")


def names_something(event: dict[str, Any]) -> bool:
    """Whether ``event`` names a request, an account or a publication (one that names none
    goes to nobody)."""
    return bool(
        _ids(event, "request_id", "request_ids")
        or _ids(event, "account_id", "account_ids")
        or _publications(event)
    )


def may_receive(who: Principal, event: dict[str, Any]) -> bool:
    """Whether ``who`` holds a function that could let them see ``event`` at all (no query):
    a publication's readers for a publication event, ``request.view`` for the rest."""
    if _publications(event):
        return any(who.can(f) for f in PUBLICATION_READERS)
    return who.can(VIEW)


def sees_everything(who: Principal, event: dict[str, Any] | None = None) -> bool:
    """Whether ``event`` (any event, when None) may go to ``who`` as it is (no query needed)."""
    if event is not None and _publications(event):
        return any(who.scope(f) is Scope.ALL for f in PUBLICATION_READERS)
    return who.scope(VIEW) is Scope.ALL and not who.states.get(VIEW)


def _publication_event(
    session: Session, who: Principal, event: dict[str, Any], ids: list[int]
) -> dict[str, Any] | None:
    readable = or_(*(scope_clause(who, f, Publication) for f in PUBLICATION_READERS))
    seen = sorted(session.scalars(select(Publication.id).where(Publication.id.in_(ids), readable)))
    if not seen:
        return None
    shown = {k: v for k, v in event.items() if k not in _NAMES + _PUBLICATIONS}
    if "publication_ids" in event:
        shown["publication_ids"] = seen
    else:
        shown["publication_id"] = seen[0]
    return shown


def visible_event(session: Session, who: Principal, event: dict[str, Any]) -> dict[str, Any] | None:
    """``event`` as ``who`` may see it, or None when none of it concerns them."""
    if not may_receive(who, event):
        return None
    publications = _publications(event)
    if publications:
        return _publication_event(session, who, event, publications)
    requests = _ids(event, "request_id", "request_ids")
    accounts = _ids(event, "account_id", "account_ids")
    if not requests and not accounts:
        return None
    if sees_everything(who):
        return event
    shown = {k: v for k, v in event.items() if k not in _NAMES}
    if requests:
        rows = session.execute(
            restrict(
                select(ServiceRequest.id, ServiceRequest.account_id).where(ServiceRequest.id.in_(requests)),
                who,
                VIEW,
                ServiceRequest,
            )
        ).all()
        seen = sorted(r for r, _ in rows)
        accounts = sorted({a for _, a in rows})
        if not seen:
            return None
        if "request_ids" in event:
            shown["request_ids"] = seen
        else:
            shown["request_id"] = seen[0]
    else:
        accounts = sorted(
            session.scalars(restrict(select(Account.id).where(Account.id.in_(accounts)), who, VIEW, Account))
        )
        if not accounts:
            return None
    if "account_ids" in event:
        shown["account_ids"] = accounts
    elif "account_id" in event and event["account_id"] in accounts:
        shown["account_id"] = event["account_id"]
    return shown
