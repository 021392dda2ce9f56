"""The simulator's in-memory world and the invariants that tie its records together.

Every list index is kept in ascending id order (ids grow with time), so the list
endpoints can answer ``since_id``/``max_id`` windows with a binary search even after a
burst of thousands of mentions. Mutations take one re-entrant lock: the server runs in a
single event loop, but the thread runner lets tests peek at the state from another thread.
"""

from __future__ import annotations

import random
import string
import threading
from bisect import insort
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from servicehub.adapters.simulator.clock import IdGenerator, SimClock
from servicehub.adapters.simulator.corpus import build_customers
from servicehub.adapters.simulator.models import (
    Account,
    App,
    AuthCode,
    Comment,
    DirectMessage,
    OutboxEntry,
    PushRecord,
    Status,
    Token,
    User,
)
from servicehub.adapters.simulator.textrules import mention_names

_ALNUM = string.ascii_letters + string.digits


class SimState:
    """Users, apps, tokens, posts, comments, messages, follows and the hub's outbox."""

    def __init__(self, clock: SimClock, ids: IdGenerator, seed: int, customers: int) -> None:
        self.clock = clock
        self.ids = ids
        self.lock = threading.RLock()
        self._rng = random.Random(f"credentials:{seed}")
        self.users: dict[int, User] = {}
        self._by_name: dict[str, int] = {}
        self.apps: dict[str, App] = {}
        self.accounts: dict[int, Account] = {}
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, AuthCode] = {}
        self.statuses: dict[int, Status] = {}
        self.comments: dict[int, Comment] = {}
        self.messages: dict[int, DirectMessage] = {}
        self.statuses_by: defaultdict[int, list[int]] = defaultdict(list)
        self.mentions_of: defaultdict[int, list[int]] = defaultdict(list)
        self.reposts_of: defaultdict[int, list[int]] = defaultdict(list)
        self.comments_on: defaultdict[int, list[int]] = defaultdict(list)
        self.comments_by: defaultdict[int, list[int]] = defaultdict(list)
        self.comments_to: defaultdict[int, list[int]] = defaultdict(list)
        self.comments_mentioning: defaultdict[int, list[int]] = defaultdict(list)
        self.messages_to: defaultdict[int, list[int]] = defaultdict(list)
        self.messages_from: defaultdict[int, list[int]] = defaultdict(list)
        self.followers: defaultdict[int, dict[int, float]] = defaultdict(dict)  # followee -> follower -> ts
        self.following: defaultdict[int, set[int]] = defaultdict(set)
        self.last_inbound: dict[tuple[int, int], float] = {}  # (account, fan) -> last message/event
        self.last_status_text: dict[int, str] = {}
        self.last_comment_text: dict[int, str] = {}
        self.outbox: list[OutboxEntry] = []
        self.pushes: list[PushRecord] = []
        self.customer_uids: list[int] = []
        for user in build_customers(seed, customers, clock.now()):
            self.store_user(user)
            self.customer_uids.append(user.uid)

    # -- people and credentials -------------------------------------------------------

    def store_user(self, user: User) -> None:
        if user.uid in self.users or user.screen_name in self._by_name:
            raise ValueError(f"user {user.uid} / {user.screen_name!r} already exists")
        self.users[user.uid] = user
        self._by_name[user.screen_name] = user.uid

    def add_user(self, screen_name: str, uid: int | None = None, **attrs: Any) -> User:
        with self.lock:
            user = User(
                uid=uid if uid is not None else self.new_uid(),
                screen_name=screen_name,
                created_at=attrs.pop("created_at", self.clock.now()),
                **attrs,
            )
            self.store_user(user)
            return user

    def user_by_name(self, screen_name: str) -> User | None:
        uid = self._by_name.get(screen_name)
        return self.users.get(uid) if uid is not None else None

    def new_uid(self) -> int:
        while True:
            uid = self._rng.randrange(1_000_000_000, 7_999_999_999)
            if uid not in self.users:
                return uid

    def add_app(
        self,
        app_key: str | None = None,
        app_secret: str | None = None,
        *,
        name: str = "ServiceHub",
        redirect_uri: str | None = None,
        safe_domains: list[str] | None = None,
    ) -> App:
        with self.lock:
            key = app_key or self._unique(
                lambda: str(self._rng.randrange(1_000_000_000, 9_999_999_999)), self.apps
            )
            if key in self.apps:
                raise ValueError(f"app {key} already exists")
            secret = app_secret or "".join(self._rng.choice("0123456789abcdef") for _ in range(32))
            app = App(key, secret, name, redirect_uri, list(safe_domains or []))
            self.apps[key] = app
            return app

    def add_account(self, user: User, app: App) -> Account:
        with self.lock:
            account = Account(uid=user.uid, app_key=app.app_key)
            self.accounts[user.uid] = account
            return account

    def new_token(self, uid: int, app_key: str, ttl: int) -> Token:
        with self.lock:
            value = self._unique(
                lambda: "2.00" + "".join(self._rng.choice(_ALNUM) for _ in range(28)), self.tokens
            )
            now = self.clock.now()
            token = Token(value, uid, app_key, now, now + ttl)
            self.tokens[value] = token
            return token

    def valid_token_for(self, uid: int, app_key: str) -> Token | None:
        now = self.clock.now()
        for token in self.tokens.values():
            if token.uid == uid and token.app_key == app_key and not token.revoked and token.expires_at > now:
                return token
        return None

    def new_code(self, app_key: str, uid: int, redirect_uri: str) -> AuthCode:
        with self.lock:
            value = self._unique(lambda: f"{self._rng.getrandbits(128):032x}", self.codes)
            code = AuthCode(value, app_key, uid, redirect_uri, self.clock.now())
            self.codes[value] = code
            return code

    def _unique(self, make: Callable[[], str], taken: Mapping[str, object]) -> str:
        while True:
            value = make()
            if value not in taken:
                return value

    # -- content ----------------------------------------------------------------------

    def resolve_mentions(self, text: str, author: int) -> tuple[int, ...]:
        uids = [self._by_name[name] for name in mention_names(text) if name in self._by_name]
        return tuple(uid for uid in uids if uid != author)

    def _stamp(self, at: float | None, taken: Mapping[int, object]) -> tuple[float, int]:
        """The time and id of a new record: now, or ``at`` in the past (a backlog), whose id
        then fits that time among the existing ones."""
        if at is None:
            now = self.clock.now()
            return now, self.ids.next_id(now)
        return at, self.ids.id_at(at, taken)

    @staticmethod
    def _index(ids: list[int], new_id: int) -> None:
        """Keep an index ascending: new ids go at the end, backdated ones where they belong."""
        if ids and new_id < ids[-1]:
            insort(ids, new_id)
        else:
            ids.append(new_id)

    def add_status(
        self,
        uid: int,
        text: str,
        source: str,
        *,
        parent: Status | None = None,
        from_hub: bool = False,
        at: float | None = None,
    ) -> Status:
        with self.lock:
            now, new_id = self._stamp(at, self.statuses)
            root_id = (parent.root_id or parent.id) if parent else None
            status = Status(
                new_id,
                uid,
                text,
                now,
                source,
                root_id=root_id,
                parent_id=parent.id if parent else None,
                mentions=self.resolve_mentions(text, uid),
                from_hub=from_hub,
            )
            self.statuses[status.id] = status
            self._index(self.statuses_by[uid], status.id)
            for mentioned in status.mentions:
                self._index(self.mentions_of[mentioned], status.id)
            if parent is not None:
                for target_id in dict.fromkeys((parent.id, root_id)):
                    if target_id is not None and target_id in self.statuses:
                        self.statuses[target_id].reposts_count += 1
                        self.reposts_of[target_id].append(status.id)
            self.last_status_text[uid] = text
            return status

    def add_comment(
        self,
        status: Status,
        uid: int,
        text: str,
        source: str,
        *,
        reply_to: Comment | None = None,
        from_hub: bool = False,
        at: float | None = None,
    ) -> Comment:
        with self.lock:
            now, new_id = self._stamp(at, self.comments)
            comment = Comment(
                new_id,
                status.id,
                uid,
                text,
                now,
                source,
                reply_to=reply_to.id if reply_to else None,
                mentions=self.resolve_mentions(text, uid),
                from_hub=from_hub,
            )
            self.comments[comment.id] = comment
            self._index(self.comments_on[status.id], comment.id)
            self._index(self.comments_by[uid], comment.id)
            status.comments_count += 1
            receivers = {status.uid}
            if reply_to is not None:
                receivers.add(reply_to.uid)
            for receiver in sorted(receivers - {uid}):
                self._index(self.comments_to[receiver], comment.id)
            for mentioned in comment.mentions:
                self._index(self.comments_mentioning[mentioned], comment.id)
            self.last_comment_text[uid] = text
            return comment

    def add_message(
        self,
        sender: int,
        recipient: int,
        text: str,
        *,
        msg_type: str = "text",
        data: dict[str, Any] | None = None,
        from_hub: bool = False,
        at: float | None = None,
    ) -> DirectMessage:
        with self.lock:
            now, new_id = self._stamp(at, self.messages)
            message = DirectMessage(
                new_id, sender, recipient, text, now, msg_type, dict(data or {}), from_hub
            )
            self.messages[message.id] = message
            self._index(self.messages_to[recipient], message.id)
            self._index(self.messages_from[sender], message.id)
            if not from_hub and recipient in self.accounts:
                self.last_inbound[(recipient, sender)] = max(
                    now, self.last_inbound.get((recipient, sender), now)
                )
            return message

    def note_inbound(self, account_uid: int, fan_uid: int) -> None:
        """A follow / menu event also opens the 48-hour fans-service reply window."""
        with self.lock:
            self.last_inbound[(account_uid, fan_uid)] = self.clock.now()

    # -- follow graph -----------------------------------------------------------------

    def follow(self, follower: int, followee: int, at: float | None = None) -> bool:
        with self.lock:
            if follower == followee or follower in self.followers[followee]:
                return False
            self.followers[followee][follower] = self.clock.now() if at is None else at
            self.following[follower].add(followee)
            return True

    def unfollow(self, follower: int, followee: int) -> bool:
        with self.lock:
            if self.followers[followee].pop(follower, None) is None:
                return False
            self.following[follower].discard(followee)
            return True

    def follows(self, follower: int, followee: int) -> bool:
        return follower in self.followers.get(followee, {})

    def followers_count(self, user: User) -> int:
        return user.followers_base + len(self.followers.get(user.uid, {}))

    def friends_count(self, user: User) -> int:
        return user.friends_base + len(self.following.get(user.uid, ()))

    def statuses_count(self, user: User) -> int:
        return user.statuses_base + len(self.statuses_by.get(user.uid, ()))

    def latest_status(self, uid: int) -> Status | None:
        ids = self.statuses_by.get(uid)
        return self.statuses[ids[-1]] if ids else None

    # -- what the hub did -------------------------------------------------------------

    def record_outbox(
        self,
        endpoint: str,
        uid: int,
        params: dict[str, str],
        *,
        text: str,
        request_text: str,
        result_id: int,
        result: dict[str, Any],
        status_id: int | None = None,
        comment_id: int | None = None,
        receiver_id: int | None = None,
    ) -> OutboxEntry:
        with self.lock:
            params = {k: v for k, v in params.items() if k != "access_token"}
            entry = OutboxEntry(
                len(self.outbox) + 1,
                endpoint,
                uid,
                self.clock.now(),
                params,
                text,
                request_text,
                result_id,
                status_id,
                comment_id,
                receiver_id,
                result,
            )
            self.outbox.append(entry)
            return entry

    def new_push_record(self, account_uid: int, url: str, payload: dict[str, Any]) -> PushRecord:
        with self.lock:
            record = PushRecord(len(self.pushes) + 1, account_uid, url, payload)
            self.pushes.append(record)
            return record

    def summary(self) -> dict[str, int]:
        return {
            "users": len(self.users),
            "accounts": len(self.accounts),
            "tokens": len(self.tokens),
            "statuses": len(self.statuses),
            "comments": len(self.comments),
            "messages": len(self.messages),
            "outbox": len(self.outbox),
            "pushes": len(self.pushes),
        }
