"""The default roles, as data. ``ensure_default_roles`` creates or updates them idempotently.

- administrator: everything;
- manager: reads all data, (re)assigns, analytics, export, audit, publishes on every
  account and approves partners' publications; no replying unless granted;
- operator (in-house): works requests of accounts operated by the in-house organization;
  sees its own workload;
- partner_operator: only requests of accounts its company operates; phone numbers masked,
  no export, no analytics beyond its own workload; it neither collects phones nor links CRM
  records or identities, and sends no SMS or e-mail unless an administrator grants
  ``customer.contact`` to its role (the number stays masked for it even then);
- partner_supervisor: a partner operator who may also (re)assign, manage presence and see
  the workload within its company, write its announcements and snippets, and handle every
  work order sent to its company or its people.

Publishing is ``publish`` on the accounts it goes out on. A partner operator's publication
waits for someone holding ``publish.approve`` over all its accounts (their supervisor, a
manager); ``publish.unreviewed`` publishes without that step (in-house operators).

Work orders: opening one is ``request.transfer`` on the request; receiving one is
``workorder.handle`` -- scope ``own`` reaches orders sent to the user, their teams or their
company, ``org`` everything sent into the company. Sales leads are ``lead.manage`` (a
company sees its own); exporting them needs ``export`` too.

Adding a function to a default role here reaches existing installations on the next
start; removing one does not (an administrator may have granted it on purpose).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core.models import Grant, Role, Scope
from servicehub.core.permissions import FUNCTIONS

A, ORG, OWN = Scope.ALL, Scope.ORG, Scope.OWN

_PARTNER_WORK = {
    "request.view": ORG,
    "request.reply": ORG,
    "request.transfer": ORG,
    "request.resolve": ORG,
    "account.view": ORG,
    "analytics.view": OWN,
    "workorder.handle": OWN,
    "lead.manage": ORG,
    "publish": ORG,
}

DEFAULT_ROLES: dict[str, tuple[str, dict[str, Scope]]] = {
    "administrator": ("管理员", dict.fromkeys(FUNCTIONS, A)),
    "manager": (
        "主管",
        {
            "request.view": A,
            "request.assign": A,
            "request.transfer": A,
            "request.resolve": A,
            "message.review": A,
            "customer.view_phone": A,
            "account.view": A,
            "presence.manage": A,
            "analytics.view": A,
            "export": A,
            "audit.view": A,
            "customer.set_tier": A,
            "snippet.manage": A,
            "announcement.manage": A,
            "workorder.handle": A,
            "lead.manage": A,
            "publish": A,
            "publish.unreviewed": A,
            "publish.approve": A,
        },
    ),
    "operator": (
        "客服专员",
        {
            "request.view": ORG,
            "request.reply": ORG,
            "request.transfer": ORG,
            "request.resolve": ORG,
            "message.review": ORG,
            "customer.view_phone": ORG,
            "customer.link_crm": ORG,
            "customer.contact": ORG,
            "customer.link_identity": ORG,
            "account.view": ORG,
            "analytics.view": OWN,
            "publish": ORG,
            "publish.unreviewed": ORG,
            "workorder.handle": OWN,
            "lead.manage": ORG,
        },
    ),
    "partner_operator": ("外包客服", dict(_PARTNER_WORK)),
    "partner_supervisor": (
        "外包主管",
        {
            **_PARTNER_WORK,
            "request.assign": ORG,
            "presence.manage": ORG,
            "analytics.view": ORG,
            "workorder.handle": ORG,
            "snippet.manage": ORG,
            "announcement.manage": ORG,
            "publish.unreviewed": ORG,
            "publish.approve": ORG,
        },
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
                role.grants.append(Grant(function=function, scope=scope, states=[]))
    session.flush()
    return roles
