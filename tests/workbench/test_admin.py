"""Admin pages change organizations, users, teams, roles, rules and listening tasks -- each audited."""

from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from servicehub.core.models import (
    AuditEvent,
    ListeningTask,
    Organization,
    Role,
    RoutingPolicy,
    RoutingRule,
    Team,
    User,
)
from servicehub.core.runtime import Runtime
from tests.factories import World
from tests.workbench.conftest import csrf_of, login


def _actions(runtime: Runtime) -> list[str]:
    with runtime.sessions() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_admin_changes_are_saved_and_audited(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    login(client, "admin")
    token = csrf_of(client.get("/admin/users").text)

    def post(path: str, **form: object) -> None:
        response = client.post(path, data={**form, "csrf_token": token})
        assert response.status_code == 303, response.text
        assert response.headers["location"].endswith("?notice=saved")

    post("/admin/orgs", name="新外包公司", kind="partner")
    with sqlite_runtime.sessions() as s:
        org_id = s.scalars(select(Organization.id).where(Organization.name == "新外包公司")).one()
    post(
        "/admin/users",
        username="wangfang",
        display_name="王芳",
        password="long-enough-pw",
        org_id=org_id,
        roles="partner_operator",
    )
    post("/admin/teams", name="投诉组", org_id=world.inhouse_org_id)
    with sqlite_runtime.sessions() as s:
        team_id = s.scalars(select(Team.id)).one()
    post(f"/admin/teams/{team_id}/members", user_ids=[world.operator_id, world.operator2_id])
    post(
        f"/admin/users/{world.operator_id}",
        display_name="张伟",
        capacity="7",
        shifts="1-5 09:00-18:00",
        is_active="on",
        teams=str(team_id),
    )
    post("/admin/roles", name="night_shift", label="夜班")
    with sqlite_runtime.sessions() as s:
        role_id = s.scalars(select(Role.id).where(Role.name == "night_shift")).one()
    post(f"/admin/roles/{role_id}/grants", function="request.view", scope="org", states="new,assigned")
    post("/admin/routing/policies", account_id=world.inhouse_account_id, strategy="least_loaded", sticky="on")
    post("/admin/listening", name="断网监听", keywords="断网，没网", team_id=team_id, is_active="on")
    with sqlite_runtime.sessions() as s:
        task_id = s.scalars(select(ListeningTask.id)).one()
    post(
        "/admin/routing/rules", name="断网进投诉组", listening_task_id=task_id, team_id=team_id, position="10"
    )
    with sqlite_runtime.sessions() as s:
        user = s.get(User, world.operator_id)
        assert user is not None and user.capacity == 7 and [t.id for t in user.teams] == [team_id]
        assert user.shifts == [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}]
        new_user = s.scalars(select(User).where(User.username == "wangfang")).one()
        assert new_user.org_id == org_id and [r.name for r in new_user.roles] == ["partner_operator"]
        grant = next(g for g in s.get(Role, role_id).grants)  # type: ignore[union-attr]
        assert (grant.function, grant.scope, grant.states) == ("request.view", "org", ["assigned", "new"])
        policy = s.scalars(select(RoutingPolicy)).one()
        assert (policy.strategy, policy.sticky) == ("least_loaded", True)
        assert s.scalars(select(ListeningTask.keywords)).one() == ["断网", "没网"]
        assert s.scalars(select(RoutingRule.listening_task_id)).one() == task_id
    actions = _actions(sqlite_runtime)
    for expected in (
        "org.created",
        "user.created",
        "team.created",
        "team.members",
        "user.updated",
        "role.created",
        "grant.set",
        "routing.policy_set",
        "listening.created",
        "routing.rule_created",
    ):
        assert expected in actions
    assert "内部" in client.get("/admin/orgs").text and "夜班" in client.get("/admin/roles").text
    assert "断网进投诉组" in client.get("/admin/routing").text


def test_admin_forms_need_csrf_and_bad_input_changes_nothing(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    login(client, "admin")
    token = csrf_of(client.get("/admin/users").text)
    assert client.post("/admin/orgs", data={"name": "X", "kind": "partner"}).status_code == 400
    bad = client.post(f"/admin/users/{world.operator_id}", data={"shifts": "every day", "csrf_token": token})
    assert bad.status_code == 422 and "班次格式应如" in bad.text and "every day" in bad.text
    with sqlite_runtime.sessions() as s:
        assert s.scalars(select(Organization).where(Organization.name == "X")).first() is None
        user = s.get(User, world.operator_id)
        assert user is not None and user.shifts == [] and user.is_active


def test_menu_follows_grants(client: TestClient, world: World) -> None:
    login(client, "lina")
    nav = client.get("/").text.split("<nav>")[1].split("</nav>")[0]
    assert "工作量" in nav and "系统管理" not in nav and "审计日志" not in nav
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    login(client, "admin")
    nav = client.get("/").text.split("<nav>")[1].split("</nav>")[0]
    assert "系统管理" in nav and "分配规则" in nav
