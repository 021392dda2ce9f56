"""Holes 5 and 7, and the throttle's store: demo secrets refused in production, one password
check in every branch of a login, failure counts shared by every process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import update

from servicehub import demo
from servicehub.core import security
from servicehub.core.auth import do_log_in
from servicehub.core.models import User
from servicehub.core.passwords import check_new_password
from servicehub.core.runtime import Runtime
from servicehub.core.settings import DEMO_VALUES, SettingsError, load_settings
from servicehub.core.throttle import Counters, LoginThrottle, MemoryCounters, RedisCounters
from tests.factories import PASSWORD, World
from tests.services import claimed_redis_db

REPO = Path(__file__).resolve().parents[2]
GOOD_SECRET = "k" * 20 + "-production-only-secret"


class CountingHasher(PasswordHasher):
    """Counts verifications, and that each was against a real hash (a malformed one costs nothing)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=64, parallelism=1)
        self.calls: list[bool] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Any:
        try:
            extract_parameters(hash if isinstance(hash, str) else hash.decode())
            self.calls.append(True)
        except Exception:
            self.calls.append(False)
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(security, "_hasher", counting)
    return counting


@pytest.mark.parametrize(
    ("username", "password", "deactivate"),
    [
        ("nobody", "some password", False),
        ("zhangwei", PASSWORD, True),  # deactivated, right password
        ("zhangwei", "wrong password", True),
        ("zhangwei", "wrong password", False),
        ("zhangwei", PASSWORD, False),
    ],
)
def test_every_login_branch_checks_one_real_hash(
    sqlite_runtime: Runtime,
    world: World,
    hasher: CountingHasher,
    username: str,
    password: str,
    deactivate: bool,
) -> None:
    with sqlite_runtime.sessions.begin() as s:
        s.execute(update(User).where(User.id == world.operator_id).values(is_active=not deactivate))
    hasher.calls.clear()
    with sqlite_runtime.sessions.begin() as s:
        outcome = do_log_in(s, sqlite_runtime, username=username, password=password, ip="10.1.2.3")
    assert hasher.calls == [True]
    assert (outcome.token is not None) == (username == "zhangwei" and password == PASSWORD and not deactivate)


# -- production refuses demo secrets --------------------------------------------------------------


def _production(tmp_path: Path, **env: str) -> dict[str, str]:
    return {
        "HUB_SETTINGS": str(REPO / "settings.toml"),
        "HUB_HUB__MODE": "production",
        "HUB_HUB__SECRET_KEY": GOOD_SECRET,
        "HUB_PLATFORMS__WEIBO__APP_KEY": "3456789012",
        "HUB_PLATFORMS__WEIBO__APP_SECRET": "a real secret from open.weibo.com",
        **env,
    }


def test_production_starts_with_secrets_of_its_own(tmp_path: Path) -> None:
    settings = load_settings(env=_production(tmp_path))
    assert settings.hub.mode == "production"


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"HUB_PLATFORMS__WEIBO__APP_SECRET": "hub-demo-secret"}, "platforms.weibo.app_secret"),
        ({"HUB_PLATFORMS__WEIBO__APP_KEY": "hub-demo-app"}, "platforms.weibo.app_key"),
        ({"HUB_HUB__SECRET_KEY": ""}, "hub.secret_key is empty"),
        ({"HUB_HUB__SECRET_KEY": "test-secret"}, "hub.secret_key is a demo value"),
        ({"HUB_HUB__SECRET_KEY": "short"}, "hub.secret_key is shorter"),
        ({"HUB_PLATFORMS__WECHAT__APPID": "wx10010demo"}, "platforms.wechat.appid"),
        ({"HUB_DATABASE__URL": "postgresql://hub:hub-secret@db/hub"}, "database.url"),
    ],
)
def test_production_refuses_every_demo_secret_naming_the_setting(
    tmp_path: Path, override: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=named.replace(".", r"\.")) as refused:
        load_settings(env=_production(tmp_path, **override))
    assert "\n" not in str(refused.value)


def test_the_shipped_demo_values_are_all_known_as_demo_values() -> None:
    shipped = load_settings(REPO / "settings.toml", env={})
    assert {shipped.platforms["weibo"]["app_key"], shipped.platforms["weibo"]["app_secret"]} <= DEMO_VALUES
    assert set(demo.WECHAT.values()) <= DEMO_VALUES


# -- the throttle's counters are shared by every process ------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def two_processes(request: pytest.FixtureRequest) -> Iterator[tuple[Counters, Counters]]:
    if request.param == "memory":  # embedded: one process, one store
        shared = MemoryCounters()
        yield shared, shared
        return
    with claimed_redis_db() as url:
        yield RedisCounters(url, "servicehub:t:login:"), RedisCounters(url, "servicehub:t:login:")


def test_failures_counted_in_one_process_lock_the_name_in_another(
    two_processes: tuple[Counters, Counters],
) -> None:
    first, second = (LoginThrottle(c, per_user=3, per_address=10, lock_minutes=15) for c in two_processes)
    assert first.failed("ZhangWei", "10.0.0.1") is None
    assert second.failed("zhangwei ", "10.0.0.2") is None
    started = first.failed("zhangwei", "10.0.0.3")
    assert started is not None and started.by == "user"
    lock = second.lock("zhangwei", "10.9.9.9")
    assert lock is not None and lock.by == "user" and 0 < lock.seconds <= 15 * 60
    assert second.locked(["zhangwei", "liuyang"]).keys() == {"zhangwei"}
    first.unlock("zhangwei")
    assert second.lock("zhangwei", "10.9.9.9") is None


def test_the_demos_generated_passwords_pass_the_policy(tmp_path: Path) -> None:
    for n in range(20):
        for username, password in demo._logins(tmp_path / str(n)).items():
            check_new_password(password, personal=(username,))
