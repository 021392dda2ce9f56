"""One service request: fetch-and-authorize, resolve, and what its page shows.

``access_request`` is the request flavour of ``core.permissions.access``: a request is
*visible* through ``request.view``; acting on it needs the acting function's scope too, so
an operator who may read a request but not resolve it gets Forbidden, and one who may not
read it at all gets the same NotVisible as for an id that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from servicehub.accounts.adapters import adapter_for
from servicehub.adapters import registry
from servicehub.adapters.base import MediaRef, MediaStream, media_reader
from servicehub.core import audit
from servicehub.core.db import utcnow
from servicehub.core.masking import phone_sight
from servicehub.core.models import (
    PLATFORM_KINDS,
    Account,
    AccountOperator,
    Assignment,
    DeliveryState,
    Message,
    OutboundMessage,
    RequestState,
    ServiceRequest,
    User,
)
from servicehub.core.permissions import NotVisible, Principal, access, may_see_account
from servicehub.core.runtime import Runtime

CLOSED = (RequestState.RESOLVED, RequestState.CLOSED)


def access_request(
    session: Session, principal: Principal, request_id: int, function: str = "request.view"
) -> ServiceRequest:
    return access(session, principal, ServiceRequest, request_id, function, visible_by="request.view")


def do_resolve_request(session: Session, runtime: Runtime, who: Principal, request_id: int) -> bool:
    """Mark the request resolved (once); returns whether it changed."""
    request = access_request(session, who, request_id, "request.resolve")
    if request.state in CLOSED:
        return False
    request.state = RequestState.RESOLVED
    request.resolved_at = utcnow()
    audit.record(session, "request.resolved", "request", request.id, by=who)
    runtime.publish_on_commit(
        session, {"type": "request", "request_id": request.id, "account_id": request.account_id}
    )
    return True


# -- the request page's read model ------------------------------------------------------------


@dataclass(frozen=True)
class ShownMessage:
    id: int
    author_name: str
    created_at: datetime
    text: str
    keep: bool
    drop_reason: str | None
    sentiment_label: str | None
    kind: str
    intent: str | None = None
    # (index, kind) of each photo / voice note / video, opened through request_media
    media: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class ShownReply:
    id: int
    state: str
    text: str
    error_kind: str | None
    error: str
    created_at: datetime
    retryable: bool


@dataclass(frozen=True)
class ReplyRule:
    """How long a reply may be here (the platform's rule for what it answers)."""

    limit: int
    unit: str
    counting: str


@dataclass(frozen=True)
class RequestDetail:
    request: ServiceRequest
    account: Account
    assignee: User | None
    messages: list[ShownMessage]
    replies: list[ShownReply]
    assignments: list[tuple[Assignment, str | None]]
    reply_rule: ReplyRule | None
    platform_name: Mapping[str, str]
    # Names of the people the assignment records mention (as recorded: no new look-up).
    people: Mapping[int, str]


def request_detail(session: Session, who: Principal, request_id: int) -> RequestDetail:
    """Everything the request page shows, as ``who`` may see it: texts with phone and ID
    numbers masked unless ``who`` sees phones on this account, dropped messages only for
    reviewers (``message.review``)."""
    req = access_request(session, who, request_id)
    account = session.get(Account, req.account_id)
    assert account is not None
    sight = phone_sight(session, who)
    stmt = select(Message).where(Message.request_id == req.id).order_by(Message.created_at, Message.id)
    if not may_review(session, who, account):
        stmt = stmt.where(Message.keep.is_(True))
    messages = list(session.scalars(stmt))
    replies = session.scalars(  # SMS and e-mail show on the customer panel (servicehub.contact)
        select(OutboundMessage)
        .where(OutboundMessage.request_id == req.id, OutboundMessage.kind.in_(PLATFORM_KINDS))
        .order_by(OutboundMessage.id)
    )
    assignments = session.execute(
        select(Assignment, User.display_name)
        .outerjoin(User, User.id == Assignment.user_id)
        .where(Assignment.request_id == req.id)
        .order_by(Assignment.id)
    ).all()
    last = next((m for m in reversed(messages) if m.keep), None)
    rule = registry.text_rule(account.platform, str(last.reply_target.get("kind"))) if last else None
    return RequestDetail(
        request=req,
        account=account,
        assignee=_person(session, req.assignee_id),
        messages=[
            ShownMessage(
                m.id,
                m.author_name,
                m.created_at,
                sight.text(account.id, m.text),
                m.keep,
                m.drop_reason,
                m.sentiment_label,
                m.kind,
                m.intent,
                tuple((i, str(a.get("kind", ""))) for i, a in enumerate(m.attachments or [])),
            )
            for m in messages
        ],
        replies=[
            ShownReply(
                o.id,
                str(o.state),
                sight.text(account.id, o.sent_text or o.text),
                o.error_kind,
                o.error,
                o.created_at,
                o.state in (DeliveryState.FAILED, DeliveryState.UNKNOWN),
            )
            for o in replies
        ],
        assignments=[(a, name) for a, name in assignments],
        reply_rule=ReplyRule(rule.limit, rule.unit, rule.counting) if rule else None,
        platform_name=registry.names(account.platform),
        people={
            int(c["id"]): str(c.get("name", ""))
            for a, _ in assignments
            for c in (a.reason or {}).get("candidates", [])
            if isinstance(c, dict) and "id" in c
        },
    )


def request_media(
    session: Session, runtime: Runtime, who: Principal, request_id: int, message_id: int, index: int
) -> MediaStream:
    """Attachment ``index`` of message ``message_id`` of a request ``who`` may see, fetched from
    the platform now (WeChat keeps a customer's media three days). Anything ``who`` could not
    see on the request page -- another request's message, a dropped one without the review
    function, an index that does not exist -- is NotVisible; a platform without the
    capability is Unsupported, a platform failure its PlatformError."""
    req = access_request(session, who, request_id)
    account = session.get(Account, req.account_id)
    message = session.get(Message, message_id)
    if account is None or message is None or message.request_id != req.id:
        raise NotVisible(f"message {message_id}")
    if not message.keep and not may_review(session, who, account):
        raise NotVisible(f"message {message_id}")
    attachments = message.attachments or []
    if not 0 <= index < len(attachments):
        raise NotVisible(f"attachment {index} of message {message_id}")
    return media_reader(adapter_for(runtime, account)).open_media(MediaRef.from_dict(attachments[index]))


def _person(session: Session, user_id: int | None) -> User | None:
    """A user to name on a page: without the roles, teams and grants a User loads eagerly
    (three more queries on every request page, for a name)."""
    if user_id is None:
        return None
    return session.get(User, user_id, options=[lazyload(User.roles), lazyload(User.teams)])


def may_review(session: Session, who: Principal, account: Account) -> bool:
    """Whether ``who`` may read what the filters dropped on ``account``."""
    scope = who.scope("message.review")
    if scope is None:
        return False
    operators = session.scalars(
        select(AccountOperator.user_id).where(AccountOperator.account_id == account.id)
    )
    return may_see_account(who, account, list(operators), "message.review")
