"""Weibo JSON objects -> the hub's normalized dataclasses.

Everything here is pure. Optional fields are tolerated when absent; a missing required
field raises :class:`MalformedPayload` naming it (``"comment.status.id"``), never KeyError.
Ids are 64-bit: ``idstr`` is preferred because a JSON number above 2**53 loses precision
in many decoders; Python's ``int`` does not, so ``str(int(id))`` is the fallback.
Text is kept exactly as the platform gave it; escaping is the workbench's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from servicehub.adapters.base import (
    EngagementCount,
    FollowerPage,
    InboundItem,
    ItemKind,
    PlatformUser,
    RateLimitStatus,
    ReplyTarget,
    SentRef,
)
from servicehub.adapters.errors import MalformedPayload

PLATFORM = "weibo"
CST = timezone(timedelta(hours=8))  # Weibo's "+0800" wall clock
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}

Payload = Mapping[str, Any]


def _missing(field: str) -> MalformedPayload:
    return MalformedPayload(f"Weibo payload is missing required field {field!r}")


def obj(payload: Any, field: str) -> Payload:
    """``payload`` as a JSON object, or MalformedPayload naming where one was expected."""
    if not isinstance(payload, Mapping):
        raise MalformedPayload(f"Weibo payload field {field!r} is not a JSON object")
    return payload


def child(payload: Payload, key: str, field: str) -> Payload:
    value = payload.get(key)
    if value is None:
        raise _missing(f"{field}.{key}")
    return obj(value, f"{field}.{key}")


def id_value(value: Any, field: str) -> str:
    """One id as a decimal string; accepts int or digit string, rejects anything else."""
    if isinstance(value, bool) or value is None or value == "":
        raise _missing(field)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return str(int(value.strip()))
    raise MalformedPayload(f"Weibo payload field {field!r} is not an id: {value!r}")


def object_id(payload: Payload, field: str) -> str:
    """``idstr`` if present, else ``id``."""
    if payload.get("idstr") not in (None, ""):
        return id_value(payload["idstr"], f"{field}.idstr")
    return id_value(payload.get("id"), f"{field}.id")


def as_int(value: Any, default: int = 0) -> int:
    """Counts arrive as numbers or strings ("38"); anything unusable becomes ``default``."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value.strip()))
        except ValueError:
            return default
    return default


def parse_created_at(value: Any, field: str) -> datetime:
    """Parse ``"Tue May 31 17:46:55 +0800 2011"`` without depending on the process locale.

    ``strptime("%a %b ...")`` reads day and month names in the current locale, which in a
    zh_CN worker would reject every Weibo date; the names are parsed by hand instead.
    """
    if not isinstance(value, str) or not value.strip():
        raise _missing(field)
    parts = value.split()
    try:
        _weekday, month, day, clock, offset, year = parts
        hour, minute, second = (int(p) for p in clock.split(":"))
        sign = -1 if offset[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        return datetime(int(year), _MONTHS[month], int(day), hour, minute, second, tzinfo=tz)
    except (ValueError, KeyError, IndexError) as exc:
        raise MalformedPayload(f"Weibo payload field {field!r} is not a Weibo date: {value!r}") from exc


def text_of(payload: Payload, field: str) -> str:
    value = payload.get("text")
    if value is None:
        raise _missing(f"{field}.text")
    return str(value)


def user_from(payload: Any, field: str = "user") -> PlatformUser:
    """A user object (or a trimmed one) -> :class:`PlatformUser`."""
    user = obj(payload, field)
    screen_name = user.get("screen_name") or user.get("name") or ""
    avatar = user.get("avatar_large") or user.get("profile_image_url") or None
    return PlatformUser(
        platform=PLATFORM,
        uid=object_id(user, field),
        screen_name=str(screen_name),
        followers_count=as_int(user["followers_count"]) if "followers_count" in user else None,
        avatar_url=str(avatar) if avatar else None,
    )


def is_deleted(payload: Payload) -> bool:
    """Tombstones of deleted posts appear in lists with ``"deleted": "1"`` and no author."""
    return str(payload.get("deleted", "0")) == "1"


def status_to_item(payload: Any, account_uid: str, kind: ItemKind = ItemKind.MENTION) -> InboundItem:
    """A post that mentions (or reposts) the account; a reply comments on it."""
    status = obj(payload, "status")
    status_id = object_id(status, "status")
    return InboundItem(
        platform=PLATFORM,
        kind=kind,
        platform_id=status_id,
        account_uid=account_uid,
        author=user_from(child(status, "user", "status"), "status.user"),
        text=text_of(status, "status"),
        created_at=parse_created_at(status.get("created_at"), "status.created_at"),
        thread_id=status_id,
        reply_target=ReplyTarget(kind="comment_status", status_id=status_id),
        raw=status,
    )


def comment_to_item(payload: Any, account_uid: str, kind: ItemKind = ItemKind.COMMENT) -> InboundItem:
    """A comment (to the account, or mentioning it); the thread is the commented post."""
    comment = obj(payload, "comment")
    comment_id = object_id(comment, "comment")
    status_id = object_id(child(comment, "status", "comment"), "comment.status")
    return InboundItem(
        platform=PLATFORM,
        kind=kind,
        platform_id=comment_id,
        account_uid=account_uid,
        author=user_from(child(comment, "user", "comment"), "comment.user"),
        text=text_of(comment, "comment"),
        created_at=parse_created_at(comment.get("created_at"), "comment.created_at"),
        thread_id=status_id,
        reply_target=ReplyTarget(kind="reply_comment", comment_id=comment_id, status_id=status_id),
        raw=comment,
    )


def dm_to_item(payload: Any, account_uid: str) -> InboundItem:
    """A private message from ``direct_messages``; the thread is the sender."""
    dm = obj(payload, "direct_message")
    sender = dm.get("sender")
    sender_user = user_from(sender, "direct_message.sender") if isinstance(sender, Mapping) else None
    if dm.get("sender_id") in (None, "") and sender_user is not None:
        author = sender_user
    else:
        # ``sender_id`` is authoritative: the wiki sample's embedded sender has another id.
        uid = id_value(dm.get("sender_id"), "direct_message.sender_id")
        if sender_user is not None and sender_user.uid == uid:
            author = sender_user
        else:
            author = PlatformUser(
                platform=PLATFORM, uid=uid, screen_name=str(dm.get("sender_screen_name") or "")
            )
    return InboundItem(
        platform=PLATFORM,
        kind=ItemKind.PRIVATE_MESSAGE,
        platform_id=object_id(dm, "direct_message"),
        account_uid=account_uid,
        author=author,
        text=text_of(dm, "direct_message"),
        created_at=parse_created_at(dm.get("created_at"), "direct_message.created_at"),
        thread_id=author.uid,
        reply_target=ReplyTarget(kind="private_message", user_uid=author.uid),
        raw=dm,
    )


def sent_ref(payload: Any, field: str) -> SentRef:
    """What a write returned (status, comment or message object) -> :class:`SentRef`."""
    sent = obj(payload, field)
    created = sent.get("created_at")
    return SentRef(
        platform_id=object_id(sent, field),
        text=str(sent.get("text") or ""),
        created_at=parse_created_at(created, f"{field}.created_at") if created else None,
    )


def engagement_from(payload: Any) -> EngagementCount:
    """One ``statuses/count`` element; values may be strings, likes may be ``attitudes``."""
    entry = obj(payload, "statuses/count[]")
    likes = entry.get("attitudes", entry.get("likes"))
    return EngagementCount(
        platform_id=object_id(entry, "statuses/count[]"),
        reposts=as_int(entry.get("reposts")),
        comments=as_int(entry.get("comments")),
        likes=as_int(likes),
    )


def rate_limit_from(payload: Any, now: datetime | None = None) -> RateLimitStatus:
    """``account/rate_limit_status`` -> :class:`RateLimitStatus`.

    ``reset_time_in_seconds`` is relative and timezone-free, so it wins over the
    ``reset_time`` wall-clock string ("2011-06-03 18:00:00", Beijing time).
    """
    body = obj(payload, "rate_limit_status")
    now = now or datetime.now(UTC)
    if "remaining_user_hits" not in body:
        raise _missing("rate_limit_status.remaining_user_hits")
    seconds = body.get("reset_time_in_seconds")
    reset_in: float | None = None
    if seconds is not None and as_int(seconds, -1) >= 0:
        reset_in = float(as_int(seconds))
        reset_at = now + timedelta(seconds=reset_in)
    elif isinstance(body.get("reset_time"), str):
        try:
            local = datetime.strptime(body["reset_time"], "%Y-%m-%d %H:%M:%S")
        except ValueError as exc:
            raise MalformedPayload(
                f"Weibo rate_limit_status.reset_time unreadable: {body['reset_time']!r}"
            ) from exc
        reset_at = local.replace(tzinfo=CST)
    else:
        raise _missing("rate_limit_status.reset_time_in_seconds")
    return RateLimitStatus(
        remaining_user_hits=as_int(body.get("remaining_user_hits")),
        user_limit=as_int(body.get("user_limit")),
        reset_at=reset_at,
        reset_in_seconds=reset_in,
        remaining_ip_hits=as_int(body["remaining_ip_hits"]) if "remaining_ip_hits" in body else None,
    )


@dataclass(frozen=True, slots=True)
class FollowerIdPage:
    """``friendships/followers/ids``: uids only, cheaper than full user objects for graph diffs."""

    ids: list[str]
    next_cursor: int  # 0 means no more pages
    total: int


def follower_ids_from(payload: Any) -> FollowerIdPage:
    body = obj(payload, "followers/ids")
    raw_ids = body.get("ids")
    if not isinstance(raw_ids, list):
        raise _missing("followers/ids.ids")
    return FollowerIdPage(
        ids=[id_value(uid, "followers/ids.ids[]") for uid in raw_ids],
        next_cursor=as_int(body.get("next_cursor")),
        total=as_int(body.get("total_number")),
    )


def follower_page_from(payload: Any) -> FollowerPage:
    body = obj(payload, "followers")
    users = body.get("users")
    if not isinstance(users, list):
        raise _missing("followers.users")
    return FollowerPage(
        users=[user_from(user, "followers.users[]") for user in users],
        next_cursor=as_int(body.get("next_cursor")),
        total=as_int(body.get("total_number")),
    )
