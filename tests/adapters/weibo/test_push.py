"""Fans-service push: signature, URL verification and JSON message parsing (weibo/push.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from servicehub.adapters.base import ItemKind, ReplyTarget
from servicehub.adapters.errors import MalformedPayload
from servicehub.adapters.weibo.client import WeiboAdapter
from servicehub.adapters.weibo.push import push_signature, verify_signature
from tests.adapters.weibo.support import ACCOUNT_UID, FIXTURES, NOW, load_fixture

SECRET = "app-secret"  # make_config's app_secret
JSON = "application/json"


def signed(timestamp: datetime = NOW, nonce: str = "461743", secret: str = SECRET) -> dict[str, str]:
    ts = str(int(timestamp.timestamp()))
    return {"signature": push_signature(secret, ts, nonce), "timestamp": ts, "nonce": nonce}


def test_signature_is_sha1_of_sorted_parts() -> None:
    # sorted(["app-secret", "1714566600", "461743"]) -> "1714566600", "461743", "app-secret"
    import hashlib

    assert (
        push_signature(SECRET, "1714566600", "461743")
        == hashlib.sha1(b"1714566600461743app-secret").hexdigest()
    )


def test_valid_signature(adapter: WeiboAdapter) -> None:
    assert adapter.verify_push(signed())


def test_uppercase_hex_is_accepted() -> None:
    params = signed()
    params["signature"] = params["signature"].upper()
    assert verify_signature(SECRET, params, now=NOW)


@pytest.mark.parametrize(
    "params",
    [
        signed(secret="another-secret"),
        {**signed(), "nonce": "tampered"},
        {**signed(), "signature": ""},
        {k: v for k, v in signed().items() if k != "timestamp"},
        {**signed(), "timestamp": "yesterday"},
        {},
    ],
)
def test_invalid_signature(adapter: WeiboAdapter, params: dict[str, str]) -> None:
    assert not adapter.verify_push(params)


@pytest.mark.parametrize("skew", [timedelta(minutes=6), -timedelta(minutes=6), timedelta(days=3)])
def test_stale_or_future_timestamp_is_refused(adapter: WeiboAdapter, skew: timedelta) -> None:
    params = signed(NOW - skew)
    assert verify_signature(SECRET, params, now=NOW - skew)  # the signature itself is fine
    assert not adapter.verify_push(params)


def test_timestamp_within_the_window_is_accepted(adapter: WeiboAdapter) -> None:
    assert adapter.verify_push(signed(NOW - timedelta(minutes=4)))


def test_echo_for_url_verification(adapter: WeiboAdapter) -> None:
    assert adapter.echo({**signed(), "echostr": "8492184"}) == "8492184"
    assert adapter.echo({**signed(secret="x"), "echostr": "8492184"}) is None
    assert adapter.echo(signed()) is None


def test_parse_text_message(adapter: WeiboAdapter) -> None:
    [item] = adapter.parse_push((FIXTURES / "push_text.json").read_bytes(), JSON)
    assert item.kind is ItemKind.PRIVATE_MESSAGE
    assert item.text == "the content of a general message"
    assert item.author.uid == "2489518277"
    assert item.account_uid == ACCOUNT_UID
    assert item.thread_id == "2489518277"
    assert item.reply_target == ReplyTarget(kind="private_message", user_uid="2489518277")
    assert item.created_at == datetime(2012, 7, 16, 18, 9, 20, tzinfo=timezone(timedelta(hours=8)))


def test_retried_push_keeps_its_id_and_different_pushes_differ(adapter: WeiboAdapter) -> None:
    body = (FIXTURES / "push_text.json").read_bytes()
    [first] = adapter.parse_push(body, JSON)
    [again] = adapter.parse_push(body, JSON)
    other = load_fixture("push_text.json") | {"text": "another message in the same second"}
    [different] = adapter.parse_push(json.dumps(other).encode(), JSON)
    assert first.platform_id == again.platform_id
    assert first.platform_id != different.platform_id
    assert first.platform_id.startswith("push-2489518277-")


def test_parse_follow_event(adapter: WeiboAdapter) -> None:
    [item] = adapter.parse_push(
        (FIXTURES / "push_event_follow.json").read_bytes(), "application/json; charset=utf-8"
    )
    assert item.kind is ItemKind.EVENT
    assert item.text == "关注事件消息"
    assert item.raw["data"] == {"subtype": "follow"}


def test_parse_generic_event(adapter: WeiboAdapter) -> None:
    [item] = adapter.parse_push((FIXTURES / "push_event_generic_wiki.json").read_bytes(), JSON)
    assert item.kind is ItemKind.EVENT


def test_parse_status_mention_uses_the_status_id(adapter: WeiboAdapter) -> None:
    [item] = adapter.parse_push((FIXTURES / "push_mention_inferred.json").read_bytes(), JSON)
    assert item.kind is ItemKind.MENTION
    assert item.platform_id == "3700057402482222"  # dedupes against statuses/mentions polling
    assert item.reply_target == ReplyTarget(kind="comment_status", status_id="3700057402482222")


def test_parse_comment_mention(adapter: WeiboAdapter) -> None:
    message = load_fixture("push_mention_inferred.json")
    message["data"] = {"subtype": "comment", "key": "4100000000000001"}
    [item] = adapter.parse_push(json.dumps(message).encode(), JSON)
    assert item.kind is ItemKind.COMMENT_MENTION
    assert item.reply_target == ReplyTarget(kind="reply_comment", comment_id="4100000000000001")


@pytest.mark.parametrize(
    "message",
    [
        {"type": "articles"},
        {"type": "mention", "data": {"subtype": "something_new", "key": "1"}},
    ],
)
def test_unknown_types_are_ignored(adapter: WeiboAdapter, message: dict[str, object]) -> None:
    body = load_fixture("push_text.json") | message
    assert adapter.parse_push(json.dumps(body).encode(), JSON) == []


def test_position_message_is_a_private_message(adapter: WeiboAdapter) -> None:
    body = load_fixture("push_text.json") | {
        "type": "position",
        "text": "发送了一个位置",
        "data": {"longitude": "116.3", "latitude": "39.9"},
    }
    [item] = adapter.parse_push(json.dumps(body, ensure_ascii=False).encode(), JSON)
    assert (item.kind, item.text) == (ItemKind.PRIVATE_MESSAGE, "发送了一个位置")


def test_list_of_messages(adapter: WeiboAdapter) -> None:
    messages = [load_fixture("push_text.json"), {"type": "unknown"}, load_fixture("push_event_follow.json")]
    items = adapter.parse_push(json.dumps(messages).encode(), JSON)
    assert [i.kind for i in items] == [ItemKind.PRIVATE_MESSAGE, ItemKind.EVENT]


def test_not_json(adapter: WeiboAdapter) -> None:
    with pytest.raises(MalformedPayload, match="not JSON") as info:
        adapter.parse_push(b"<xml>oops", "text/plain")
    assert info.value.body == "<xml>oops"


def test_xml_format_is_explained(adapter: WeiboAdapter) -> None:
    with pytest.raises(MalformedPayload, match="set_format"):
        adapter.parse_push(b"<xml><ToUserName/></xml>", "text/xml")


@pytest.mark.parametrize(
    ("field", "named"), [("sender_id", "push.sender_id"), ("created_at", "push.created_at")]
)
def test_missing_fields_are_named(adapter: WeiboAdapter, field: str, named: str) -> None:
    body = load_fixture("push_text.json")
    del body[field]
    with pytest.raises(MalformedPayload, match=named.replace(".", r"\.")):
        adapter.parse_push(json.dumps(body).encode(), JSON)


def test_mention_without_key(adapter: WeiboAdapter) -> None:
    body = load_fixture("push_mention_inferred.json")
    del body["data"]["key"]
    with pytest.raises(MalformedPayload, match=r"push\.data\.key"):
        adapter.parse_push(json.dumps(body).encode(), JSON)


def test_verify_uses_real_time_by_default() -> None:
    fresh = signed(datetime.now(UTC))
    assert verify_signature(SECRET, fresh)
