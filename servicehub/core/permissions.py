"""Function and data permissions, applied by one helper to every query.

A user's roles hold grants ``(function, scope)``. :func:`principal_for` folds them into a
:class:`Principal` (the widest scope per function). :func:`restrict` adds the data scope
of a function to any SELECT over a scoped model, so lists, counts, searches and lookups
all see the same rows; a row outside the scope is indistinguishable from a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, or_, select, true

from servicehub.core.models import Account, AccountOperator, Message, Scope, ServiceRequest, User

FUNCTIONS: dict[str, str] = {
    "request.view": "查看服务请求",
    "request.reply": "回复客户",
    "request.assign": "分配 / 改派请求",
    "request.resolve": "解决 / 关闭请求",
    "message.review": "复核被过滤的消息",
    "customer.view_phone": "查看完整手机号",
    "customer.link_crm": "关联 CRM",
    "account.view": "查看账号",
    "account.manage": "管理账号与授权",
    "user.manage": "管理用户、团队与角色",
    "analytics.view": "查看统计分析",
    "export": "导出数据",
    "publish": "发布微博 / 私信",
    "audit.view": "查看审计日志",
}

_RANK = {Scope.OWN: 1, Scope.ORG: 2, Scope.ALL: 3}

T = TypeVar("T", bound=Any)


@dataclass(frozen=True)
class Principal:
    user_id: int
    org_id: int
    username: str
    display_name: str
    functions: dict[str, Scope] = field(default_factory=dict)
    roles: tuple[str, ...] = ()

    def can(self, function: str) -> bool:
        return function in self.functions

    @property
    def scopes(self) -> list[str]:
        """Starlette auth scopes: one per granted function."""
        return ["authenticated", *sorted(self.functions)]


def principal_for(user: User) -> Principal:
    functions: dict[str, Scope] = {}
    for role in user.roles:
        for grant in role.grants:
            scope = Scope(grant.scope)
            if grant.function not in functions or _RANK[scope] > _RANK[functions[grant.function]]:
                functions[grant.function] = scope
    return Principal(
        user_id=user.id,
        org_id=user.org_id,
        username=user.username,
        display_name=user.display_name,
        functions=functions,
        roles=tuple(sorted(r.name for r in user.roles)),
    )


def accounts_in_scope(principal: Principal, scope: Scope) -> Select[tuple[int]]:
    if scope is Scope.ORG:
        return select(Account.id).where(Account.operated_by_org_id == principal.org_id)
    return select(AccountOperator.account_id).where(AccountOperator.user_id == principal.user_id)


def scope_clause(principal: Principal, function: str, model: type[Any]) -> ColumnElement[bool]:
    """The WHERE clause limiting ``model`` rows to what ``function`` may touch."""
    scope = principal.functions.get(function)
    if scope is None:
        return false()
    if scope is Scope.ALL:
        return true()
    account_col = Account.id if model is Account else model.account_id
    clause = account_col.in_(accounts_in_scope(principal, scope))
    if model is ServiceRequest and scope is Scope.OWN:
        clause = or_(clause, ServiceRequest.assignee_id == principal.user_id)
    return clause


SCOPED_MODELS = (Account, ServiceRequest, Message)


def restrict(stmt: Select[T], principal: Principal, function: str, model: type[Any]) -> Select[T]:
    """``stmt`` limited to the rows of ``model`` that ``principal`` may use for ``function``."""
    if model not in SCOPED_MODELS and not hasattr(model, "account_id"):
        raise TypeError(f"{model.__name__} has no data scope; add it to SCOPED_MODELS")
    return stmt.where(scope_clause(principal, function, model))
