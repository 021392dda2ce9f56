"""An in-memory platform adapter for unit tests of the listener, routing and outbox.

Installed through the adapter registry (the same seam real adapters use), so the code
under test builds it exactly as it would build the Weibo adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from servicehub.adapters import registry
from servicehub.adapters.base import (
    Credentials,
    FetchResult,
    Horizon,
    InboundItem,
    MediaRef,
    MediaStream,
    PlatformConfig,
    PostImage,
    ReplyTarget,
    SentRef,
)
from servicehub.adapters.errors import PlatformError


@dataclass
class FakePlatform:
    """State shared by every adapter built while installed: what customers said, what we sent."""

    mentions: list[InboundItem] = field(default_factory=list)
    sent: list[tuple[str, ReplyTarget, str]] = field(default_factory=list)
    fail_next: list[PlatformError] = field(default_factory=list)
    # Sends that are carried out and then answered with this error (a lost acknowledgement).
    lose_ack_next: list[PlatformError] = field(default_factory=list)
    lookup_fails: list[PlatformError] = field(default_factory=list)
    lookup_misses: int = 0  # lookups that do not see what was sent yet (the platform lags)
    lookups: int = 0
    fetches: int = 0
    blind: bool = False  # True: the platform cannot read back what was sent (no SentLookup)
    pictures: list[PostImage] = field(default_factory=list)  # posted with posts, in order

    def adapter(self, config: PlatformConfig, creds: Credentials, transport: object) -> FakeAdapter:
        return (BlindFakeAdapter if self.blind else LookingFakeAdapter)(self, creds)


class FakeAdapter:
    platform = "weibo"

    def __init__(self, fake: FakePlatform, creds: Credentials) -> None:
        self.fake = fake
        self.creds = creds

    def close(self) -> None:
        pass

    def _raise_if_told(self) -> None:
        if self.fake.fail_next:
            raise self.fake.fail_next.pop(0)

    def fetch_mentions(
        self, since_id: str | None, max_id: str | None = None, *, horizon: Horizon | None = None
    ) -> FetchResult:
        self._raise_if_told()
        self.fake.fetches += 1
        items = [i for i in self.fake.mentions if not since_id or int(i.platform_id) > int(since_id)]
        items.sort(key=lambda i: int(i.platform_id), reverse=True)
        return FetchResult(items=items, newest_id=items[0].platform_id if items else since_id)

    def fetch_comment_mentions(
        self, since_id: str | None, max_id: str | None = None, *, horizon: Horizon | None = None
    ) -> FetchResult:
        return FetchResult(items=[], newest_id=since_id)

    def fetch_comments_to_me(
        self, since_id: str | None, max_id: str | None = None, *, horizon: Horizon | None = None
    ) -> FetchResult:
        return FetchResult(items=[], newest_id=since_id)

    def reply(self, target: ReplyTarget, text: str, *, client_ip: str | None = None) -> SentRef:
        self._raise_if_told()
        self.fake.sent.append((self.creds.access_token, target, text))
        if self.fake.lose_ack_next:
            raise self.fake.lose_ack_next.pop(0)
        return SentRef(
            platform_id=str(5_000_000 + len(self.fake.sent)), text=text, created_at=datetime.now(UTC)
        )

    def publish_post(
        self, text: str, *, client_ip: str | None = None, image: PostImage | None = None
    ) -> SentRef:
        ref = self.reply(ReplyTarget(kind="post"), text)
        if image is not None:
            self.fake.pictures.append(image)
        return ref

    def send_direct_message(self, user_uid: str, text: str, *, client_ip: str | None = None) -> SentRef:
        return self.reply(ReplyTarget(kind="private_message", user_uid=user_uid), text)

    def open_media(self, media: MediaRef) -> MediaStream:
        """Every attachment is a tiny picture of its own media id."""
        return MediaStream("image/png", iter([b"\x89PNG", media.media_id.encode()]), lambda: None)


class BlindFakeAdapter(FakeAdapter):
    """A platform whose own writes cannot be read back (WeChat customer-service messages)."""


class LookingFakeAdapter(FakeAdapter):
    def find_sent(self, target: ReplyTarget, text: str, since: datetime) -> SentRef | None:
        self.fake.lookups += 1
        if self.fake.lookup_fails:
            raise self.fake.lookup_fails.pop(0)
        if self.fake.lookup_misses:
            self.fake.lookup_misses -= 1
            return None
        for number, (_, sent_target, sent_text) in enumerate(self.fake.sent, start=1):
            if sent_target == target and sent_text == text:
                return SentRef(platform_id=str(5_000_000 + number), text=text)
        return None


def install(monkeypatch: pytest.MonkeyPatch, platform: str = "weibo") -> FakePlatform:
    fake = FakePlatform()
    monkeypatch.setitem(registry.FACTORIES, platform, fake.adapter)
    return fake


def ids(items: Sequence[InboundItem]) -> list[str]:
    return [i.platform_id for i in items]
