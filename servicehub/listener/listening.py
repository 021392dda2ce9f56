"""Actions on keyword listening tasks: keywords heard on some accounts go to some people.

Needs ``rule.manage``; the accounts, people and team a task names are read through
``access``, so a partner's rule manager cannot listen on another company's accounts. The
filter chain reads the active tasks with each batch (``listener.filtering``): a saved task
takes effect with the next poll or push, and switching one off (or deleting it) stops it
matching at once. Deleting a task also removes the routing policies and rules naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.errors import ActionError
from servicehub.core.models import Account, ListeningTask, Team, User
from servicehub.core.permissions import Principal, access

MANAGE = "rule.manage"
MAX_KEYWORDS = 50


@dataclass(frozen=True)
class TaskFields:
    name: str
    keywords: Sequence[str]
    account_ids: Sequence[int] = ()
    user_ids: Sequence[int] = ()
    team_id: int | None = None
    is_active: bool = True


def _checked(session: Session, who: Principal, fields: TaskFields) -> dict[str, Any]:
    name = fields.name.strip()[:120]
    keywords = sorted({k.strip()[:64] for k in fields.keywords if k.strip()})
    if not name or not keywords:
        raise ActionError("task_needs_keywords", "a name and at least one keyword are required")
    if len(keywords) > MAX_KEYWORDS:
        raise ActionError("too_many", f"at most {MAX_KEYWORDS} keywords", limit=MAX_KEYWORDS)
    accounts = sorted(set(fields.account_ids))
    users = sorted(set(fields.user_ids))
    for account_id in accounts:
        access(session, who, Account, account_id, MANAGE)
    for user_id in users:
        access(session, who, User, user_id, MANAGE)
    if fields.team_id is not None:
        access(session, who, Team, fields.team_id, MANAGE)
    return {
        "name": name,
        "keywords": keywords,
        "account_ids": accounts,
        "user_ids": users,
        "team_id": fields.team_id,
        "is_active": fields.is_active,
    }


def do_create_listening_task(session: Session, who: Principal, fields: TaskFields) -> ListeningTask:
    values = _checked(session, who, fields)
    task = ListeningTask(**values)
    session.add(task)
    session.flush()
    audit.record(session, "listening.created", "listening_task", task.id, by=who, **values)
    return task


def do_update_listening_task(
    session: Session, who: Principal, task_id: int, fields: TaskFields
) -> ListeningTask:
    task = access(session, who, ListeningTask, task_id, MANAGE)
    values = _checked(session, who, fields)
    for key, value in values.items():
        setattr(task, key, value)
    audit.record(session, "listening.updated", "listening_task", task.id, by=who, **values)
    return task


def do_delete_listening_task(session: Session, who: Principal, task_id: int) -> None:
    task = access(session, who, ListeningTask, task_id, MANAGE)
    session.delete(task)
    audit.record(session, "listening.deleted", "listening_task", task_id, by=who, name=task.name)
