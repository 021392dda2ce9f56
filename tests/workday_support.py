"""A world for the operator's-day tests: the two companies of ``build_world``, a billing team,
a partner supervisor, and one request on each company's account."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from servicehub.core.db import utcnow
from servicehub.core.models import Team, User
from servicehub.core.permissions import Principal
from servicehub.core.runtime import Runtime
from servicehub.core.users import create_user
from tests.factories import PASSWORD, World, build_world, principal_of
from tests.workbench.conftest import hear

T = TypeVar("T")

INHOUSE_TEXT = "上个月话费多扣了50元，我的手机13812345678，请核查"
PARTNER_TEXT = "上海这边宽带三天没网了"


@dataclass(frozen=True)
class Desk:
    world: World
    runtime: Runtime
    billing_team: int  # 计费核查组 (in-house), whose member is ``billing``
    billing: int  # 陈静: an in-house operator of no account, in the billing team
    psup: int  # 孙主管: the partner company's supervisor
    mine: int  # a request on the in-house account (with a phone number in it)
    theirs: int  # a request on the partner-operated account

    def who(self, user_id: int) -> Principal:
        with self.runtime.sessions() as s:
            return principal_of(s, user_id)

    def do(self, user_id: int, act: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``act(session, [runtime,] principal, ...)`` as ``user_id`` and commit."""
        who = self.who(user_id)
        with self.runtime.sessions() as s:
            if "runtime" in inspect.signature(act).parameters:
                result = act(s, self.runtime, who, *args, **kwargs)
            else:
                result = act(s, who, *args, **kwargs)
            s.commit()
            return result

    def session(self) -> Session:
        return self.runtime.sessions()


def build_desk(runtime: Runtime) -> Desk:
    world = build_world(runtime)
    mine = hear(runtime, world.inhouse_account_id, "4900000000000101", INHOUSE_TEXT)
    theirs = hear(runtime, world.partner_account_id, "4900000000000102", PARTNER_TEXT, author_uid="9")
    with runtime.sessions.begin() as s:
        hq = s.get(User, world.operator_id)
        partner = s.get(User, world.partner_id)
        assert hq is not None and partner is not None
        team = Team(name="计费核查组", org_id=world.inhouse_org_id)
        s.add(team)
        s.flush()
        billing = create_user(s, "chenjing", PASSWORD, org=hq.org, roles=["operator"], display_name="陈静")
        billing.teams.append(team)
        psup = create_user(
            s, "psup", PASSWORD, org=partner.org, roles=["partner_supervisor"], display_name="孙主管"
        )
        s.flush()
        return Desk(world, runtime, team.id, billing.id, psup.id, mine, theirs)


def tomorrow() -> Any:
    return utcnow() + timedelta(days=1)
