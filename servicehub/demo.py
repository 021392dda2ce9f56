"""Demo data for the embedded hub: organizations, people, and simulated official accounts.

Idempotent: on a second start the same users and accounts are found, the (fresh, in-memory)
simulator is told about the accounts again and their tokens are renewed. Passwords are
generated on first start and kept in ``<data_dir>/demo-logins.json`` (mode 0600).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

import httpx
from sqlalchemy import select

from servicehub.accounts.registration import register_account, register_with_credentials, store_token
from servicehub.accounts.sources import set_sources
from servicehub.adapters import registry
from servicehub.adapters.base import Source
from servicehub.adapters.simulator import corpus
from servicehub.adapters.simulator.config import SimConfig
from servicehub.adapters.simulator.server import SimulatorThread, run_simulator_in_thread
from servicehub.core.db import utcnow
from servicehub.core.models import Account, Organization, OrgKind, User
from servicehub.core.roles import DEFAULT_ROLES, ensure_default_roles
from servicehub.core.runtime import Runtime
from servicehub.core.settings import Settings
from servicehub.core.users import create_user, ensure_org
from servicehub.demo_contact import seed_contact_demo
from servicehub.demo_history import seed_history
from servicehub.demo_publishing import seed_publishing
from servicehub.demo_workday import seed_workday


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: str
    org: str


HQ, PARTNER = "总部客服中心", "华信外包服务有限公司"
DEMO_CUSTOMERS = 1200
USERS = (
    DemoUser("admin", "系统管理员", "administrator", HQ),
    DemoUser("manager", "王主管", "manager", HQ),
    DemoUser("zhangwei", "张伟", "operator", HQ),
    DemoUser("liuyang", "刘洋", "operator", HQ),
    DemoUser("lina", "李娜（外包）", "partner_operator", PARTNER),
    # The operator's day (demo_workday): two hand-over desks and the partner's supervisor.
    DemoUser("chenjing", "陈静（计费核查）", "operator", HQ),
    DemoUser("wangqiang", "王强（宽带装维）", "operator", HQ),
    DemoUser("sunli", "孙丽（外包主管）", "partner_supervisor", PARTNER),
)
# (uid, screen name, operating organization, operators)
ACCOUNTS = (
    ("1902538057", "中国联通客服", HQ, ("zhangwei", "liuyang")),
    ("1902538058", "联通上海", PARTNER, ("lina",)),
)


class DemoSimulator:
    """The platform simulator in a thread, and a small client for its ``/_sim/`` control API."""

    def __init__(self, handle: SimulatorThread) -> None:
        self.handle = handle
        self.base_url = handle.base_url
        self.http = httpx.Client(base_url=handle.base_url, timeout=10)
        # Platforms whose API base the environment names (HUB_PLATFORMS__<NAME>__API_BASE):
        # the demo talks to that server for them and seeds no simulated account there.
        self.elsewhere: dict[str, str] = {}  # platform -> the API base it uses instead

    @classmethod
    def start(cls, settings: Settings) -> DemoSimulator:
        cfg = settings.simulator
        # An official account hears from a great many people, most of them once in a while;
        # what it publishes draws likes, comments and reposts within the first minute.
        config = SimConfig(seed=cfg.seed, customers=DEMO_CUSTOMERS, customer_skew=0.5, reactions=True)
        return cls(run_simulator_in_thread(cfg.host, cfg.port, seed=cfg.seed, rate=0.0, config=config))

    def platform_settings(
        self, settings: Settings, env: Mapping[str, str] = os.environ
    ) -> dict[str, dict[str, Any]]:
        """The platforms table with every API base pointed at this simulator -- except a
        platform whose API base the environment sets: that one is honoured (and said so in
        the banner), so the demo can be pointed at another server one platform at a time."""
        tables = {name: dict(table) for name, table in settings.platforms.items()}
        for name in ("weibo", "wechat"):
            table = tables.setdefault(name, {})
            chosen = env.get(f"HUB_PLATFORMS__{name.upper()}__API_BASE")
            if chosen:
                self.elsewhere[name] = str(table.get("api_base", chosen))
                continue
            table["api_base"] = self.base_url
            if name == "weibo" and not env.get("HUB_PLATFORMS__WEIBO__FANS_API_BASE"):
                table["fans_api_base"] = self.base_url
        return tables

    def simulates(self, platform: str) -> bool:
        """Whether the demo's traffic for ``platform`` comes from this simulator."""
        return platform not in self.elsewhere

    def call(self, method: str, path: str, **body: Any) -> Any:
        response = self.http.request(method, path, json=body or None)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        self.http.close()
        self.handle.stop()


def seed_demo(runtime: Runtime, simulator: DemoSimulator | None) -> dict[str, str]:
    """Create what is missing; returns username -> password for the banner."""
    logins = _logins(runtime.settings.data_path)
    with runtime.sessions.begin() as session:
        ensure_default_roles(session)
        orgs = {HQ: ensure_org(session, HQ), PARTNER: ensure_org(session, PARTNER, OrgKind.PARTNER)}
        org_ids = {name: org.id for name, org in orgs.items()}
        users = {u.username: u for u in session.scalars(select(User))}
        for demo in USERS:
            if demo.username not in users:
                users[demo.username] = create_user(
                    session,
                    demo.username,
                    logins[demo.username],
                    org=orgs[demo.org],
                    roles=[demo.role],
                    display_name=demo.display_name,
                )
    seed_contact_demo(runtime)
    if simulator is None:
        return logins
    if "wechat" not in simulator.elsewhere:
        _seed_wechat(runtime, simulator, org_ids[HQ])
    if "weibo" in simulator.elsewhere:
        return logins  # connect Weibo accounts by OAuth against that server
    weibo = runtime.settings.platforms.get("weibo", {})
    simulator.call(
        "POST", "/_sim/limits", user_per_hour=100_000, ip_per_hour=1_000_000, comments_per_hour=10_000
    )
    for uid, name, org_name, operators in ACCOUNTS:
        issued = simulator.call(
            "POST",
            "/_sim/accounts",
            uid=uid,
            screen_name=name,
            app_key=weibo.get("app_key", "hub-demo-app"),
            app_secret=weibo.get("app_secret", "hub-demo-secret"),
            redirect_uri=weibo.get("redirect_uri") or f"{runtime.settings.public_url}/oauth/weibo/callback",
        )
        expires = utcnow() + timedelta(seconds=int(issued["expires_in"]))
        with runtime.sessions.begin() as session:
            org = session.get(Organization, org_ids[org_name])
            assert org is not None
            account = session.scalars(
                select(Account).where(Account.platform == "weibo", Account.platform_uid == uid)
            ).first()
            if account is None:
                operator_ids = tuple(
                    session.scalars(select(User.id).where(User.username.in_(operators)).order_by(User.id))
                )
                account = register_account(
                    session,
                    runtime,
                    platform="weibo",
                    platform_uid=uid,
                    display_name=name,
                    access_token=issued["access_token"],
                    expires_at=expires,
                    org=org,
                    operator_ids=operator_ids,
                )
                # Its private messages arrive by fans-service push (below), as they do for most
                # official accounts (polling direct_messages needs an advanced permission);
                # polling them too would show each message twice.
                set_sources(session, account, POLLED_WITH_PUSH)
            else:
                store_token(session, runtime, account, issued["access_token"], expires)
            session.flush()
            callback = f"{runtime.settings.public_url}/push/weibo/{account.id}"
        simulator.call("POST", "/_sim/callbacks", account_uid=uid, url=callback, verify=False)
    seed_workday(runtime, simulator)
    seed_history(runtime)
    seed_publishing(runtime)
    simulator.call("POST", "/_sim/traffic", rate=runtime.settings.simulator.rate)
    return logins


POLLED_WITH_PUSH = [s.value for s in (Source.MENTIONS, Source.COMMENT_MENTIONS, Source.COMMENTS_TO_ME)]

WECHAT = {
    "appid": "wx10010demo",
    "secret": "wx-demo-secret",
    "token": "wx-demo-token",
    "original_id": "gh_10010demo",
}


def _seed_wechat(runtime: Runtime, simulator: DemoSimulator, org_id: int) -> None:
    """A WeChat official account next to the Weibo ones: messages arrive by signed XML push."""
    simulator.call("POST", "/_sim/wechat/accounts", **WECHAT)
    with runtime.sessions.begin() as session:
        account = session.scalars(
            select(Account).where(Account.platform == "wechat", Account.platform_uid == WECHAT["original_id"])
        ).first()
        if account is None:
            org = session.get(Organization, org_id)
            assert org is not None
            operator_ids = tuple(
                session.scalars(
                    select(User.id).where(User.username.in_(("zhangwei", "liuyang"))).order_by(User.id)
                )
            )
            account = register_with_credentials(
                session,
                runtime,
                platform="wechat",
                values={
                    "display_name": "中国联通微信客服",
                    "original_id": WECHAT["original_id"],
                    "appid": WECHAT["appid"],
                    "secret": WECHAT["secret"],
                    "push_token": WECHAT["token"],
                },
                org=org,
                operator_ids=operator_ids,
            )
        callback = f"{runtime.settings.public_url}/push/wechat/{account.id}"
    simulator.call("POST", f"/_sim/wechat/accounts/{WECHAT['appid']}/callback", url=callback, verify=False)


class WeChatFeeder:
    """Pushes a WeChat customer message every so often, like the Weibo traffic generator does."""

    PLATFORM = "wechat"

    def __init__(self, simulator: DemoSimulator, rate: float, seed: int) -> None:
        self.simulator = simulator
        self.every = 4.0 / rate if rate > 0 else 0.0
        self.rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wechat-feeder", daemon=True)

    def start(self) -> None:
        if self.every:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        # What people write to an official account's WeChat: mostly questions.
        pools = (corpus.QUESTIONS, corpus.MESSAGES, corpus.COMPLAINTS, corpus.PRAISE)
        while not self._stop.wait(self.every):
            pool = self.rng.choices(pools, weights=(50, 20, 25, 5))[0]
            text = corpus.fill(self.rng.choice(pool), self.rng).replace(corpus.ACCOUNT, "联通客服")
            openid = f"o_demo_{self.rng.randrange(DEMO_CUSTOMERS // 2):04d}"
            try:
                self.simulator.call(
                    "POST",
                    f"/_sim/wechat/accounts/{WECHAT['appid']}/push",
                    openid=openid,
                    type="text",
                    content=text,
                )
            except httpx.HTTPError:
                continue  # the hub may still be starting; the next one gets through


def _logins(data_dir: Path) -> dict[str, str]:
    path = data_dir / "demo-logins.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if all(u.username in stored for u in USERS):
        return stored
    # Users added to the demo since: new passwords for them only (the others exist with theirs).
    logins = {u.username: stored.get(u.username) or secrets.token_urlsafe(9) for u in USERS}
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(logins, fh, indent=2)
    return logins


def print_banner(
    runtime: Runtime, logins: dict[str, str], simulator: DemoSimulator | None, out: TextIO
) -> None:
    s = runtime.settings
    lines = [
        "",
        "社交客服中心已启动 / Social service hub is running",
        f"  工作台 Workbench:  {s.public_url}/",
    ]
    if simulator is not None:
        lines.append(
            f"  平台模拟器 Simulator: {simulator.base_url}  ({s.simulator.rate} 条/秒 messages per second)"
        )
        for name, base in sorted(simulator.elsewhere.items()):
            called = registry.names(name)
            lines.append(
                f"  {called.get('zh-CN', name)}不使用模拟器 / {called.get('en', name)} is not simulated "
                f"(HUB_PLATFORMS__{name.upper()}__API_BASE): {base}"
            )
    lines.append(f"  数据库 Database:   {runtime.engine.url.render_as_string(hide_password=True)}")
    lines.append("  登录 Logins (username / password):")
    for demo in USERS:
        role = DEFAULT_ROLES[demo.role][0]
        lines.append(f"    {demo.username:<9} {logins[demo.username]:<14} {demo.display_name}（{role}）")
    lines.append("  Ctrl+C 退出 / to stop")
    out.write("\n".join(lines) + "\n")
    out.flush()


__all__ = ["DemoSimulator", "print_banner", "seed_demo"]
