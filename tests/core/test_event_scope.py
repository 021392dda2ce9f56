"""Which live events reach whom: cut down to the receiver's scope, nothing for no roles."""

from __future__ import annotations

from servicehub.core.event_scope import visible_event
from servicehub.core.models import Organization
from servicehub.core.runtime import Runtime
from servicehub.core.users import create_user
from tests.factories import PASSWORD, World, principal_of
from tests.workbench.conftest import hear


def test_events_are_cut_down_to_what_the_receiver_may_see(sqlite_runtime: Runtime, world: World) -> None:
    mine = hear(sqlite_runtime, world.inhouse_account_id, "4900000000000201", "宽带断网")
    theirs = hear(sqlite_runtime, world.partner_account_id, "4900000000000202", "信号差", author_uid="9")
    both = {
        "type": "requests",
        "request_ids": [mine, theirs],
        "account_ids": [world.inhouse_account_id, world.partner_account_id],
    }
    with sqlite_runtime.sessions.begin() as s:
        org = s.get(Organization, world.partner_org_id)
        assert org is not None
        nobody = create_user(s, "nobody", PASSWORD, org=org, roles=[])
        s.flush()
        operator, partner, manager = (
            principal_of(s, u) for u in (world.operator_id, world.partner_id, world.manager_id)
        )
        no_roles = principal_of(s, nobody.id)
        assert visible_event(s, operator, both) == {
            "type": "requests",
            "request_ids": [mine],
            "account_ids": [world.inhouse_account_id],
        }
        assert visible_event(s, partner, {"type": "request", "request_id": mine, "account_id": 1}) is None
        assert visible_event(s, manager, both) == both
        assert visible_event(s, no_roles, both) is None
        assert visible_event(s, partner, {"type": "messages", "account_id": world.inhouse_account_id}) is None
        assert visible_event(s, manager, {"type": "ping"}) is None  # names nothing: fail closed


def test_publication_events_reach_only_those_who_may_look_at_the_publication(
    sqlite_runtime: Runtime, world: World
) -> None:
    from servicehub.core.models import Category
    from servicehub.publishing.compose import Draft, TargetSpec
    from servicehub.publishing.publications import do_submit

    def submit(user_id: int, account_id: int, nonce: str) -> int:
        draft = Draft("通知", Category.OTHER, (TargetSpec(account_id, as_post=True),))
        with sqlite_runtime.sessions() as s:
            publication = do_submit(s, sqlite_runtime, principal_of(s, user_id), draft, nonce=nonce)
            s.commit()
            return publication.id

    # pending: neither is released, so no adapter is called
    theirs = submit(world.partner_id, world.partner_account_id, "p")
    with sqlite_runtime.sessions() as s:
        operator, partner, manager, other = (
            principal_of(s, u)
            for u in (world.operator_id, world.partner_id, world.manager_id, world.other_partner_id)
        )
        one = {"type": "publication", "publication_id": theirs}
        assert visible_event(s, partner, one) == one
        assert visible_event(s, manager, one) == one  # approves everything
        assert visible_event(s, operator, one) is None
        assert visible_event(s, other, one) is None
        many = {"type": "publication", "publication_ids": [theirs, 999999], "account_id": 1}
        assert visible_event(s, partner, many) == {"type": "publication", "publication_ids": [theirs]}
