"""``servicehub`` command line: run the embedded hub, migrate, create users, run workers.

Every expected failure (bad settings, a port in use, an unreachable database or broker)
ends with one line saying what to fix and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path

from servicehub.core.db import check_connection
from servicehub.core.errors import HubError
from servicehub.core.logs import configure_logging
from servicehub.core.settings import load_settings


class CliError(HubError):
    """An expected failure of a command, with a one-line, actionable message."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        configure_logging(
            json_lines=load_settings(args.settings).hub.mode == "production", verbose=args.verbose
        )
        result: int = args.func(args)
        return result
    except HubError as exc:
        print(f"servicehub: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="servicehub", description="Social-media customer-service hub")
    parser.add_argument("--settings", help="settings file (default: $HUB_SETTINGS or ./settings.toml)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(required=True, metavar="command")

    run = sub.add_parser(
        "run", aliases=["demo"], help="run the embedded hub: database, simulator, listener, workbench"
    )
    run.set_defaults(func=cmd_run)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)

    user = sub.add_parser("create-user", help="create a user")
    user.add_argument("username")
    user.add_argument("--role", action="append", default=[], help="role name (repeatable)")
    user.add_argument("--org", default="总部客服中心", help="organization name")
    user.add_argument("--display-name")
    user.add_argument("--password", help="password (prompted when omitted)")
    user.set_defaults(func=cmd_create_user)

    worker = sub.add_parser("worker", help="run a Celery worker (production mode)")
    worker.add_argument("--concurrency", type=int, default=2)
    worker.set_defaults(func=cmd_worker)

    beat = sub.add_parser("beat", help="run Celery beat: polling and retry schedules")
    beat.set_defaults(func=cmd_beat)

    web = sub.add_parser("web", help="run only the workbench (production mode)")
    web.set_defaults(func=cmd_web)

    backup = sub.add_parser("backup", help="write the whole database to one file (pg_dump / SQLite backup)")
    backup.add_argument("file", type=Path, help="the backup file to write")
    backup.set_defaults(func=cmd_backup)

    restore = sub.add_parser("restore", help="load a backup into the configured (empty) database")
    restore.add_argument("file", type=Path, help="a file written by servicehub backup")
    restore.add_argument(
        "--replace", action="store_true", help="overwrite a database that already holds a hub"
    )
    restore.set_defaults(func=cmd_restore)

    rebuild = sub.add_parser(
        "analytics-rebuild", help="empty the analytics rollups and recompute them from the stored rows"
    )
    rebuild.set_defaults(func=cmd_analytics_rebuild)
    return parser


def _runtime(args: argparse.Namespace) -> object:
    from servicehub.core.runtime import build_runtime, set_runtime

    settings = load_settings(args.settings)
    settings.data_path.mkdir(parents=True, exist_ok=True)
    runtime = build_runtime(settings)
    check_connection(runtime.engine)
    set_runtime(runtime)
    return runtime


def cmd_migrate(args: argparse.Namespace) -> int:
    from servicehub.core import migrate
    from servicehub.core.runtime import Runtime

    runtime = _runtime(args)
    assert isinstance(runtime, Runtime)
    migrate.upgrade(runtime.engine)
    print(f"database at {runtime.engine.url.render_as_string(hide_password=True)} is up to date")
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    from servicehub.core import migrate
    from servicehub.core.errors import ActionError
    from servicehub.core.roles import ensure_default_roles
    from servicehub.core.runtime import Runtime
    from servicehub.core.users import create_user, ensure_org

    runtime = _runtime(args)
    assert isinstance(runtime, Runtime)
    migrate.upgrade(runtime.engine)
    password = args.password or getpass.getpass("password: ")
    try:
        with runtime.sessions.begin() as session:
            ensure_default_roles(session)
            org = ensure_org(session, args.org)
            user = create_user(
                session,
                args.username,
                password,
                org=org,
                roles=args.role or ["operator"],
                display_name=args.display_name,
            )
            print(f"created user {user.username} (id {user.id})")
    except ActionError as exc:
        raise CliError(str(exc)) from exc
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from servicehub.embedded import run_embedded

    settings = load_settings(args.settings)
    return run_embedded(settings)


def cmd_worker(args: argparse.Namespace) -> int:
    from servicehub.core.celery_app import make_celery
    from servicehub.core.runtime import Runtime
    from servicehub.core.tasks import CeleryRunner

    runtime = _runtime(args)
    assert isinstance(runtime, Runtime)
    app = runtime.tasks.app if isinstance(runtime.tasks, CeleryRunner) else make_celery(runtime.settings)
    _check_broker(app)
    app.worker_main(
        [
            "worker",
            f"--concurrency={args.concurrency}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
        ]
    )
    return 0


def cmd_beat(args: argparse.Namespace) -> int:
    from servicehub.core.celery_app import make_celery

    settings = load_settings(args.settings)
    app = make_celery(settings)
    _check_broker(app)
    app.start(["beat", "--loglevel=INFO", f"--schedule={settings.data_path / 'celerybeat-schedule'}"])
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    from servicehub.core.runtime import Runtime
    from servicehub.embedded import ensure_port_free
    from servicehub.workbench.app import create_app
    from servicehub.workbench.server import serve

    runtime = _runtime(args)
    assert isinstance(runtime, Runtime)
    ensure_port_free(runtime.settings.web.host, runtime.settings.web.port, "[web].port")
    web = runtime.settings.web
    serve(create_app(runtime), web.host, web.port, forwarded_allow_ips=web.forwarded_allow_ips)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from servicehub.core.backup import backup
    from servicehub.core.runtime import Runtime

    runtime = _runtime(args)
    assert isinstance(runtime, Runtime)
    counts = backup(runtime.engine, args.file)
    print(f"backed up {sum(counts.values()):,} rows in {len(counts)} tables to {args.file}")
    _print_counts(counts)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from servicehub.core.backup import restore
    from servicehub.core.runtime import Runtime

    runtime = _runtime(args)
    assert isinstance(runtime, Runtime)
    counts = restore(runtime.engine, args.file, replace=args.replace)
    where = runtime.engine.url.render_as_string(hide_password=True)
    print(f"restored {sum(counts.values()):,} rows in {len(counts)} tables into {where}")
    _print_counts(counts)
    return 0


def _print_counts(counts: dict[str, int]) -> None:
    for table, rows in counts.items():
        print(f"  {table:32s} {rows:>12,}")


def cmd_analytics_rebuild(args: argparse.Namespace) -> int:
    from servicehub.analytics.rollup import rebuild
    from servicehub.core import migrate
    from servicehub.core.runtime import Runtime

    runtime = _runtime(args)
    assert isinstance(runtime, Runtime)
    migrate.upgrade(runtime.engine)
    try:
        print(f"analytics rebuilt: {rebuild(runtime)}")
    finally:
        runtime.close()
    return 0


def _check_broker(app: object) -> None:
    from celery import Celery

    assert isinstance(app, Celery)
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        raise CliError(
            f"cannot reach the task broker {app.conf.broker_url}: {exc} — "
            "start Redis or fix [tasks].broker_url"
        ) from exc


if __name__ == "__main__":
    raise SystemExit(main())
