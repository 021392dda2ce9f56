"""The default roles, as data. ``ensure_default_roles`` creates or updates them idempotently.

- administrator: everything;
- manager: reads all data, analytics, export, audit; no replying or publishing unless granted;
- operator (in-house): works requests of accounts operated by the in-house organization;
- partner_operator: only requests of accounts its company operates; phone numbers masked,
  no export, no analytics;
- partner_supervisor: a partner operator who may also (re)assign within the company.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core.models import Grant, Role, Scope
from servicehub.core.permissions import FUNCTIONS

A, O, W = Scope.ALL, Scope.ORG, Scope.OWN

DEFAULT_ROLES: dict[str, tuple[str, dict[str, Scope]]] = {
    "administrator": ("管理员", dict.fromkeys(FUNCTIONS, A)),
    "manager": (
        "主管",
        {
            "request.view": A,
            "request.assign": A,
            "request.resolve": A,
            "message.review": A,
            "customer.view_phone": A,
            "account.view": A,
            "analytics.view": A,
            "export": A,
            "audit.view": A,
        },
    ),
    "operator": (
        "客服专员",
        {
            "request.view": O,
            "request.reply": O,
            "request.resolve": O,
            "message.review": O,
            "customer.view_phone": O,
            "customer.link_crm": O,
            "account.view": O,
            "publish": O,
        },
    ),
    "partner_operator": (
        "外包客服",
        {"request.view": O, "request.reply": O, "request.resolve": O, "account.view": O},
    ),
    "partner_supervisor": (
        "外包主管",
        {"request.view": O, "request.reply": O, "request.resolve": O, "request.assign": O, "account.view": O},
    ),
}


def ensure_default_roles(session: Session) -> dict[str, Role]:
    roles = {r.name: r for r in session.scalars(select(Role))}
    for name, (label, grants) in DEFAULT_ROLES.items():
        role = roles.get(name)
        if role is None:
            role = roles[name] = Role(name=name, label=label)
            session.add(role)
        have = {g.function for g in role.grants}
        for function, scope in grants.items():
            if function not in have:
                role.grants.append(Grant(function=function, scope=scope))
    session.flush()
    return roles
