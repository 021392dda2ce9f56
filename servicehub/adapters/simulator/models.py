"""The records the simulator keeps in memory: people, apps, tokens, posts, comments, messages.

Plain mutable dataclasses; the rules about how they relate live in :mod:`.state` and how
they look on the wire in :mod:`.render`. Times are Unix seconds on the simulated clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class User:
    uid: int
    screen_name: str
    created_at: float
    gender: str = "n"
    province: str = "11"
    city: str = "1"
    location: str = "北京 东城区"
    description: str = ""
    followers_base: int = 0  # followers not modelled as edges (customers' own audiences)
    friends_base: int = 0
    statuses_base: int = 0
    verified: bool = False
    verified_type: int = -1
    verified_reason: str = ""
    mbtype: int = 0
    mbrank: int = 0
    urank: int = 4
    is_customer: bool = False


@dataclass(slots=True)
class App:
    """An OAuth client registered on open.weibo.com: the key pair plus its 安全域名."""

    app_key: str
    app_secret: str
    name: str = "ServiceHub"
    redirect_uri: str | None = None  # None accepts any callback
    safe_domains: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Account:
    """A managed official account (blue V) and its fans-service push settings."""

    uid: int
    app_key: str
    callback_url: str | None = None
    push_secret: str | None = None  # defaults to the app secret
    seeded_followers: int = 0  # what a reset with keep_accounts seeds again
    seeded_posts: int = 0


@dataclass(slots=True)
class Token:
    token: str
    uid: int
    app_key: str
    created_at: float
    expires_at: float
    revoked: bool = False


@dataclass(slots=True)
class AuthCode:
    code: str
    app_key: str
    uid: int
    redirect_uri: str
    created_at: float
    used: bool = False


@dataclass(slots=True)
class Status:
    id: int
    uid: int
    text: str
    created_at: float
    source: str
    root_id: int | None = None  # retweeted_status: the original post of a repost chain
    parent_id: int | None = None  # the post that was reposted directly
    mentions: tuple[int, ...] = ()
    reposts_count: int = 0
    comments_count: int = 0
    attitudes_count: int = 0
    from_hub: bool = False
    pic_ids: tuple[str, ...] = ()  # pictures posted with it (statuses/share ``pic``)


@dataclass(slots=True)
class Comment:
    id: int
    status_id: int
    uid: int
    text: str
    created_at: float
    source: str
    reply_to: int | None = None  # the comment this one answers (reply_comment)
    mentions: tuple[int, ...] = ()
    from_hub: bool = False


@dataclass(slots=True)
class DirectMessage:
    """A private message; inbound ones are also what the fans-service push delivers."""

    id: int
    sender: int
    recipient: int
    text: str
    created_at: float
    msg_type: str = "text"  # fans-service type: text, event, position, articles ...
    data: dict[str, Any] = field(default_factory=dict)
    from_hub: bool = False


@dataclass(slots=True)
class OutboxEntry:
    """One write the hub made, as the simulator received and stored it."""

    seq: int
    endpoint: str  # e.g. "comments/reply"
    uid: int  # the account that wrote (owner of the token)
    created_at: float
    params: dict[str, str]
    text: str  # text as stored (prefixes added, links shortened)
    request_text: str  # text exactly as sent
    result_id: int
    status_id: int | None = None
    comment_id: int | None = None
    receiver_id: int | None = None
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class PushRecord:
    """One fans-service delivery to a callback URL, with every attempt's outcome."""

    seq: int
    account_uid: int
    url: str
    payload: dict[str, Any]
    attempts: int = 0
    delivered: bool = False
    status: int | None = None
    error: str | None = None
    response_body: str = ""
