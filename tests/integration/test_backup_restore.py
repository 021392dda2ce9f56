"""``servicehub backup`` and ``restore`` round-trip a hub's database, table by table."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from servicehub.core import migrate
from servicehub.core.backup import row_counts
from servicehub.core.db import make_engine
from servicehub.core.models import Account, Message, ServiceRequest
from servicehub.core.runtime import build_runtime
from servicehub.core.tasks import SyncRunner
from servicehub.listener.filtering import chain_for
from servicehub.listener.intake import intake
from servicehub.routing.conversations import route_messages
from tests.conftest import make_settings
from tests.factories import build_world, mention
from tests.services import fresh_pg_database
from tests.test_cli import one_line_error, run_cli

pytestmark = pytest.mark.integration


def _seed_hub(tmp_path: Path, url: str) -> None:
    """A hub with people, accounts, a routed request and its messages (and audit rows)."""
    runtime = build_runtime(make_settings(tmp_path, url), tasks=SyncRunner())
    try:
        migrate.upgrade(runtime.engine)
        world = build_world(runtime)
        with runtime.sessions() as s:
            account = s.get(Account, world.inhouse_account_id)
            assert account is not None
            items = [
                mention(f"49000000000000{n:02d}", f"第{n}条：宽带断网了", author_uid=str(n))
                for n in range(12)
            ]
            ids = intake(s, account, items, chain_for(s, runtime))
            s.commit()
        route_messages(runtime, ids)
    finally:
        runtime.close()


def _env(tmp_path: Path, url: str) -> dict[str, str]:
    return {
        "HUB_SETTINGS": str(tmp_path / "absent.toml"),
        "HUB_HUB__DATA_DIR": str(tmp_path / "var"),
        "HUB_DATABASE__URL": url,
    }


def test_a_postgresql_hub_survives_backup_and_restore(tmp_path: Path) -> None:
    dump = tmp_path / "backups" / "hub.dump"
    with fresh_pg_database() as source, fresh_pg_database() as target:
        _seed_hub(tmp_path, source)
        made = run_cli("backup", str(dump), env=_env(tmp_path, source))
        assert made.returncode == 0, made.stderr
        assert dump.stat().st_size > 0 and "backed up" in made.stdout
        restored = run_cli("restore", str(dump), env=_env(tmp_path, target))
        assert restored.returncode == 0, restored.stderr
        engines = [make_engine(source), make_engine(target)]
        try:
            before, after = (row_counts(e) for e in engines)
            assert before == after and before["messages"] == 12 and before["service_requests"] >= 1
            with engines[1].connect() as conn:  # the restored hub is usable: its sequences moved on
                texts = conn.execute(select(Message.text).order_by(Message.id)).scalars().all()
                next_id = conn.exec_driver_sql("SELECT nextval('service_requests_id_seq')").scalar_one()
                top = (
                    conn.execute(select(ServiceRequest.id).order_by(ServiceRequest.id.desc()))
                    .scalars()
                    .first()
                )
            assert texts[0] == "第0条：宽带断网了" and next_id > (top or 0)
            again = run_cli("restore", str(dump), env=_env(tmp_path, target))  # never over a hub by mistake
            assert "already holds a hub" in one_line_error(again)
            replaced = run_cli("restore", "--replace", str(dump), env=_env(tmp_path, target))
            assert replaced.returncode == 0, replaced.stderr
            assert row_counts(engines[1]) == before
        finally:
            for engine in engines:
                engine.dispose()


def test_an_embedded_hub_survives_backup_and_restore(tmp_path: Path) -> None:
    source, target = f"sqlite:///{tmp_path / 'hub.db'}", f"sqlite:///{tmp_path / 'restored.db'}"
    _seed_hub(tmp_path, source)
    copy = tmp_path / "hub-backup.db"
    assert run_cli("backup", str(copy), env=_env(tmp_path, source)).returncode == 0
    restored = run_cli("restore", str(copy), env=_env(tmp_path, target))
    assert restored.returncode == 0, restored.stderr
    engines = [make_engine(source), make_engine(target)]
    try:
        before, after = (row_counts(e) for e in engines)
        assert before == after and before["messages"] == 12
    finally:
        for engine in engines:
            engine.dispose()


def test_a_missing_pg_dump_is_one_line_saying_what_to_install(tmp_path: Path) -> None:
    with fresh_pg_database() as url:
        env = {**_env(tmp_path, url), "PATH": str(tmp_path / "empty-bin") + os.pathsep + "/nonexistent"}
        line = one_line_error(run_cli("backup", str(tmp_path / "x.dump"), env=env))
    assert "pg_dump is not installed" in line and "postgresql-client" in line
