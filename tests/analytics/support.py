"""Small fixed data sets for analytics tests: rows written directly, at chosen times."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy.orm import Session

from servicehub.core.models import (
    Customer,
    CustomerIdentity,
    Message,
    RequestState,
    ServiceRequest,
)
from servicehub.core.permissions import Principal

SHANGHAI = timezone(timedelta(hours=8))
_ids = itertools.count(1)


def local(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as the aware UTC datetime the database keeps."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def add_customer(session: Session, name: str, uid: str, followers: int = 0) -> Customer:
    customer = Customer(display_name=name, tags=[])
    session.add(customer)
    session.flush()
    session.add(
        CustomerIdentity(
            customer_id=customer.id,
            platform="weibo",
            platform_uid=uid,
            screen_name=name,
            followers_count=followers,
        )
    )
    session.flush()
    return customer


def add_message(
    session: Session,
    account_id: int,
    at: datetime,
    *,
    kind: str = "mention",
    text: str = "你好",
    customer: Customer | None = None,
    sentiment: str | None = "neutral",
    keep: bool = True,
    reason: str | None = None,
    request: ServiceRequest | None = None,
    raw: dict[str, Any] | None = None,
    platform: str = "weibo",
    id: int | None = None,
) -> Message:
    number = next(_ids)
    message = Message(
        id=id,
        platform=platform,
        kind=kind,
        platform_id=f"t{number}",
        account_id=account_id,
        customer_id=customer.id if customer else None,
        author_uid=str(number),
        author_name=customer.display_name if customer else "路人",
        text=text,
        created_at=at,
        received_at=at,
        thread_id=f"th{number}",
        reply_target={},
        raw=raw or {},
        keep=keep,
        drop_reason=reason,
        tags=[],
        sentiment=None,
        sentiment_label=sentiment,
        routed=request is not None,
        request_id=request.id if request else None,
    )
    session.add(message)
    session.flush()
    return message


def add_request(
    session: Session,
    account_id: int,
    customer: Customer,
    created_at: datetime,
    *,
    responded: datetime | None = None,
    resolved: datetime | None = None,
    due: datetime | None = None,
    assignee_id: int | None = None,
    team_id: int | None = None,
    state: RequestState | None = None,
) -> ServiceRequest:
    request = ServiceRequest(
        account_id=account_id,
        customer_id=customer.id,
        thread_key=f"k{next(_ids)}",
        state=state or (RequestState.RESOLVED if resolved else RequestState.ASSIGNED),
        priority=1,
        subject="测试请求",
        assignee_id=assignee_id,
        team_id=team_id,
        created_at=created_at,
        last_message_at=created_at,
        first_response_at=responded,
        resolved_at=resolved,
        due_at=due,
    )
    session.add(request)
    session.flush()
    return request


@dataclass(frozen=True)
class Viewers:
    manager: Principal
    psup: Principal
    operator: Principal
