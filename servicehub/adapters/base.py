"""Capability interfaces every platform adapter implements, and the normalized values they return.

An adapter is a small object per managed account. It speaks its platform's wire protocol
and hands back these dataclasses -- never raw JSON -- and raises only the errors in
:mod:`servicehub.adapters.errors`. Capabilities are separate protocols because platforms
differ: WeChat official accounts cannot list mentions, Weibo cannot push comments.

Everything the hub needs to know about a platform is said here, by the adapter class:
what it can do (the capability protocols, reached through :func:`replier` and its
siblings, which raise :class:`~servicehub.adapters.errors.Unsupported` for a capability the
platform lacks), how long a text may be for each kind of target (:class:`TextRule`), what
a push is answered with, how an account is connected (an :class:`Authorizer` for OAuth
platforms, :class:`CredentialField` forms for platforms that issue app credentials), and
its name as people know it. The rest of the hub never asks which platform it talks to.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast, runtime_checkable

from servicehub.adapters.errors import TextTooLong, Unsupported


class ItemKind(enum.StrEnum):
    """What an inbound item is. Together with platform and platform_id it is unique."""

    MENTION = "mention"  # a post that @-mentions the account
    COMMENT_MENTION = "comment_mention"  # a comment that @-mentions the account
    COMMENT = "comment"  # a comment on one of the account's posts
    PRIVATE_MESSAGE = "private_message"  # a DM / fans-service message
    EVENT = "event"  # follow / unfollow / menu click pushes


class Source(enum.StrEnum):
    """A pollable stream of one account. Service-facing sources come first in budgets."""

    MENTIONS = "mentions"
    COMMENT_MENTIONS = "comment_mentions"
    COMMENTS_TO_ME = "comments_to_me"
    DIRECT_MESSAGES = "direct_messages"


@dataclass(frozen=True, slots=True)
class PlatformUser:
    """A customer as a payload shows them. ``screen_name`` "" and ``followers_count`` None
    mean the payload did not say (a push names only the sender's uid), not that they are empty."""

    platform: str
    uid: str
    screen_name: str
    followers_count: int | None = None
    avatar_url: str | None = None


# The position before every item of a list: a source's cursor after its first fetch found the
# list empty. A fetch from it takes everything the list holds ("nothing before now", so all of
# it is new), walking back page by page, where a fetch with no cursor at all is a first
# connection and reaches back only to its :class:`Horizon`.
LIST_START = "0"


@dataclass(frozen=True, slots=True)
class Horizon:
    """How far back the first fetch of a source reaches when an account is connected: items
    created at or after ``not_before``, in at most ``max_pages`` pages. What lies beyond is
    history the account inherited, not work for the hub."""

    not_before: datetime
    max_pages: int


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A photo, voice note or video attached to an inbound item, as the platform names it.

    ``media_id`` is what :class:`MediaReader` fetches it by; ``kind`` is ``image``,
    ``voice``, ``video`` or ``shortvideo``; ``thumb_media_id`` a video's still, ``url`` a
    link the platform gave (may expire), ``format`` a voice note's codec (``amr``).
    """

    kind: str
    media_id: str
    thumb_media_id: str | None = None
    url: str | None = None
    format: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (
                ("kind", self.kind),
                ("media_id", self.media_id),
                ("thumb_media_id", self.thumb_media_id),
                ("url", self.url),
                ("format", self.format),
            )
            if v
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MediaRef:
        return cls(
            kind=str(data.get("kind", "")),
            media_id=str(data.get("media_id", "")),
            thumb_media_id=data.get("thumb_media_id") or None,
            url=data.get("url") or None,
            format=data.get("format") or None,
        )


@dataclass(frozen=True, slots=True)
class InboundItem:
    """One thing a customer said to (or about) a managed account.

    ``thread_id`` groups items into one conversation: for a comment it is the commented
    post, for a mention the mentioning post itself, for a private message the sender's uid.
    ``reply_target`` is what a reply to this item must point at (see :class:`ReplyTarget`).
    """

    platform: str
    kind: ItemKind
    platform_id: str
    account_uid: str
    author: PlatformUser
    text: str
    created_at: datetime
    thread_id: str
    reply_target: ReplyTarget
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # What the customer sent besides words (a photo of a bill, a voice note): never empty
    # content, whatever the text says.
    media: tuple[MediaRef, ...] = ()


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """Where a reply goes. ``kind`` says which write call to use.

    - ``comment_status``: comment on post ``status_id`` (answers a mention);
    - ``reply_comment``: reply to comment ``comment_id`` under post ``status_id``;
    - ``private_message``: message user ``user_uid`` (within the platform's window).
    """

    kind: str
    status_id: str | None = None
    comment_id: str | None = None
    user_uid: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """The stored form (``dataclasses.asdict`` does the same, several times slower)."""
        return {
            "kind": self.kind,
            "status_id": self.status_id,
            "comment_id": self.comment_id,
            "user_uid": self.user_uid,
        }


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Items newer than the cursor, newest first, and the new cursor to persist.

    ``newest_id`` is the position to continue from: the newest item the list holds (even one
    older than a first connection's horizon, which is not returned), or :data:`LIST_START`
    when the list was empty. None only when the fetch could not tell (then the caller keeps
    its cursor).

    ``resume_max_id`` is set when the walk stopped early (a page cap): items newer than the
    cursor and at most ``resume_max_id`` were not fetched yet. The caller must not advance
    its cursor past them; it fetches again with ``max_id=resume_max_id`` until the gap closes.
    """

    items: Sequence[InboundItem]
    newest_id: str | None
    pages: int = 1
    resume_max_id: str | None = None


@dataclass(frozen=True, slots=True)
class SentRef:
    """What the platform gave back for something we sent."""

    platform_id: str
    text: str
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class EngagementCount:
    platform_id: str
    reposts: int
    comments: int
    likes: int


@dataclass(frozen=True, slots=True)
class FollowerPage:
    users: Sequence[PlatformUser]
    next_cursor: int  # 0 means no more pages
    total: int


@dataclass(frozen=True, slots=True)
class RateLimitStatus:
    """What the platform says of the account's quota. ``reset_in_seconds`` is the platform's
    own relative answer (None when it gave only a wall-clock time, then ``reset_at`` is all)."""

    remaining_user_hits: int
    user_limit: int
    reset_at: datetime
    reset_in_seconds: float | None = None
    remaining_ip_hits: int | None = None


@dataclass(frozen=True)
class TextRule:
    """How a platform measures a text for one kind of target, and how much it accepts.

    ``counting`` names the measure for the browser's live counter ("weibo": Weibo's
    half-width rule, "utf8_bytes", "chars"); ``unit`` is what the limit is counted in
    ("char" or "byte"). The server always checks with ``measure`` itself.
    """

    limit: int
    unit: str
    counting: str
    measure: Callable[[str], int] = field(compare=False, repr=False)

    def length(self, text: str) -> int:
        return self.measure(text)

    def check(self, text: str) -> None:
        """Raise :class:`TextTooLong` for a text the platform would refuse for its length."""
        length = self.measure(text)
        if length > self.limit:
            raise TextTooLong(limit=self.limit, length=length, unit=self.unit)


def count_chars(text: str) -> int:
    return len(text)


def count_utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class CredentialField:
    """One field of the form that connects an account by app credentials (no OAuth).

    ``label`` is the platform console's own name for it (shown as is, e.g. "AppSecret"),
    ``hint`` where to find it; ``secret`` fields are sealed and never shown again.
    """

    name: str
    label: str
    hint: str = ""
    secret: bool = False
    required: bool = True


@dataclass(frozen=True, slots=True)
class AppConnection:
    """What a credential form yields: the account's uid and name, and the sealed app values."""

    uid: str
    display_name: str
    app: Mapping[str, str]


@runtime_checkable
class Adapter(Protocol):
    """What every adapter is, whatever it can do: one account of ``platform``."""

    platform: str

    def close(self) -> None: ...


@runtime_checkable
class MentionSource(Protocol):
    """Newest-first lists: ``since_id`` exclusive (:data:`LIST_START`: the whole list; None: a
    first connection, reaching back to ``horizon``), ``max_id`` (when given) inclusive."""

    def fetch_mentions(
        self, since_id: str | None, max_id: str | None = None, *, horizon: Horizon | None = None
    ) -> FetchResult: ...


@runtime_checkable
class CommentMentionSource(Protocol):
    def fetch_comment_mentions(
        self, since_id: str | None, max_id: str | None = None, *, horizon: Horizon | None = None
    ) -> FetchResult: ...


@runtime_checkable
class CommentSource(Protocol):
    def fetch_comments_to_me(
        self, since_id: str | None, max_id: str | None = None, *, horizon: Horizon | None = None
    ) -> FetchResult: ...


@runtime_checkable
class DirectMessageSource(Protocol):
    """Private messages read by polling (Weibo needs an advanced permission for it)."""

    def fetch_direct_messages(
        self, since_id: str | None, max_id: str | None = None, *, horizon: Horizon | None = None
    ) -> FetchResult: ...


@runtime_checkable
class MessageSource(Protocol):
    """Platforms that push private messages: verify and parse what they post to us."""

    def verify_push(self, params: Mapping[str, str], body: bytes | None = None) -> bool:
        """Whether a push really comes from the platform. ``body`` matters where the platform
        signs the body too (WeChat safe mode)."""
        ...

    def echo(self, params: Mapping[str, str]) -> str | None:
        """The answer to the platform's GET URL verification, or None when not signed by it."""
        ...

    def parse_push(self, body: bytes, content_type: str) -> list[InboundItem]: ...

    def push_answer(self) -> str:
        """The body that tells the platform a push was received (and needs no passive reply)."""
        ...


@runtime_checkable
class Replier(Protocol):
    """Writes answer an item. ``client_ip`` is the address of the person who wrote the text
    (Weibo's ``rip``: the end user's real IP, required on its write APIs)."""

    def reply(self, target: ReplyTarget, text: str, *, client_ip: str | None = None) -> SentRef: ...


@dataclass(frozen=True, slots=True)
class PostImage:
    """A picture posted with a text: its bytes and what they are (``image/jpeg`` ...)."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@runtime_checkable
class Publisher(Protocol):
    """Posts on the account's own timeline (a Weibo post), with a picture if given."""

    def publish_post(
        self, text: str, *, client_ip: str | None = None, image: PostImage | None = None
    ) -> SentRef: ...


@runtime_checkable
class DirectMessenger(Protocol):
    """Starts a private message to one follower (not an answer to an item: see :class:`Replier`).
    Platforms allow it only inside a window after the follower last wrote (``dm_window``)."""

    def send_direct_message(self, user_uid: str, text: str, *, client_ip: str | None = None) -> SentRef: ...


@dataclass(frozen=True, slots=True)
class AudienceTag:
    """A group of the account's followers as the platform itself keeps it (WeChat user tags):
    what a mass send can address. ``count`` is the platform's own figure."""

    tag_id: str
    name: str
    count: int


@runtime_checkable
class MassSender(Protocol):
    """Sends one text to every follower carrying one of the account's own tags (WeChat 群发).

    ``client_msg_id`` is the hub's key for this send: the platform refuses a second send with
    the same key and names the first (WeChat 45065), so a retry never reaches anyone twice;
    the adapter answers such a refusal with the first send's :class:`SentRef`.
    """

    def audience_tags(self) -> list[AudienceTag]: ...

    def mass_send(self, tag_id: str, text: str, *, client_msg_id: str) -> SentRef: ...


@dataclass(frozen=True, slots=True)
class PublishProblem:
    """Why a platform would refuse a text as a post, said before anything is queued.

    ``code`` names the rule (``publish.problem.<code>`` in the locales: ``topic``, ``domain``,
    ``too_long``), ``params`` what the message shows (the safe domains, the limit).
    """

    code: str
    params: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class SentLookup(Protocol):
    """Reads back what the account itself wrote, to settle a write whose answer was lost.

    ``target`` is where the write went (a :class:`ReplyTarget`; ``kind="post"`` for a post).
    Returns the matching write made since ``since``, or None when the platform shows none.
    Raises :class:`~servicehub.adapters.errors.Unsupported` when this kind of write cannot be
    read back, and any other platform error when the read itself failed: neither means the
    write is absent.
    """

    def find_sent(self, target: ReplyTarget, text: str, since: datetime) -> SentRef | None: ...


@dataclass
class MediaStream:
    """An attachment's bytes as the platform serves them; iterate, then ``close``."""

    content_type: str
    chunks: Iterator[bytes]
    close: Callable[[], None]
    length: int | None = None


@runtime_checkable
class MediaReader(Protocol):
    """Fetches an inbound item's attachment (a customer's photo) when an operator opens it."""

    def open_media(self, media: MediaRef) -> MediaStream: ...


@runtime_checkable
class EngagementReader(Protocol):
    def engagement(self, platform_ids: Sequence[str]) -> list[EngagementCount]: ...


@runtime_checkable
class RepostReader(Protocol):
    """Lists the reposts of one of the account's posts (newest first, after ``since_id``):
    what a publication draws besides comments, taken in like mentions."""

    def repost_timeline(self, status_id: str, since_id: str | None = None) -> FetchResult: ...


@runtime_checkable
class FanGraphReader(Protocol):
    def followers(self, cursor: int = 0) -> FollowerPage: ...


@runtime_checkable
class FollowingReader(Protocol):
    """The accounts a managed account itself follows (where the platform reveals them)."""

    def following(self, cursor: int = 0) -> FollowerPage: ...


@dataclass(frozen=True, slots=True)
class PayloadRule:
    """What an inbound item means for analytics, told by its raw payload.

    An item of ``kind`` whose payload holds a value at ``path`` (``equals`` that value,
    when given) is a ``means`` -- e.g. a Weibo mention carrying ``retweeted_status`` is a
    repost, a WeChat event whose ``Event`` is ``subscribe`` is a follow. Declared as data so
    analytics can test it in SQL over millions of rows; the first matching rule wins.
    """

    kind: ItemKind
    path: tuple[str, ...]
    means: str
    equals: str | None = None


@dataclass(frozen=True, slots=True)
class TieRule:
    """Where an item names another user it answers: ``path`` holds that user's uid.

    ``means`` is the tie (``reply``: a comment replying to another's comment, ``repost``:
    passing on another's post). Each path is tried in order; the first present counts.
    """

    kind: ItemKind
    means: str
    paths: tuple[tuple[str, ...], ...]


@runtime_checkable
class ProfileReader(Protocol):
    """Reads the managed account's own profile (its name as the platform shows it)."""

    def own_profile(self) -> PlatformUser: ...


@runtime_checkable
class Authorizer(Protocol):
    """OAuth2 authorization-code flow of one platform app: where to send the browser, and
    the code exchange. The ``state`` is the hub's (bound to the operator's session)."""

    def authorize_url(self, state: str) -> str: ...

    def exchange_code(self, code: str) -> Credentials:
        """The new account's credentials (its uid included, and when the token expires)."""
        ...

    def close(self) -> None: ...


Fetch = Callable[..., FetchResult]

_FETCHERS: dict[Source, str] = {
    Source.MENTIONS: "fetch_mentions",
    Source.COMMENT_MENTIONS: "fetch_comment_mentions",
    Source.COMMENTS_TO_ME: "fetch_comments_to_me",
    Source.DIRECT_MESSAGES: "fetch_direct_messages",
}


def source_fetcher(adapter: object, source: Source) -> Fetch | None:
    """The bound fetch method of ``adapter`` (or adapter class) for ``source``, or None if it
    lacks the capability; called as ``fetch(since_id, max_id=..., horizon=...)``."""
    method = getattr(adapter, _FETCHERS[source], None)
    return cast(Fetch, method) if callable(method) else None


def _need(adapter: object, capability: type[Any], what: str) -> Any:
    if not isinstance(adapter, capability):
        platform = getattr(adapter, "platform", type(adapter).__name__)
        raise Unsupported(f"{platform} cannot {what}", capability=capability.__name__)
    return adapter


def replier(adapter: object) -> Replier:
    """``adapter`` as a :class:`Replier`, or :class:`Unsupported`."""
    return cast(Replier, _need(adapter, Replier, "reply"))


def publisher(adapter: object) -> Publisher:
    return cast(Publisher, _need(adapter, Publisher, "publish"))


def direct_messenger(adapter: object) -> DirectMessenger:
    return cast(DirectMessenger, _need(adapter, DirectMessenger, "send private messages"))


def mass_sender(adapter: object) -> MassSender:
    return cast(MassSender, _need(adapter, MassSender, "mass-send by tag"))


def message_source(adapter: object) -> MessageSource:
    return cast(MessageSource, _need(adapter, MessageSource, "receive pushes"))


def sent_lookup(adapter: object) -> SentLookup:
    """``adapter`` as a :class:`SentLookup`, or :class:`Unsupported` (it cannot read back)."""
    return cast(SentLookup, _need(adapter, SentLookup, "read back what it sent"))


def media_reader(adapter: object) -> MediaReader:
    return cast(MediaReader, _need(adapter, MediaReader, "fetch media"))


def engagement_reader(adapter: object) -> EngagementReader:
    return cast(EngagementReader, _need(adapter, EngagementReader, "read engagement"))


def repost_reader(adapter: object) -> RepostReader:
    return cast(RepostReader, _need(adapter, RepostReader, "list reposts"))


def fan_graph_reader(adapter: object) -> FanGraphReader:
    return cast(FanGraphReader, _need(adapter, FanGraphReader, "read followers"))


def following_reader(adapter: object) -> FollowingReader:
    return cast(FollowingReader, _need(adapter, FollowingReader, "read followed accounts"))


@dataclass(frozen=True, slots=True)
class Credentials:
    """An account's decrypted token, handed to its adapter; never logged (kept out of repr)."""

    access_token: str = field(repr=False)
    uid: str
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PlatformConfig:
    """Typed per-platform settings from ``settings.toml`` ``[platforms.<name>]``."""

    name: str
    api_base: str
    app_key: str = ""
    app_secret: str = ""
    redirect_uri: str = ""
    timeout_seconds: float = 10.0
    max_retries: int = 3
    extra: Mapping[str, str] = field(default_factory=dict)
