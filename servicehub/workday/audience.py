"""Who an announcement or a snippet is for: everyone, one company, or one team.

A form names the audience as ``"all"``, ``"org:<id>"`` or ``"team:<id>"``. Choosing one
is part of the managing function's data scope: ``all`` needs scope ALL (an in-house
supervisor writing to every company); a company or a team must be within the function's
scope (a partner supervisor reaches only its own company and its teams), else NotVisible
as for one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from servicehub.core.errors import ActionError
from servicehub.core.models import Organization, Scope, Team
from servicehub.core.permissions import Principal, access, require, restrict

EVERYONE = "all"


@dataclass(frozen=True)
class Audience:
    org_id: int | None
    team_id: int | None


@dataclass(frozen=True)
class AudienceChoice:
    value: str
    label: str
    kind: str  # "all" | "org" | "team"


def parse_audience(session: Session, who: Principal, function: str, value: str) -> Audience:
    kind, _, raw_id = value.partition(":")
    if kind == EVERYONE and not raw_id:
        require(who, function, Scope.ALL)
        return Audience(None, None)
    if kind not in ("org", "team") or not raw_id.isdigit() or len(raw_id) > 9:
        raise ActionError("invalid_choice", f"unknown audience {value!r}", field="audience")
    if kind == "org":
        org = access(session, who, Organization, int(raw_id), function)
        return Audience(org.id, None)
    team = access(session, who, Team, int(raw_id), function)
    return Audience(team.org_id, team.id)


def audience_choices(session: Session, who: Principal, function: str) -> list[AudienceChoice]:
    """The audiences ``who`` may address with ``function``, for a form's select."""
    if not who.can(function):
        return []
    choices = []
    if who.scope(function) is Scope.ALL:
        choices.append(AudienceChoice(EVERYONE, "", "all"))
    orgs = session.scalars(
        restrict(select(Organization).order_by(Organization.id), who, function, Organization)
    )
    choices += [AudienceChoice(f"org:{o.id}", o.name, "org") for o in orgs]
    teams = session.scalars(restrict(select(Team).order_by(Team.org_id, Team.id), who, function, Team))
    choices += [AudienceChoice(f"team:{t.id}", t.name, "team") for t in teams]
    return choices


def reaches(org_column: Any, team_column: Any, who: Principal) -> ColumnElement[bool]:
    """Rows whose audience includes ``who``: everyone, their company as a whole, or one of their teams."""
    mine_teams = team_column.in_(who.team_ids) if who.team_ids else false()
    clause: ColumnElement[bool] = or_(
        org_column.is_(None),
        and_(org_column == who.org_id, or_(team_column.is_(None), mine_teams)),
    )
    return clause
