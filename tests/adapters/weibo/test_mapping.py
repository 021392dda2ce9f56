"""Recorded Weibo payloads -> InboundItem / PlatformUser / counts (weibo/mapping.py)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone

import pytest

from servicehub.adapters.base import ItemKind, ReplyTarget
from servicehub.adapters.errors import MalformedPayload
from servicehub.adapters.weibo import mapping
from tests.adapters.weibo.support import ACCOUNT_UID, load_fixture

CST = timezone(timedelta(hours=8))


def test_mention_from_wiki_sample() -> None:
    status = load_fixture("mentions_wiki.json")["statuses"][0]
    item = mapping.status_to_item(status, ACCOUNT_UID)
    assert item.kind is ItemKind.MENTION
    assert item.platform == "weibo"
    assert item.platform_id == "11488058246"  # no idstr in the old sample: str(int(id))
    assert item.thread_id == "11488058246"
    assert item.reply_target == ReplyTarget(kind="comment_status", status_id="11488058246")
    assert item.account_uid == ACCOUNT_UID
    assert item.author.uid == "1404376560"
    assert item.author.screen_name == "zaku"
    assert item.author.followers_count == 1204
    assert item.author.avatar_url == "http://tp1.sinaimg.cn/1404376560/180/0/1"
    assert item.text == "求关注。"
    assert item.created_at == datetime(2011, 5, 31, 17, 46, 55, tzinfo=CST)
    assert item.raw is status


def test_real_status_prefers_idstr() -> None:
    item = mapping.status_to_item(load_fixture("status_user_timeline_real.json"), ACCOUNT_UID)
    assert item.platform_id == "3821898536514864"
    assert item.author.uid == "5554103544"
    assert item.text == "#我的第一条微博#"


def test_idstr_wins_when_the_number_lost_precision() -> None:
    # The wiki's share sample: id 3504803600500000 (rounded), idstr "3504803600502730".
    assert mapping.sent_ref(load_fixture("share_wiki.json"), "status").platform_id == "3504803600502730"


def test_ids_above_2_53() -> None:
    status = load_fixture("status_user_timeline_real.json")
    status["id"] = 9007199254740992  # what a float64 decoder makes of ...993
    status["idstr"] = "9007199254740993"
    assert mapping.status_to_item(status, ACCOUNT_UID).platform_id == "9007199254740993"
    del status["idstr"]
    status["id"] = 2**63 - 1
    assert mapping.status_to_item(status, ACCOUNT_UID).platform_id == str(2**63 - 1)


def test_comment_to_me_from_real_2014_response() -> None:
    comment = load_fixture("comments_show_real.json")["comments"][0]
    item = mapping.comment_to_item(comment, ACCOUNT_UID)
    assert item.kind is ItemKind.COMMENT
    assert item.platform_id == "3763139219216762"
    assert item.thread_id == "3763000496676483"  # the commented post
    assert item.reply_target == ReplyTarget(
        kind="reply_comment", comment_id="3763139219216762", status_id="3763000496676483"
    )
    assert item.author.screen_name == "_Iambda"
    assert item.text == "来看只能我来了"


def test_comment_mention_kind_from_wiki_sample() -> None:
    comment = load_fixture("comments_wiki.json")["comments"][0]
    item = mapping.comment_to_item(comment, ACCOUNT_UID, ItemKind.COMMENT_MENTION)
    assert item.kind is ItemKind.COMMENT_MENTION
    assert (item.platform_id, item.thread_id) == ("12438492184", "11488058246")


def test_direct_message_thread_is_the_sender() -> None:
    dm = load_fixture("direct_messages_wiki.json")["direct_messages"][0]
    item = mapping.dm_to_item(dm, ACCOUNT_UID)
    assert item.kind is ItemKind.PRIVATE_MESSAGE
    assert item.platform_id == "3332910801173380"
    # sender_id is authoritative; the wiki's embedded sender object carries another id
    assert item.author.uid == "4294917290"
    assert item.author.screen_name == "sso20333333333"
    assert item.thread_id == "4294917290"
    assert item.reply_target == ReplyTarget(kind="private_message", user_uid="4294917290")


def test_direct_message_uses_sender_object_when_it_matches() -> None:
    dm = load_fixture("direct_messages_wiki.json")["direct_messages"][0]
    dm["sender_id"] = dm["sender"]["id"]
    assert mapping.dm_to_item(dm, ACCOUNT_UID).author.screen_name == "jkl0000"
    del dm["sender_id"]
    assert mapping.dm_to_item(dm, ACCOUNT_UID).author.uid == "1734528095"


@pytest.mark.parametrize(
    ("remove", "field"),
    [
        (("id",), "status.id"),
        (("user",), "status.user"),
        (("created_at",), "status.created_at"),
        (("text",), "status.text"),
        (("user", "id"), "status.user.id"),
    ],
)
def test_missing_required_status_field_is_named(remove: tuple[str, ...], field: str) -> None:
    status = copy.deepcopy(load_fixture("mentions_wiki.json")["statuses"][0])
    target = status
    for key in remove[:-1]:
        target = target[key]
    del target[remove[-1]]
    with pytest.raises(MalformedPayload) as info:
        mapping.status_to_item(status, ACCOUNT_UID)
    assert repr(field) in str(info.value)


def test_missing_comment_status_is_named() -> None:
    comment = load_fixture("comments_show_real.json")["comments"][0]
    del comment["status"]
    with pytest.raises(MalformedPayload, match=r"'comment\.status'"):
        mapping.comment_to_item(comment, ACCOUNT_UID)


def test_optional_fields_may_be_missing() -> None:
    status = {
        "id": 1,
        "created_at": "Wed Jun 01 00:50:25 +0800 2011",
        "text": "",
        "user": {"idstr": "42"},
    }
    item = mapping.status_to_item(status, ACCOUNT_UID)
    assert item.author.screen_name == ""
    assert item.author.followers_count is None  # not said: the stored count is kept
    assert item.author.avatar_url is None


@pytest.mark.parametrize("bad", ["yesterday", "Wed Foo 01 00:50:25 +0800 2011", "", None, 1306860625])
def test_unreadable_dates(bad: object) -> None:
    with pytest.raises(MalformedPayload, match="created_at"):
        mapping.parse_created_at(bad, "status.created_at")


def test_dates_do_not_depend_on_the_process_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a zh_CN worker strptime's %a/%b reject "Tue"/"May"; simulate that locale."""
    import _strptime

    def zh_cn_strptime(*args: object) -> object:
        raise ValueError("time data does not match format (locale zh_CN)")

    monkeypatch.setattr(_strptime, "_strptime_datetime", zh_cn_strptime)
    parsed = mapping.parse_created_at("Tue May 31 17:46:55 +0800 2011", "created_at")
    assert parsed.astimezone(UTC) == datetime(2011, 5, 31, 9, 46, 55, tzinfo=UTC)


def test_non_object_payload() -> None:
    with pytest.raises(MalformedPayload, match="not a JSON object"):
        mapping.status_to_item(["not", "an", "object"], ACCOUNT_UID)


def test_bad_id_value() -> None:
    with pytest.raises(MalformedPayload, match="not an id"):
        mapping.id_value("12ab", "status.id")
    with pytest.raises(MalformedPayload, match="not an id"):
        mapping.id_value("²", "status.id")


def test_users_show() -> None:
    user = mapping.user_from(load_fixture("users_show_wiki.json"))
    assert (user.uid, user.screen_name, user.followers_count) == ("1404376560", "zaku", 1204)


def test_engagement_string_values_and_likes() -> None:
    [count] = [mapping.engagement_from(e) for e in load_fixture("statuses_count_biz_wiki.json")]
    assert (count.platform_id, count.reposts, count.comments, count.likes) == ("32817222", 38, 16, 38)


def test_engagement_int_values_and_attitudes() -> None:
    [count] = [mapping.engagement_from(e) for e in load_fixture("statuses_count_2020_constructed.json")]
    assert (count.platform_id, count.reposts, count.comments, count.likes) == ("4900000000000001", 5, 3, 12)


def test_rate_limit_status_samples() -> None:
    now = datetime(2011, 6, 3, 9, 36, 25, tzinfo=UTC)
    wiki = mapping.rate_limit_from(load_fixture("rate_limit_status_wiki.json"), now)
    assert (wiki.remaining_user_hits, wiki.user_limit) == (150, 150)
    assert wiki.reset_at == now + timedelta(seconds=1415)
    spring = mapping.rate_limit_from(load_fixture("rate_limit_status_spring.json"), now)
    assert (spring.remaining_user_hits, spring.user_limit) == (149, 150)


def test_rate_limit_reset_time_string_is_beijing_time() -> None:
    body = load_fixture("rate_limit_status_wiki.json")
    del body["reset_time_in_seconds"]
    status = mapping.rate_limit_from(body)
    assert status.reset_at == datetime(2011, 6, 3, 10, 0, tzinfo=UTC)  # 18:00 +0800


def test_followers_page_from_wiki_sample() -> None:
    page = mapping.follower_page_from(load_fixture("followers_wiki.json"))
    assert [u.uid for u in page.users] == ["321205008"]
    assert page.users[0].screen_name == "江湖社***"
    assert (page.next_cursor, page.total) == (1, 35)
