"""Which live events a workbench user may receive, and with what in them.

Events name the requests and accounts they concern (``request_id`` / ``request_ids``,
``account_id`` / ``account_ids``). A receiver gets an event only if it may view requests
(``request.view``) and some named request lies in its scope (checked with ``restrict``,
exactly as lists are) -- or, for an event naming only accounts, some named account does.
What is passed on is cut down to those ids: nobody learns the ids (or the timing) of
another company's requests. An event naming neither is not sent to anyone: fail closed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core.models import Account, Scope, ServiceRequest
from servicehub.core.permissions import Principal, restrict

VIEW = "request.view"
_NAMES = ("request_id", "request_ids", "account_id", "account_ids")


def _ids(event: dict[str, Any], one: str, many: str) -> list[int]:
    values = event.get(many) if many in event else [event.get(one)] if one in event else []
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def names_something(event: dict[str, Any]) -> bool:
    """Whether ``event`` names a request or an account (one that does not goes to nobody)."""
    return bool(_ids(event, "request_id", "request_ids") or _ids(event, "account_id", "account_ids"))


def sees_everything(who: Principal) -> bool:
    """Whether every event may go to ``who`` as it is (no query needed)."""
    return who.scope(VIEW) is Scope.ALL and not who.states.get(VIEW)


def visible_event(session: Session, who: Principal, event: dict[str, Any]) -> dict[str, Any] | None:
    """``event`` as ``who`` may see it, or None when none of it concerns them."""
    if not who.can(VIEW):
        return None
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
