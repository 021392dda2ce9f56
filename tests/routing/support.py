"""Seeding requests straight into the database (no intake), for routing tests and the bench."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from servicehub.core.db import utcnow
from servicehub.core.models import AccountOperator, Customer, Message, ServiceRequest, User
from servicehub.core.roles import ensure_default_roles
from servicehub.core.security import hash_password


def add_customer(session: Session, name: str = "客户", tier: int = 0, phone: str | None = None) -> Customer:
    customer = Customer(display_name=name, tier=tier, phone=phone, tags=[])
    session.add(customer)
    session.flush()
    return customer


def add_request(
    session: Session,
    account_id: int,
    customer_id: int,
    *,
    text: str = "咨询",
    tags: tuple[str, ...] = (),
    created: datetime | None = None,
    sentiment: float | None = None,
    priority: int = 1,
) -> ServiceRequest:
    """A new, unassigned request with one message (so rules can read its text and tags)."""
    created = created or utcnow()
    request = ServiceRequest(
        account_id=account_id,
        customer_id=customer_id,
        thread_key=f"seed:{customer_id}:{session.info.setdefault('n', 0)}",
        subject=text[:200],
        created_at=created,
        last_message_at=created,
        priority=priority,
        sentiment=sentiment,
        message_count=1,
        due_at=created + timedelta(hours=8),
    )
    session.info["n"] += 1
    session.add(request)
    session.flush()
    session.add(
        Message(
            platform="weibo",
            kind="mention",
            platform_id=f"seed{request.id}",
            account_id=account_id,
            customer_id=customer_id,
            author_uid=str(customer_id),
            author_name="客户",
            text=text,
            created_at=created,
            thread_id=str(request.id),
            tags=list(tags),
            routed=True,
            request_id=request.id,
        )
    )
    return request


def add_operator(
    session: Session,
    org_id: int,
    username: str,
    account_ids: tuple[int, ...],
    *,
    capacity: int = 20,
    role: str = "operator",
) -> User:
    roles = ensure_default_roles(session)
    user = User(
        username=username,
        display_name=username,
        password_hash=hash_password("x" * 12),
        org_id=org_id,
        capacity=capacity,
        roles=[roles[role]],
        shifts=[],
    )
    session.add(user)
    session.flush()
    for account_id in account_ids:
        session.add(AccountOperator(account_id=account_id, user_id=user.id))
    session.flush()
    return user
