"""The Weibo adapter: one object per managed account, speaking the v2 REST API.

It implements the capability protocols of :mod:`servicehub.adapters.base` on top of a
:class:`WeiboSession` (the only code that does I/O). Calls are synchronous because the
hub runs adapters in Celery workers and worker threads. Every write checks the text
length first, so quota is not spent on something Weibo would refuse.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Self

import httpx

from servicehub.adapters.base import (
    LIST_START,
    Credentials,
    EngagementCount,
    FetchResult,
    FollowerPage,
    Horizon,
    InboundItem,
    ItemKind,
    PayloadRule,
    PlatformConfig,
    PlatformUser,
    PostImage,
    PublishProblem,
    RateLimitStatus,
    ReplyTarget,
    SentRef,
    TextRule,
    TieRule,
)
from servicehub.adapters.errors import (
    MalformedPayload,
    NotFound,
    PermissionMissing,
    RateLimited,
    Rejected,
    Repeated,
    TokenExpired,
    Unsupported,
    WindowClosed,
)
from servicehub.adapters.weibo import mapping, push
from servicehub.adapters.weibo.mapping import FollowerIdPage, Payload
from servicehub.adapters.weibo.oauth import WeiboOAuth
from servicehub.adapters.weibo.paging import DEFAULT_MAX_PAGES, walk_back
from servicehub.adapters.weibo.session import Files, Params, WeiboSession
from servicehub.adapters.weibo.text import MESSAGE_LIMIT, POST_LIMIT, URL_RE, ensure_length, weibo_length

# Write APIs whose reference lists ``rip``, the real IP of the person who wrote the text.
RIP_ENDPOINTS = frozenset({"comments/create", "comments/reply", "statuses/repost", "statuses/share"})
# How messages/reply says no to a reply outside the fan's window (or a second answer to a
# mention within it): an illegal message, or "out of limit" for that fan.
FANS_REPLY_REFUSALS = frozenset({20016, 20302, 20303, 20305, 20307})
# How far back a write that lost its answer is looked for among the account's own writes.
LOOKUP_MAX_PAGES = 5
DEFAULT_PAGE_SIZE = 100  # within every list endpoint's maximum (200); fewer calls per burst
COUNT_BATCH = 100  # statuses/count takes at most 100 ids
TOPIC_RE = re.compile(r"#[^#\s][^#]*#")
# A screen name after @ (CJK, letters, digits, _ and -); "回复@x:" replies to x, "//@x:" passes
# on x's post, any other @x mentions x.
_REPLIED_USER = (("reply_comment", "user", "idstr"), ("reply_comment", "user", "id"))
MENTION_RE = re.compile(r"(回复|//)?@([\u4e00-\u9fa5A-Za-z0-9_\-]{1,30})")

ItemMapper = Callable[[Payload], InboundItem]


@contextmanager
def parsing(endpoint: str) -> Iterator[None]:
    """Name ``endpoint`` on any MalformedPayload raised while mapping its answer."""
    try:
        yield
    except MalformedPayload as exc:
        exc.request = exc.request or endpoint
        raise


def _setting(extra: Mapping[str, str], name: str, default: int) -> int:
    try:
        return max(1, int(extra.get(name, default)))
    except ValueError:
        return default


class WeiboAdapter:
    """Sina Weibo for one account: mentions, comments, DMs, fans-service push, replies, posts."""

    platform = "weibo"
    names: ClassVar[Mapping[str, str]] = {"zh-CN": "新浪微博", "en": "Sina Weibo"}
    text_rules: ClassVar[Mapping[str, TextRule]] = {
        "comment_status": TextRule(POST_LIMIT, "char", "weibo", weibo_length),
        "reply_comment": TextRule(POST_LIMIT, "char", "weibo", weibo_length),
        "post": TextRule(POST_LIMIT, "char", "weibo", weibo_length),
        "private_message": TextRule(MESSAGE_LIMIT, "char", "weibo", weibo_length),
    }

    # A mention carrying the post it reposts is a repost; a comment carrying the comment it
    # answers is a reply; fans-service events say follow / unfollow in data.subtype.
    payload_rules: ClassVar[tuple[PayloadRule, ...]] = (
        PayloadRule(ItemKind.MENTION, ("retweeted_status",), "repost"),
        PayloadRule(ItemKind.COMMENT, ("reply_comment",), "reply"),
        PayloadRule(ItemKind.COMMENT_MENTION, ("reply_comment",), "reply"),
        PayloadRule(ItemKind.EVENT, ("data", "subtype"), "follow", equals="follow"),
        PayloadRule(ItemKind.EVENT, ("data", "subtype"), "unfollow", equals="unfollow"),
    )
    tie_rules: ClassVar[tuple[TieRule, ...]] = (
        TieRule(ItemKind.COMMENT, "reply", _REPLIED_USER),
        TieRule(ItemKind.COMMENT_MENTION, "reply", _REPLIED_USER),
        TieRule(
            ItemKind.MENTION,
            "repost",
            (("retweeted_status", "user", "idstr"), ("retweeted_status", "user", "id")),
        ),
    )

    @staticmethod
    def text_ties(text: str) -> list[tuple[str, str]]:
        """(tie, screen name) for every @name in a post or comment text."""
        ties = []
        for prefix, name in MENTION_RE.findall(text):
            ties.append(({"回复": "reply", "//": "repost"}.get(prefix, "mention"), name))
        return ties

    # Private messages reach a fan inside 48 hours of their last message (fans service).
    dm_window: ClassVar[timedelta] = timedelta(hours=48)

    @staticmethod
    def post_problems(text: str, config: PlatformConfig) -> list[PublishProblem]:
        """Why ``statuses/share`` would refuse ``text``: longer than 140, a ``#话题#`` in it,
        or no link on the app's safe domains (``share_domains``; unset: not checked here)."""
        problems = []
        length = weibo_length(text)
        if length > POST_LIMIT:
            problems.append(PublishProblem("too_long", {"limit": str(POST_LIMIT), "length": str(length)}))
        if TOPIC_RE.search(text):
            problems.append(PublishProblem("topic"))
        domains = share_domains(config)
        if domains and not any(_on_domain(url, domains) for url in URL_RE.findall(text)):
            problems.append(PublishProblem("domain", {"domains": "、".join(domains)}))
        return problems

    @classmethod
    def authorizer(
        cls, config: PlatformConfig, *, transport: httpx.BaseTransport | None = None
    ) -> WeiboOAuth:
        """Accounts are connected (and re-authorized) through Weibo's OAuth2 code flow."""
        return WeiboOAuth(config, transport=transport)

    def __init__(
        self,
        config: PlatformConfig,
        creds: Credentials,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.creds = creds
        self.page_size = _setting(config.extra, "page_size", DEFAULT_PAGE_SIZE)
        self.max_pages = _setting(config.extra, "max_pages", DEFAULT_MAX_PAGES)
        self.push_max_skew = _setting(config.extra, "push_max_skew_seconds", push.DEFAULT_MAX_SKEW_SECONDS)
        self._clock = clock
        self._session = WeiboSession(
            config, creds.access_token, transport=transport, sleep=sleep, clock=clock
        )

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------

    def _check_token(self, endpoint: str) -> None:
        """A token known to be past its expiry is not worth a request (Weibo would say 21327)."""
        expires_at = self.creds.expires_at
        if expires_at is not None and expires_at <= self._clock():
            raise TokenExpired(
                f"Weibo {endpoint}: the token of account {self.creds.uid} "
                f"expired at {expires_at.isoformat()}",
                request=endpoint,
            )

    def _get(self, endpoint: str, params: Params | None = None) -> Any:
        self._check_token(endpoint)
        return self._session.get(endpoint, params)

    def _post(
        self,
        endpoint: str,
        data: dict[str, str | int],
        *,
        fans: bool = False,
        client_ip: str | None = None,
        files: Files | None = None,
    ) -> Any:
        self._check_token(endpoint)
        if endpoint in RIP_ENDPOINTS:
            # The real IP of the person who wrote it, required by these write APIs; the
            # configured address when the write has no person behind it (a scheduled post).
            rip = client_ip or self.config.extra.get("rip")
            if rip:
                data["rip"] = rip
        return self._session.post(endpoint, data, fans=fans, files=files)

    def _fetch(
        self,
        endpoint: str,
        key: str,
        since_id: str | None,
        to_item: ItemMapper,
        params: Params | None = None,
        max_id: str | None = None,
        horizon: Horizon | None = None,
    ) -> FetchResult:
        """One walk of a newest-first list; ``since_id`` None is a first connection (back to
        ``horizon``), :data:`LIST_START` the whole list (Weibo reads since_id 0 as no filter)."""
        cursor = since_id if since_id not in (None, "") else None
        if cursor is not None and not (cursor.isascii() and cursor.isdigit()):
            raise ValueError(f"Weibo {endpoint}: cursor must be a decimal id, got {cursor!r}")

        def page(max_id: int | None) -> list[Payload]:
            query: dict[str, str | int] = {"count": self.page_size, **(params or {})}
            if cursor is not None and cursor != LIST_START:
                query["since_id"] = cursor
            if max_id is not None:
                query["max_id"] = max_id
            return _list(self._get(endpoint, query), key)

        with parsing(endpoint):
            start = int(max_id) if max_id not in (None, "") else None
            walk = walk_back(
                page, cursor, what=endpoint, max_pages=self.max_pages, start_max_id=start, horizon=horizon
            )
            items = [to_item(entry) for entry in walk.items if not mapping.is_deleted(entry)]
        return FetchResult(
            items=items, newest_id=walk.newest_id, pages=walk.pages, resume_max_id=walk.resume_max_id
        )

    # -- MentionSource, CommentSource, direct messages -------------------------------

    def fetch_mentions(
        self, since_id: str | None, max_id: str | None = None, *, horizon: Horizon | None = None
    ) -> FetchResult:
        """Posts that @-mention the account (``statuses/mentions``)."""
        uid = self.creds.uid
        return self._fetch(
            "statuses/mentions",
            "statuses",
            since_id,
            lambda s: mapping.status_to_item(s, uid),
            max_id=max_id,
            horizon=horizon,
        )

    def fetch_comment_mentions(
        self, since_id: str | None, max_id: str | None = None, *, horizon: Horizon | None = None
    ) -> FetchResult:
        """Comments that @-mention the account (``comments/mentions``)."""
        uid = self.creds.uid
        kind = ItemKind.COMMENT_MENTION
        return self._fetch(
            "comments/mentions",
            "comments",
            since_id,
            lambda c: mapping.comment_to_item(c, uid, kind),
            max_id=max_id,
            horizon=horizon,
        )

    def fetch_comments_to_me(
        self, since_id: str | None, max_id: str | None = None, *, horizon: Horizon | None = None
    ) -> FetchResult:
        """Comments on the account's posts (``comments/to_me``)."""
        uid = self.creds.uid
        return self._fetch(
            "comments/to_me",
            "comments",
            since_id,
            lambda c: mapping.comment_to_item(c, uid),
            max_id=max_id,
            horizon=horizon,
        )

    def fetch_direct_messages(
        self, since_id: str | None, max_id: str | None = None, *, horizon: Horizon | None = None
    ) -> FetchResult:
        """Private messages (``direct_messages``, an advanced permission for blue-V accounts:
        without it Weibo answers 10014, :class:`PermissionMissing`)."""
        uid = self.creds.uid
        return self._fetch(
            "direct_messages",
            "direct_messages",
            since_id,
            lambda d: mapping.dm_to_item(d, uid),
            max_id=max_id,
            horizon=horizon,
        )

    def comments_on(self, status_id: str, since_id: str | None = None) -> FetchResult:
        """Comments under one post (``comments/show``), e.g. on a publication being tracked."""
        uid = self.creds.uid
        return self._fetch(
            "comments/show",
            "comments",
            since_id,
            lambda c: mapping.comment_to_item(c, uid),
            {"id": status_id},
        )

    def repost_timeline(self, status_id: str, since_id: str | None = None) -> FetchResult:
        """Reposts of one post. Each is a post of its own, mapped like a mention: a reply comments on it."""
        uid = self.creds.uid
        return self._fetch(
            "statuses/repost_timeline",
            "reposts",
            since_id,
            lambda s: mapping.status_to_item(s, uid),
            {"id": status_id},
        )

    # -- MessageSource (fans-service push) --------------------------------------------

    def verify_push(self, params: Mapping[str, str], body: bytes | None = None) -> bool:
        """Weibo signs only the query (sha1 of sorted app secret, timestamp, nonce); ``body`` is unused."""
        return push.verify_signature(
            self.config.app_secret, params, now=self._clock(), max_skew_seconds=self.push_max_skew
        )

    def parse_push(self, body: bytes, content_type: str) -> list[InboundItem]:
        return push.parse_push_body(body, content_type, self.creds.uid)

    def push_answer(self) -> str:
        """An empty body: received, no passive reply (reference §5; Weibo then does not retry)."""
        return ""

    def echo(self, params: Mapping[str, str]) -> str | None:
        """Answer for Weibo's GET callback verification: ``echostr`` when signed, else None."""
        return push.echo_reply(
            self.config.app_secret, params, now=self._clock(), max_skew_seconds=self.push_max_skew
        )

    # -- Replier, Publisher -------------------------------------------------------------

    def reply(self, target: ReplyTarget, text: str, *, client_ip: str | None = None) -> SentRef:
        """Answer an inbound item where its :class:`ReplyTarget` points."""
        if target.kind == "comment_status":
            status_id = _required(target.status_id, "status_id", target)
            ensure_length(text, POST_LIMIT, "评论")
            body = self._post("comments/create", {"id": status_id, "comment": text}, client_ip=client_ip)
            with parsing("comments/create"):
                return mapping.sent_ref(body, "comment")
        if target.kind == "reply_comment":
            comment_id = _required(target.comment_id, "comment_id", target)
            ensure_length(text, POST_LIMIT, "评论")
            status_id = target.status_id or self._status_of_comment(comment_id)
            body = self._post(
                "comments/reply", {"cid": comment_id, "id": status_id, "comment": text}, client_ip=client_ip
            )
            with parsing("comments/reply"):
                return mapping.sent_ref(body, "comment")
        if target.kind == "private_message":
            user_uid = _required(target.user_uid, "user_uid", target)
            return self._fans_reply(user_uid, text)
        raise Rejected(f"Weibo cannot reply to a target of kind {target.kind!r}")

    def _fans_reply(self, user_uid: str, text: str) -> SentRef:
        """``messages/reply`` on the fans-service host; ``data`` is JSON, form-encoded once by httpx.

        Weibo accepts it only within 48 hours of the fan's last message or event (and a
        mention only once): its refusal is final for this message, a :class:`WindowClosed`.
        """
        ensure_length(text, MESSAGE_LIMIT, "私信")
        data = json.dumps({"text": text}, ensure_ascii=False, separators=(",", ":"))
        try:
            body = self._post(
                "messages/reply", {"type": "text", "data": data, "receiver_id": user_uid}, fans=True
            )
        except (Rejected, RateLimited) as exc:
            if exc.code not in FANS_REPLY_REFUSALS or isinstance(exc, Repeated | PermissionMissing):
                raise
            raise WindowClosed(
                f"Weibo messages/reply: the fan's 48-hour reply window is closed — {exc.message}",
                code=exc.code,
                request=exc.request,
            ) from exc
        if isinstance(body, Mapping) and (body.get("idstr") or body.get("id")):
            with parsing("messages/reply"):
                return mapping.sent_ref(body, "message")
        # The reply echo has no documented id; name it by receiver and time so it can be logged.
        sent_at = self._clock()
        return SentRef(
            platform_id=f"msg-{user_uid}-{int(sent_at.timestamp())}", text=text, created_at=sent_at
        )

    def _status_of_comment(self, comment_id: str) -> str:
        """The post a comment belongs to, for replies built from a comment-mention push."""
        body = self._get("comments/show_batch", {"cids": comment_id})
        with parsing("comments/show_batch"):
            for comment in _bare_list(body, "comments/show_batch"):
                if mapping.object_id(comment, "comment") == comment_id:
                    return mapping.object_id(mapping.child(comment, "status", "comment"), "comment.status")
        raise NotFound(f"Weibo comments/show_batch: comment {comment_id} does not exist", code=20201)

    # -- SentLookup ------------------------------------------------------------------------

    def find_sent(self, target: ReplyTarget, text: str, since: datetime) -> SentRef | None:
        """Our own write to ``target`` with ``text`` made since ``since``, if Weibo shows it.

        Comments are looked for in ``comments/by_me`` (matched on the post, the answered
        comment and the text as Weibo stores it: ``回复@…:`` in front, links shortened),
        posts in the account's ``statuses/user_timeline``, private messages in
        ``direct_messages/sent`` (an advanced permission: without it, PermissionMissing).
        """
        if target.kind in ("comment_status", "reply_comment"):
            endpoint, key, field = "comments/by_me", "comments", "comment"
        elif target.kind == "post":
            endpoint, key, field = "statuses/user_timeline", "statuses", "status"
        elif target.kind == "private_message":
            endpoint, key, field = "direct_messages/sent", "direct_messages", "direct_message"
        else:
            raise Unsupported(f"Weibo cannot look up a write to {target.kind!r}")
        max_id: int | None = None
        for _ in range(LOOKUP_MAX_PAGES):
            query: dict[str, str | int] = {"count": self.page_size}
            if max_id is not None:
                query["max_id"] = max_id
            with parsing(endpoint):
                entries = _list(self._get(endpoint, query), key)
                for entry in entries:
                    if _is_our_write(entry, target, text):
                        return mapping.sent_ref(entry, field)
                if not entries:
                    return None
                oldest = min(entries, key=lambda e: int(mapping.object_id(e, field)))
                created = mapping.parse_created_at(oldest.get("created_at"), f"{field}.created_at")
            if created < since:
                return None
            max_id = int(mapping.object_id(oldest, field)) - 1
        return None

    def publish_post(
        self, text: str, *, client_ip: str | None = None, image: PostImage | None = None
    ) -> SentRef:
        """Post through ``statuses/share`` (``statuses/update`` is closed since 2017: 10014)."""
        ensure_length(text, POST_LIMIT, "微博")
        for problem in self.post_problems(text, self.config):
            if problem.code == "topic":
                raise Rejected("微博 statuses/share 不允许包含#话题词#")
            if problem.code == "domain":
                raise Rejected(f"微博需包含安全域名下的链接 ({problem.params['domains']})")
        files = {"pic": (image.filename, image.data, image.content_type)} if image is not None else None
        body = self._post("statuses/share", {"status": text}, client_ip=client_ip, files=files)
        with parsing("statuses/share"):
            return mapping.sent_ref(body, "status")

    def send_direct_message(self, user_uid: str, text: str, *, client_ip: str | None = None) -> SentRef:
        """``direct_messages/new``; the recipient must follow the account (else 20301)."""
        ensure_length(text, MESSAGE_LIMIT, "私信")
        body = self._post("direct_messages/new", {"uid": user_uid, "text": text})
        with parsing("direct_messages/new"):
            return mapping.sent_ref(body, "direct_message")

    def repost(
        self, status_id: str, text: str = "", *, comment: bool = False, client_ip: str | None = None
    ) -> SentRef:
        """Repost ``status_id``; empty text becomes Weibo's default "转发微博"."""
        data: dict[str, str | int] = {"id": status_id, "is_comment": 1 if comment else 0}
        if text:
            ensure_length(text, POST_LIMIT, "转发")
            data["status"] = text
        body = self._post("statuses/repost", data, client_ip=client_ip)
        with parsing("statuses/repost"):
            return mapping.sent_ref(body, "status")

    # -- reads ---------------------------------------------------------------------------

    def engagement(self, platform_ids: Sequence[str]) -> list[EngagementCount]:
        """Repost/comment/like counts; unknown or deleted ids are silently absent."""
        found: dict[str, EngagementCount] = {}
        for start in range(0, len(platform_ids), COUNT_BATCH):
            batch = platform_ids[start : start + COUNT_BATCH]
            body = self._get("statuses/count", {"ids": ",".join(batch)})
            with parsing("statuses/count"):
                for entry in _bare_list(body, "statuses/count"):
                    count = mapping.engagement_from(entry)
                    found[count.platform_id] = count
        return [found[i] for i in dict.fromkeys(platform_ids) if i in found]

    def followers(self, cursor: int = 0) -> FollowerPage:
        """One page of the account's fans (Weibo returns at most 30% of them, capped at 500)."""
        body = self._get(
            "friendships/followers",
            {"uid": self.creds.uid, "count": min(self.page_size, 200), "cursor": cursor, "trim_status": 1},
        )
        with parsing("friendships/followers"):
            return mapping.follower_page_from(body)

    def following(self, cursor: int = 0) -> FollowerPage:
        """One page of the accounts this account follows (``friendships/friends``)."""
        body = self._get(
            "friendships/friends",
            {"uid": self.creds.uid, "count": min(self.page_size, 200), "cursor": cursor, "trim_status": 1},
        )
        with parsing("friendships/friends"):
            return mapping.follower_page_from(body)

    def follower_ids(self, cursor: int = 0) -> FollowerIdPage:
        body = self._get(
            "friendships/followers/ids", {"uid": self.creds.uid, "count": 5000, "cursor": cursor}
        )
        with parsing("friendships/followers/ids"):
            return mapping.follower_ids_from(body)

    def status(self, status_id: str) -> InboundItem:
        """One post (``statuses/show``), mapped as a mention: used to complete mention pushes."""
        body = self._get("statuses/show", {"id": status_id})
        with parsing("statuses/show"):
            return mapping.status_to_item(body, self.creds.uid)

    def own_profile(self) -> PlatformUser:
        """The managed account itself, as ``users/show`` describes it."""
        return self.user(self.creds.uid)

    def user(self, uid: str) -> PlatformUser:
        body = self._get("users/show", {"uid": uid})
        with parsing("users/show"):
            return mapping.user_from(body)

    def rate_limit_status(self) -> RateLimitStatus:
        body = self._get("account/rate_limit_status")
        with parsing("account/rate_limit_status"):
            return mapping.rate_limit_from(body, self._clock())

    def get_uid(self) -> str:
        body = self._get("account/get_uid")
        with parsing("account/get_uid"):
            return mapping.id_value(mapping.obj(body, "get_uid").get("uid"), "get_uid.uid")


def _list(body: Any, key: str) -> list[Payload]:
    """The list under ``key`` in a list envelope, each element checked to be an object."""
    envelope = mapping.obj(body, key)
    entries = envelope.get(key)
    if not isinstance(entries, list):
        raise MalformedPayload(f"Weibo payload is missing required field {key!r}")
    return [mapping.obj(entry, f"{key}[]") for entry in entries]


def _bare_list(body: Any, what: str) -> list[Payload]:
    if not isinstance(body, list):
        raise MalformedPayload(f"Weibo {what}: expected a JSON array")
    return [mapping.obj(entry, f"{what}[]") for entry in body]


_REPLY_PREFIX = re.compile(r"^回复@[^:：]+[:：]")
_ZERO_WIDTH = "\u200b"


def _comparable(text: str) -> str:
    """A text as our write and Weibo's stored copy agree on it: links reduced to a mark
    (Weibo shortens them to t.cn), the auto-inserted ``回复@昵称:`` and spaces trimmed."""
    text = _REPLY_PREFIX.sub("", text.replace(_ZERO_WIDTH, "").strip(), count=1)
    return URL_RE.sub("\x00", text).strip()


def _is_our_write(entry: Payload, target: ReplyTarget, text: str) -> bool:
    if _comparable(str(entry.get("text") or "")) != _comparable(text):
        return False
    if target.kind in ("comment_status", "reply_comment"):
        status = entry.get("status")
        status_id = mapping.object_id(status, "comment.status") if isinstance(status, Mapping) else None
        if target.status_id and status_id != target.status_id:
            return False
        if target.kind == "reply_comment":
            replied = entry.get("reply_comment")
            replied_id = (
                mapping.object_id(replied, "comment.reply_comment") if isinstance(replied, Mapping) else None
            )
            return replied_id == target.comment_id
        return True
    if target.kind == "private_message":
        recipient = entry.get("recipient_id")
        return (
            recipient is not None
            and mapping.id_value(recipient, "direct_message.recipient_id") == target.user_uid
        )
    return True


def _required(value: str | None, name: str, target: ReplyTarget) -> str:
    if not value:
        raise Rejected(f"Weibo reply target {target.kind} lacks {name}")
    return value


def share_domains(config: PlatformConfig) -> list[str]:
    """The app's safe domains (its console's 安全域名), from ``[platforms.weibo] share_domains``."""
    return [d.strip().lower() for d in config.extra.get("share_domains", "").split(",") if d.strip()]


def _on_domain(url: str, domains: list[str]) -> bool:
    try:
        host = httpx.URL(url).host.lower()
    except httpx.InvalidURL:
        return False
    return any(host == d or host.endswith("." + d) for d in domains)
