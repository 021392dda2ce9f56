"""Function and data permissions, applied by one helper to every query, and ``access``.

A user's roles hold grants ``(function, scope, states)``. :func:`principal_for` folds them
into a :class:`Principal` (the widest scope per function; the union of state limits, none
if any grant has none). :func:`restrict` adds the data scope of a function to any SELECT
over a scoped model, so lists, counts, searches and lookups all see the same rows; a row
outside the scope is indistinguishable from a missing one. :func:`may_see_account` is the
same rule in Python, for deciding who may be handed a request at all.

:func:`access` is the one fetch-and-authorize helper (Zulip's ``access_*``): every action
that acts on one row by id reads it through here, so "missing", "outside your scope" and
"not allowed to do that" are decided in one place and answered the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true
from sqlalchemy.orm import Session

from servicehub.core.db import is_postgres
from servicehub.core.models import (
    Account,
    AccountOperator,
    Announcement,
    Assignment,
    AuditEvent,
    ContactList,
    Customer,
    EngagementSnapshot,
    FanMonthly,
    FanMonthlyAll,
    FansDaily,
    Followed,
    Follower,
    FollowerSnapshot,
    KeywordDaily,
    KeywordMonthly,
    ListeningTask,
    Message,
    MessageDaily,
    Organization,
    PostFact,
    Publication,
    PublicationAccount,
    RequestFact,
    RequestNote,
    RoutingPolicy,
    RoutingRule,
    SalesLead,
    Scope,
    ServiceDaily,
    ServiceMonthly,
    ServiceRequest,
    Snippet,
    Team,
    TieDaily,
    TrackedPost,
    User,
    WorkOrder,
)

FUNCTIONS: dict[str, str] = {
    "request.view": "查看服务请求",
    "request.reply": "回复客户",
    "request.transfer": "转派 / 协同工单",
    "request.assign": "分配 / 改派请求",
    "request.resolve": "解决 / 关闭请求",
    "message.review": "复核被过滤的消息",
    "customer.view_phone": "查看完整手机号",
    "customer.link_crm": "确认手机号 / 关联 CRM",
    "customer.contact": "短信 / 彩信 / 邮件联系客户",
    "customer.link_identity": "关联 / 拆分客户的平台身份",
    "account.view": "查看账号",
    "account.manage": "管理账号与授权",
    "user.manage": "管理组织、用户、团队与角色",
    "rule.manage": "管理分配规则与监听任务",
    "presence.manage": "管理他人在岗状态",
    "analytics.view": "查看统计分析",
    "export": "导出数据",
    "publish": "发布微博 / 私信",
    "publish.unreviewed": "发布无需审核",
    "publish.approve": "审核发布",
    "audit.view": "查看审计日志",
    "customer.set_tier": "设置客户 VIP 等级",
    "snippet.manage": "管理快捷回复",
    "announcement.manage": "发布公告",
    "workorder.handle": "受理协同工单",
    "lead.manage": "登记与跟进销售线索",
}

_RANK = {Scope.OWN: 1, Scope.ORG: 2, Scope.ALL: 3}

S = TypeVar("S", bound=Select[*tuple[Any, ...]])
M = TypeVar("M")


class NotVisible(LookupError):
    """Missing or outside the caller's scope; the two are deliberately indistinguishable."""


class Forbidden(PermissionError):
    """The caller lacks the function permission (or its scope is too narrow for the action)."""


@dataclass(frozen=True)
class Principal:
    user_id: int
    org_id: int
    username: str
    display_name: str
    # The client address of the request acting as this principal (audit events, Weibo's rip).
    ip: str = ""
    functions: dict[str, Scope] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    team_ids: tuple[int, ...] = ()
    # function -> request states it is limited to; absent: every state.
    states: dict[str, frozenset[str]] = field(default_factory=dict)

    def can(self, function: str) -> bool:
        return function in self.functions

    def scope(self, function: str) -> Scope | None:
        return self.functions.get(function)

    @property
    def scopes(self) -> list[str]:
        """Starlette auth scopes: one per granted function."""
        return ["authenticated", *sorted(self.functions)]


def principal_for(user: User, *, ip: str = "") -> Principal:
    functions: dict[str, Scope] = {}
    states: dict[str, set[str] | None] = {}
    for role in user.roles:
        for grant in role.grants:
            scope = Scope(grant.scope)
            fn = grant.function
            if fn not in functions or _RANK[scope] > _RANK[functions[fn]]:
                functions[fn] = scope
            limit = set(grant.states or ())
            if fn not in states:
                states[fn] = limit or None
            elif states[fn] is not None:
                states[fn] = None if not limit else (states[fn] or set()) | limit
    return Principal(
        user_id=user.id,
        org_id=user.org_id,
        username=user.username,
        display_name=user.display_name,
        ip=ip,
        functions=functions,
        roles=tuple(sorted(r.name for r in user.roles)),
        team_ids=tuple(sorted(t.id for t in user.teams)),
        states={fn: frozenset(s) for fn, s in states.items() if s},
    )


def accounts_in_scope(principal: Principal, scope: Scope) -> Select[int]:
    if scope is Scope.ORG:
        return select(Account.id).where(Account.operated_by_org_id == principal.org_id)
    return select(AccountOperator.account_id).where(AccountOperator.user_id == principal.user_id)


def _teams_of_org(principal: Principal) -> Select[int]:
    return select(Team.id).where(Team.org_id == principal.org_id)


def _team_clause(column: Any, principal: Principal, scope: Scope) -> ColumnElement[bool]:
    clause: ColumnElement[bool]
    if scope is Scope.ORG:
        clause = column.in_(_teams_of_org(principal))
    else:
        clause = column.in_(principal.team_ids) if principal.team_ids else false()
    return clause


def _request_clause(principal: Principal, scope: Scope) -> ColumnElement[bool]:
    clause: ColumnElement[bool] = ServiceRequest.account_id.in_(accounts_in_scope(principal, scope))
    if scope is Scope.OWN:
        clause = or_(clause, ServiceRequest.assignee_id == principal.user_id)
    return clause


def _customer_clause(principal: Principal, scope: Scope) -> ColumnElement[bool]:
    """A customer is in scope through a request of theirs that is (the conversation)."""
    return Customer.id.in_(select(ServiceRequest.customer_id).where(_request_clause(principal, scope)))


def _task_clause(principal: Principal, scope: Scope) -> ColumnElement[bool]:
    return _team_clause(ListeningTask.team_id, principal, scope)


def _audience_clause(
    org_column: Any, team_column: Any, principal: Principal, scope: Scope
) -> ColumnElement[bool]:
    """Rows addressed to a company (``org``) or one of its teams (``team``), e.g. snippets and
    announcements. ORG: everything of the principal's company; OWN: what reaches the
    principal -- their company as a whole and their own teams. Rows for everyone (no org)
    need scope ALL to manage; readers add them (see ``workday``)."""
    mine: ColumnElement[bool] = org_column == principal.org_id
    if scope is Scope.ORG:
        return mine
    teams = team_column.in_(principal.team_ids) if principal.team_ids else false()
    return and_(mine, or_(team_column.is_(None), teams))


def addressed_clause(principal: Principal, scope: Scope) -> ColumnElement[bool]:
    """Work orders sent to the principal: OWN -- to them, one of their teams or their company;
    ORG -- to anyone or any team of their company, or the company itself."""
    if scope is Scope.ALL:
        return true()
    if scope is Scope.ORG:
        return or_(
            WorkOrder.to_org_id == principal.org_id,
            WorkOrder.to_team_id.in_(_teams_of_org(principal)),
            WorkOrder.to_user_id.in_(select(User.id).where(User.org_id == principal.org_id)),
        )
    teams = WorkOrder.to_team_id.in_(principal.team_ids) if principal.team_ids else false()
    return or_(WorkOrder.to_user_id == principal.user_id, teams, WorkOrder.to_org_id == principal.org_id)


def _work_order_clause(principal: Principal, scope: Scope) -> ColumnElement[bool]:
    """A work order is visible from two sides: its request is in the principal's scope (the
    originating side), or it was sent to the principal (``workorder.handle``'s scope)."""
    requests = WorkOrder.request_id.in_(select(ServiceRequest.id).where(_request_clause(principal, scope)))
    handle = principal.scope("workorder.handle")
    return requests if handle is None else or_(requests, addressed_clause(principal, handle))


def _lead_clause(principal: Principal, scope: Scope) -> ColumnElement[bool]:
    if scope is Scope.ORG:
        return SalesLead.org_id == principal.org_id
    return or_(SalesLead.owner_id == principal.user_id, SalesLead.created_by == principal.user_id)


def _publication_clause(principal: Principal, scope: Scope) -> ColumnElement[bool]:
    """A publication is in scope when every account it goes out on is: one reaching an
    account outside it is missing, whoever wrote it."""
    outside = select(PublicationAccount.publication_id).where(
        PublicationAccount.publication_id == Publication.id,
        PublicationAccount.account_id.not_in(accounts_in_scope(principal, scope)),
    )
    return ~outside.exists()


def _contact_list_clause(principal: Principal, scope: Scope) -> ColumnElement[bool]:
    if scope is Scope.ORG:
        return ContactList.org_id == principal.org_id
    return ContactList.created_by == principal.user_id


def _of_accounts(model: Any) -> Callable[[Principal, Scope], ColumnElement[bool]]:
    """Rows keyed by the account they count: the scope of that account."""
    return lambda p, s: model.account_id.in_(accounts_in_scope(p, s))


def _of_requests(model: Any) -> Callable[[Principal, Scope], ColumnElement[bool]]:
    """Rows keyed by account and assignee, scoped exactly like the requests they count."""

    def clause(principal: Principal, scope: Scope) -> ColumnElement[bool]:
        found: ColumnElement[bool] = model.account_id.in_(accounts_in_scope(principal, scope))
        if scope is Scope.OWN:
            found = or_(found, model.assignee_id == principal.user_id)
        return found

    return clause


# model -> the WHERE clause for a scope narrower than ALL.
_CLAUSES: dict[type[Any], Callable[[Principal, Scope], ColumnElement[bool]]] = {
    Account: lambda p, s: Account.id.in_(accounts_in_scope(p, s)),
    ServiceRequest: _request_clause,
    Message: lambda p, s: Message.account_id.in_(accounts_in_scope(p, s)),
    Customer: _customer_clause,
    Assignment: lambda p, s: Assignment.request_id.in_(
        select(ServiceRequest.id).where(_request_clause(p, s))
    ),
    User: lambda p, s: User.org_id == p.org_id if s is Scope.ORG else User.id == p.user_id,
    Team: lambda p, s: _team_clause(Team.id, p, s),
    Organization: lambda p, s: Organization.id == p.org_id,
    ListeningTask: _task_clause,
    RoutingRule: lambda p, s: _team_clause(RoutingRule.team_id, p, s),
    RoutingPolicy: lambda p, s: or_(
        RoutingPolicy.account_id.in_(accounts_in_scope(p, s)),
        RoutingPolicy.listening_task_id.in_(select(ListeningTask.id).where(_task_clause(p, s))),
    ),
    WorkOrder: _work_order_clause,
    SalesLead: _lead_clause,
    Publication: _publication_clause,
    ContactList: _contact_list_clause,
    TrackedPost: _of_accounts(TrackedPost),
    Snippet: lambda p, s: _audience_clause(Snippet.org_id, Snippet.team_id, p, s),
    Announcement: lambda p, s: _audience_clause(Announcement.org_id, Announcement.team_id, p, s),
    RequestNote: lambda p, s: RequestNote.request_id.in_(
        select(ServiceRequest.id).where(_request_clause(p, s))
    ),
    AuditEvent: lambda p, s: (
        AuditEvent.actor_id.in_(select(User.id).where(User.org_id == p.org_id))
        if s is Scope.ORG
        else AuditEvent.actor_id == p.user_id
    ),
    # Analytics rollups: keyed so that a figure counts exactly the rows its reader may see.
    MessageDaily: _of_accounts(MessageDaily),
    KeywordDaily: _of_accounts(KeywordDaily),
    KeywordMonthly: _of_accounts(KeywordMonthly),
    FanMonthly: _of_accounts(FanMonthly),
    FanMonthlyAll: lambda p, s: false(),  # sums over every account: for the all-accounts scope only
    TieDaily: _of_accounts(TieDaily),
    FollowerSnapshot: _of_accounts(FollowerSnapshot),
    Follower: _of_accounts(Follower),
    Followed: _of_accounts(Followed),
    FansDaily: _of_accounts(FansDaily),
    PostFact: _of_accounts(PostFact),
    EngagementSnapshot: lambda p, s: EngagementSnapshot.outbound_id.in_(
        select(PostFact.outbound_id).where(PostFact.account_id.in_(accounts_in_scope(p, s)))
    ),
    RequestFact: _of_requests(RequestFact),
    ServiceDaily: _of_requests(ServiceDaily),
    ServiceMonthly: _of_requests(ServiceMonthly),
}

SCOPED_MODELS = tuple(_CLAUSES)


def scope_clause(principal: Principal, function: str, model: type[Any]) -> ColumnElement[bool]:
    """The WHERE clause limiting ``model`` rows to what ``function`` may touch."""
    scope = principal.functions.get(function)
    if scope is None:
        return false()
    clause: ColumnElement[bool] = true() if scope is Scope.ALL else _CLAUSES[model](principal, scope)
    limit = principal.states.get(function)
    if limit and model is ServiceRequest:
        clause = and_(clause, ServiceRequest.state.in_(sorted(limit)))
    return clause


def restrict(stmt: S, principal: Principal, function: str, model: type[Any]) -> S:
    """``stmt`` limited to the rows of ``model`` that ``principal`` may use for ``function``."""
    if model not in _CLAUSES:
        raise TypeError(f"{model.__name__} has no data scope; add it to permissions._CLAUSES")
    limited: S = stmt.where(scope_clause(principal, function, model))
    return limited


def may_see_account(
    principal: Principal, account: Account, operator_ids: Collection[int], function: str = "request.view"
) -> bool:
    """Python twin of the account clause: may ``principal`` see requests of ``account``?"""
    scope = principal.functions.get(function)
    if scope is None:
        return False
    if scope is Scope.ALL:
        return True
    if scope is Scope.ORG:
        return account.operated_by_org_id == principal.org_id
    return principal.user_id in operator_ids


def require(principal: Principal, function: str, scope: Scope | None = None) -> None:
    """Raise :class:`Forbidden` unless ``principal`` holds ``function`` (at least at ``scope``)."""
    held = principal.functions.get(function)
    if held is None or (scope is not None and _RANK[held] < _RANK[scope]):
        raise Forbidden(function)


def access(
    session: Session,
    principal: Principal,
    model: type[M],
    row_id: int,
    function: str,
    *,
    visible_by: str | None = None,
    where: Iterable[ColumnElement[bool]] = (),
    lock: bool = False,
) -> M:
    """Fetch one row of ``model`` by id and authorize ``function`` on it.

    The row must lie in the data scope of ``visible_by`` (default: ``function`` itself),
    else :class:`NotVisible` -- exactly as if it did not exist. When ``visible_by`` is a
    wider reading permission (``request.view``) and the row is visible but outside the
    scope of ``function``, the answer is :class:`Forbidden`: the caller may see it, not do
    that to it. ``where`` adds conditions (a row not matching them is missing too);
    ``lock`` reads it ``FOR UPDATE`` on PostgreSQL.
    """
    key = getattr(model, "id")  # noqa: B009 -- every scoped model has an integer id
    stmt = restrict(select(model).where(key == row_id, *where), principal, visible_by or function, model)
    if lock and is_postgres(session):
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).first()
    if row is None:
        raise NotVisible(f"{model.__name__} {row_id}")
    if visible_by is not None and visible_by != function:
        allowed = select(key).where(key == row_id)
        if session.scalars(restrict(allowed, principal, function, model)).first() is None:
            raise Forbidden(function)
    return row
