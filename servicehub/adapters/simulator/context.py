"""The simulator as one object: state, clock, quotas, faults, push client, traffic, reactions.

Handlers reach it as ``request.app[SIM_KEY]``. The injection methods here are shared by
the control API and the traffic generator, so a hand-made mention and a generated one
are stored (and pushed) the same way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from servicehub.adapters.simulator.clock import IdGenerator, SimClock
from servicehub.adapters.simulator.config import SimConfig
from servicehub.adapters.simulator.corpus import (
    ACCOUNT_POSTS,
    OFFICIAL_NAMES,
    device_source,
    fill,
    source_html,
)
from servicehub.adapters.simulator.faults import Faults
from servicehub.adapters.simulator.models import (
    Account,
    App,
    Comment,
    DirectMessage,
    PushRecord,
    Status,
    User,
)
from servicehub.adapters.simulator.push import Pusher
from servicehub.adapters.simulator.quotas import QuotaBook
from servicehub.adapters.simulator.reactions import Reactions
from servicehub.adapters.simulator.render import push_body, push_json
from servicehub.adapters.simulator.state import SimState
from servicehub.adapters.simulator.traffic import TrafficRunner

_EVENT_TEXT = {
    "follow": "关注事件消息",
    "unfollow": "取消关注事件消息",
    "subscribe": "订阅事件消息",
    "unsubscribe": "取消订阅事件消息",
}


@dataclass(frozen=True, slots=True)
class NewAccount:
    account: Account
    user: User
    app: App
    access_token: str
    expires_in: int

    def as_json(self) -> dict[str, Any]:
        return {
            "uid": str(self.user.uid),
            "screen_name": self.user.screen_name,
            "app_key": self.app.app_key,
            "app_secret": self.app.app_secret,
            "redirect_uri": self.app.redirect_uri,
            "safe_domains": list(self.app.safe_domains),
            "access_token": self.access_token,
            "expires_in": self.expires_in,
        }


class Simulator:
    def __init__(self, config: SimConfig | None = None, clock: SimClock | None = None) -> None:
        self.config = config or SimConfig()
        self.clock = clock or SimClock()
        self.ids = IdGenerator()
        self.state = SimState(self.clock, self.ids, self.config.seed, self.config.customers)
        self.quotas = QuotaBook(self.config.limits, self.clock)
        self.faults = Faults(self.config.seed)
        self.pusher = Pusher(self.config, self.clock)
        self.traffic = TrafficRunner(self, self.config.seed, self.config.traffic_rate)
        self.reactions = Reactions(self)
        self._pick = random.Random(f"control:{self.config.seed}")

    # -- accounts ---------------------------------------------------------------------

    def create_account(
        self,
        *,
        screen_name: str | None = None,
        uid: int | None = None,
        app_key: str | None = None,
        app_secret: str | None = None,
        app_name: str | None = None,
        redirect_uri: str | None = None,
        safe_domains: list[str] | None = None,
        followers: int | None = None,
        token_ttl: int | None = None,
        seed_posts: int | None = None,
    ) -> NewAccount:
        """A managed account with its app and a ready token. Raises ValueError on conflicts."""
        state = self.state
        with state.lock:
            app = state.apps.get(app_key) if app_key else None
            if app is not None:
                if app_secret is not None and app_secret != app.app_secret:
                    raise ValueError(f"app {app_key} exists with a different secret")
                if redirect_uri is not None:
                    app.redirect_uri = redirect_uri
                if safe_domains is not None:
                    app.safe_domains = list(safe_domains)
            else:
                app = state.add_app(
                    app_key,
                    app_secret,
                    name=app_name or "ServiceHub",
                    redirect_uri=redirect_uri,
                    safe_domains=list(safe_domains or self.config.default_safe_domains),
                )
            name = screen_name or self._free_official_name()
            user = state.add_user(
                name,
                uid,
                created_at=self.clock.now() - 3650 * 86400,
                gender="n",
                province="11",
                city="2",
                location="北京 西城区",
                description=f"{name}官方微博，7×24小时为您服务",
                friends_base=120,
                verified=True,
                verified_type=2,
                verified_reason=f"{name}官方微博",
                mbtype=12,
                mbrank=6,
                urank=48,
            )
            account = state.add_account(user, app)
            ttl = token_ttl if token_ttl is not None else self.config.token_ttl
            token = state.new_token(user.uid, app.app_key, ttl)
        account.seeded_followers = self.config.default_followers if followers is None else followers
        account.seeded_posts = self.config.seed_posts if seed_posts is None else seed_posts
        self.seed_followers(user.uid, account.seeded_followers)
        self.seed_posts(user.uid, account.seeded_posts)
        return NewAccount(account, user, app, token.token, ttl)

    def _free_official_name(self) -> str:
        for name in OFFICIAL_NAMES:
            if self.state.user_by_name(name) is None:
                return name
        n = 2
        while self.state.user_by_name(f"中国联通客服{n}") is not None:
            n += 1
        return f"中国联通客服{n}"

    def seed_followers(self, account_uid: int, count: int) -> None:
        """Customers (then silent ``用户…`` accounts) who followed over the last 180 days."""
        state = self.state
        rng = random.Random(f"followers:{self.config.seed}:{account_uid}")
        pool = list(state.customer_uids)
        rng.shuffle(pool)
        while len(pool) < count:
            uid = state.new_uid()
            state.add_user(
                f"用户{uid}",
                uid,
                created_at=self.clock.now() - rng.randrange(30, 3000) * 86400,
                followers_base=rng.randrange(0, 50),
                friends_base=rng.randrange(10, 300),
            )
            pool.append(uid)
        now = self.clock.now()
        times = sorted(now - rng.uniform(60, 180 * 86400) for _ in range(count))
        for fan, at in zip(pool[:count], times, strict=True):
            state.follow(fan, account_uid, at=at)

    def seed_posts(self, account_uid: int, count: int) -> None:
        rng = random.Random(f"posts:{self.config.seed}:{account_uid}")
        app = self.app_of(account_uid)
        for index in range(count):
            status = self.state.add_status(
                account_uid, fill(ACCOUNT_POSTS[index % len(ACCOUNT_POSTS)], rng), self.app_source(app)
            )
            status.attitudes_count = rng.randrange(0, 300)

    def app_of(self, account_uid: int) -> App:
        return self.state.apps[self.state.accounts[account_uid].app_key]

    @staticmethod
    def app_source(app: App) -> str:
        return source_html(app.name, app.app_key[-6:] or "1Ua4Xz")

    def reset(self, keep_accounts: bool = False) -> None:
        """Forget everything; optionally keep accounts, apps and their tokens (re-seeded)."""
        old = self.state
        self.state = SimState(self.clock, self.ids, self.config.seed, self.config.customers)
        self.quotas.reset()
        self.faults.clear()
        self.traffic.reset_plan()
        self.reactions.clear()
        if not keep_accounts:
            return
        self.state.apps.update(old.apps)
        for account in old.accounts.values():
            self.state.store_user(old.users[account.uid])
            self.state.accounts[account.uid] = account
            self.state.tokens.update({t.token: t for t in old.tokens.values() if t.uid == account.uid})
            self.seed_followers(account.uid, account.seeded_followers)
            self.seed_posts(account.uid, account.seeded_posts)

    # -- injections -------------------------------------------------------------------

    def pick_customer(self) -> User:
        return self.state.users[self._pick.choice(self.state.customer_uids)]

    def inject_status(self, user: User, text: str, *, parent: Status | None = None) -> Status:
        return self.state.add_status(user.uid, text, device_source(user.uid), parent=parent)

    def inject_mention(self, account_uid: int, user: User, text: str) -> Status:
        """A customer's post that @-mentions the account (the mention is added if missing)."""
        name = self.state.users[account_uid].screen_name
        if account_uid not in self.state.resolve_mentions(text, user.uid):
            text = f"@{name} {text}" if text else f"@{name}"
        return self.inject_status(user, text)

    def inject_comment(
        self, status: Status, user: User, text: str, *, reply_to: Comment | None = None
    ) -> Comment:
        return self.state.add_comment(status, user.uid, text, device_source(user.uid), reply_to=reply_to)

    def inject_message(self, account_uid: int, user: User, text: str) -> DirectMessage:
        return self.state.add_message(user.uid, account_uid, text)

    # -- fans-service push ------------------------------------------------------------

    def _callback(self, account_uid: int) -> tuple[str, str] | None:
        account = self.state.accounts.get(account_uid)
        if account is None or not account.callback_url:
            return None
        secret = account.push_secret or self.state.apps[account.app_key].app_secret
        return account.callback_url, secret

    async def push_message(self, message: DirectMessage) -> PushRecord | None:
        target = self._callback(message.recipient)
        if target is None:
            return None
        return await self.pusher.deliver(
            self.state, message.recipient, target[0], target[1], push_json(message)
        )

    def push_message_later(self, message: DirectMessage) -> None:
        target = self._callback(message.recipient)
        if target is not None:
            self.pusher.deliver_later(self.state, message.recipient, target[0], target[1], push_json(message))

    def event_payload(self, account_uid: int, fan_uid: int, subtype: str) -> dict[str, Any]:
        """Record a follow-style event (it opens the reply window) and build its push body."""
        self.state.note_inbound(account_uid, fan_uid)
        return push_body(
            "event",
            account_uid,
            fan_uid,
            self.clock.now(),
            _EVENT_TEXT.get(subtype, "事件消息"),
            {"subtype": subtype},
        )

    async def push_event(self, account_uid: int, fan_uid: int, subtype: str) -> PushRecord | None:
        payload = self.event_payload(account_uid, fan_uid, subtype)
        target = self._callback(account_uid)
        if target is None:
            return None
        return await self.pusher.deliver(self.state, account_uid, target[0], target[1], payload)

    def push_event_later(self, account_uid: int, fan_uid: int, subtype: str) -> None:
        payload = self.event_payload(account_uid, fan_uid, subtype)
        target = self._callback(account_uid)
        if target is not None:
            self.pusher.deliver_later(self.state, account_uid, target[0], target[1], payload)


SIM_KEY = web.AppKey("simulator", Simulator)
