"""``access_*``: fetch a row and authorize it in one step (Zulip style).

A row outside the principal's data scope raises the same :class:`NotVisible` as a row
that does not exist, so an operator cannot probe ids of another company's requests.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core.models import Account, ServiceRequest
from servicehub.core.permissions import Principal, restrict


class NotVisible(LookupError):
    """Missing or outside the caller's scope; the two are deliberately indistinguishable."""


class Forbidden(PermissionError):
    """The caller lacks the function permission (the row itself is visible)."""


def access_request(
    session: Session, principal: Principal, request_id: int, function: str = "request.view"
) -> ServiceRequest:
    stmt = restrict(
        select(ServiceRequest).where(ServiceRequest.id == request_id),
        principal,
        "request.view",
        ServiceRequest,
    )
    request = session.scalars(stmt).first()
    if request is None:
        raise NotVisible(f"request {request_id}")
    if function != "request.view":
        allowed = session.scalars(
            restrict(
                select(ServiceRequest.id).where(ServiceRequest.id == request_id),
                principal,
                function,
                ServiceRequest,
            )
        ).first()
        if allowed is None:
            raise Forbidden(function)
    return request


def access_account(
    session: Session, principal: Principal, account_id: int, function: str = "account.view"
) -> Account:
    account = session.scalars(
        restrict(select(Account).where(Account.id == account_id), principal, function, Account)
    ).first()
    if account is None:
        raise NotVisible(f"account {account_id}")
    return account
