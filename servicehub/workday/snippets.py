"""Snippets (快捷回复 / 知识库): canned replies with placeholders, for everyone, a company or a team.

Supervisors manage them (``snippet.manage`` within its data scope, see
``workday.audience``); everyone who may reply reads the ones addressed to them -- for
everyone, for their company, for one of their teams -- and a supervisor also reads the ones
they manage. Searching is a substring match over title and body, which is what Chinese
needs without a segmenter (``话费`` finds ``话费查询``). Inserting one fills its
placeholders with the customer's and the account's names; the reply box then applies the
platform's text rule (the workbench counts and flags an over-long insertion).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.errors import ActionError
from servicehub.core.models import Organization, Snippet, Team
from servicehub.core.permissions import Forbidden, NotVisible, Principal, require, scope_clause
from servicehub.workday.audience import parse_audience, reaches

MANAGE = "snippet.manage"
MAX_TITLE = 60
MAX_BODY = 1000
PLACEHOLDERS = {
    "customer": ("{客户名称}", "{customer}"),
    "account": ("{账号名称}", "{account}"),
}


def fill(body: str, *, customer: str, account: str) -> str:
    """``body`` with its placeholders replaced (Chinese and English spellings alike)."""
    for marker in PLACEHOLDERS["customer"]:
        body = body.replace(marker, customer)
    for marker in PLACEHOLDERS["account"]:
        body = body.replace(marker, account)
    return body


def _readable(who: Principal) -> ColumnElement[bool]:
    return or_(reaches(Snippet.org_id, Snippet.team_id, who), scope_clause(who, MANAGE, Snippet))


def _checked(title: str, body: str) -> tuple[str, str]:
    title, body = title.strip(), body.strip()
    if not title:
        raise ActionError("field_required", "a title is required", field="title")
    if not body:
        raise ActionError("field_required", "a text is required", field="body")
    if len(title) > MAX_TITLE:
        raise ActionError("too_long", f"title is longer than {MAX_TITLE}", field="title", limit=MAX_TITLE)
    if len(body) > MAX_BODY:
        raise ActionError("too_long", f"body is longer than {MAX_BODY}", field="body", limit=MAX_BODY)
    return title, body


def access_snippet(session: Session, who: Principal, snippet_id: int, *, manage: bool = False) -> Snippet:
    """A snippet ``who`` may read (else NotVisible) and, with ``manage``, change (else Forbidden)."""
    snippet = session.scalars(select(Snippet).where(Snippet.id == snippet_id, _readable(who))).first()
    if snippet is None:
        raise NotVisible(f"snippet {snippet_id}")
    if manage:
        require(who, MANAGE)
        allowed = select(Snippet.id).where(Snippet.id == snippet_id, scope_clause(who, MANAGE, Snippet))
        if session.scalars(allowed).first() is None:
            raise Forbidden(MANAGE)
    return snippet


def do_create_snippet(session: Session, who: Principal, *, title: str, body: str, audience: str) -> Snippet:
    require(who, MANAGE)
    target = parse_audience(session, who, MANAGE, audience)  # before the text: scope first
    title, body = _checked(title, body)
    snippet = Snippet(
        title=title, body=body, org_id=target.org_id, team_id=target.team_id, created_by=who.user_id
    )
    session.add(snippet)
    session.flush()
    audit.record(
        session,
        "snippet.created",
        "snippet",
        snippet.id,
        by=who,
        title=title,
        org_id=target.org_id,
        team_id=target.team_id,
    )
    return snippet


def do_update_snippet(
    session: Session, who: Principal, snippet_id: int, *, title: str, body: str, audience: str
) -> Snippet:
    snippet = access_snippet(session, who, snippet_id, manage=True)
    title, body = _checked(title, body)
    target = parse_audience(session, who, MANAGE, audience)
    changed = sorted(
        name
        for name, before, after in (
            ("title", snippet.title, title),
            ("body", snippet.body, body),
            ("audience", (snippet.org_id, snippet.team_id), (target.org_id, target.team_id)),
        )
        if before != after
    )
    if not changed:
        return snippet
    snippet.title, snippet.body = title, body
    snippet.org_id, snippet.team_id = target.org_id, target.team_id
    audit.record(session, "snippet.updated", "snippet", snippet.id, by=who, title=title, changed=changed)
    return snippet


def do_delete_snippet(session: Session, who: Principal, snippet_id: int) -> None:
    snippet = access_snippet(session, who, snippet_id, manage=True)
    audit.record(session, "snippet.deleted", "snippet", snippet.id, by=who, title=snippet.title)
    session.delete(snippet)


@dataclass(frozen=True)
class ShownSnippet:
    id: int
    title: str
    body: str
    audience_kind: str  # "all" | "org" | "team"
    audience: str
    audience_value: str  # for the edit form's select
    can_manage: bool


def snippets_for(session: Session, who: Principal, query: str = "", limit: int = 200) -> list[ShownSnippet]:
    """The snippets ``who`` may use (and manage), optionally those containing ``query``."""
    manageable = scope_clause(who, MANAGE, Snippet)
    stmt = (
        select(Snippet, Organization.name, Team.name, manageable)
        .outerjoin(Organization, Organization.id == Snippet.org_id)
        .outerjoin(Team, Team.id == Snippet.team_id)
        .where(_readable(who))
        .order_by(Snippet.title, Snippet.id)
        .limit(limit)
    )
    words = query.strip()[:50]
    if words:
        stmt = stmt.where(
            or_(Snippet.title.contains(words, autoescape=True), Snippet.body.contains(words, autoescape=True))
        )
    shown = []
    for s, org, team, can_manage in session.execute(stmt):
        kind = "team" if s.team_id else "org" if s.org_id else "all"
        value = f"team:{s.team_id}" if s.team_id else f"org:{s.org_id}" if s.org_id else "all"
        shown.append(ShownSnippet(s.id, s.title, s.body, kind, team or org or "", value, bool(can_manage)))
    return shown
