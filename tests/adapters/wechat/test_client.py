"""The adapter's HTTP side against a scripted WeChat (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from servicehub.adapters.base import (
    CommentSource,
    Credentials,
    DirectMessenger,
    MediaRef,
    MentionSource,
    MessageSource,
    Publisher,
    Replier,
    ReplyTarget,
    Source,
    source_fetcher,
)
from servicehub.adapters.errors import (
    MalformedPayload,
    NeverSent,
    NotFound,
    RateLimited,
    Rejected,
    TokenExpired,
    Unavailable,
    WindowClosed,
)
from servicehub.adapters.registry import build_adapter
from servicehub.adapters.wechat import TEXT_LIMIT_BYTES, WeChatAdapter

MakeAdapter = Callable[..., WeChatAdapter]
SEND = "/cgi-bin/message/custom/send"
TOKEN = "/cgi-bin/token"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
TARGET = ReplyTarget(kind="private_message", user_uid=OPENID)


def err(code: int, msg: str = "") -> dict[str, Any]:
    return {"errcode": code, "errmsg": msg}


def sent_tokens(fake: Any) -> list[str]:
    return [r.url.params["access_token"] for r in fake.calls(SEND)]


def test_capabilities_are_pushes_replies_and_direct_messages(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    assert isinstance(adapter, MessageSource)
    assert isinstance(adapter, Replier)
    assert not isinstance(adapter, MentionSource)
    assert not isinstance(adapter, CommentSource)
    assert not isinstance(adapter, Publisher)  # an official account has no timeline to post on
    assert isinstance(adapter, DirectMessenger)
    assert all(source_fetcher(adapter, source) is None for source in Source)


def test_registry_builds_the_wechat_adapter(wx: Any, fake: Any) -> None:
    adapter = build_adapter(wx.config(), Credentials("", "gh_x"), httpx.MockTransport(fake))
    assert isinstance(adapter, WeChatAdapter)
    adapter.close()


def test_reply_posts_utf8_json_to_custom_send(make_adapter: MakeAdapter, fake: Any, wx: Any) -> None:
    ref = make_adapter().reply(TARGET, "您好，已为您报修")
    [token_call] = fake.calls(TOKEN)
    assert dict(token_call.url.params) == {
        "grant_type": "client_credential",
        "appid": wx.appid,
        "secret": wx.secret,
    }
    [send] = fake.calls(SEND)
    assert send.method == "POST"
    assert send.url.params["access_token"] == "T1"
    assert "您好".encode() in send.content  # ensure_ascii=False: the characters, not \\u escapes
    assert json.loads(send.content) == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": "您好，已为您报修"},
    }
    assert send.headers["content-type"].startswith("application/json")
    assert ref.text == "您好，已为您报修"
    assert ref.platform_id.startswith("wx-local-")


def test_token_is_cached_between_calls(make_adapter: MakeAdapter, fake: Any, clock: Any) -> None:
    adapter = make_adapter()
    adapter.reply(TARGET, "一")
    clock.now += 6000
    adapter.reply(TARGET, "二")
    assert len(fake.calls(TOKEN)) == 1
    assert sent_tokens(fake) == ["T1", "T1"]


def test_token_is_refreshed_ahead_of_expiry(make_adapter: MakeAdapter, fake: Any, clock: Any) -> None:
    adapter = make_adapter()
    adapter.reply(TARGET, "一")
    clock.now += 7200 - 299  # within the last five minutes of its life
    adapter.reply(TARGET, "二")
    assert sent_tokens(fake) == ["T1", "T2"]


def test_stored_token_is_used_until_near_expiry(make_adapter: MakeAdapter, fake: Any, clock: Any) -> None:
    expires = datetime.fromtimestamp(clock.now, UTC) + timedelta(hours=1)
    adapter = make_adapter(Credentials(access_token="STORED", uid="gh_x", expires_at=expires))
    adapter.reply(TARGET, "一")
    clock.now += 3600 - 200
    adapter.reply(TARGET, "二")
    assert sent_tokens(fake) == ["STORED", "T1"]


@pytest.mark.parametrize("code", [40001, 42001, 40014])
def test_stale_token_is_refreshed_and_the_call_retried_once(
    make_adapter: MakeAdapter, fake: Any, code: int
) -> None:
    fake.script(SEND, err(code, "access_token expired"))
    make_adapter().reply(TARGET, "你好")
    assert sent_tokens(fake) == ["T1", "T2"]


def test_token_refused_again_after_refresh_is_token_expired(make_adapter: MakeAdapter, fake: Any) -> None:
    fake.script(SEND, err(40001), err(40001))
    with pytest.raises(TokenExpired) as caught:
        make_adapter().reply(TARGET, "你好")
    assert caught.value.code == 40001
    assert sent_tokens(fake) == ["T1", "T2"]  # exactly one refresh, one retry


@pytest.mark.parametrize("code", [40125, 40013])
def test_refused_appsecret_is_token_expired_without_sending(
    make_adapter: MakeAdapter, fake: Any, code: int
) -> None:
    fake.script(TOKEN, err(code, "invalid appsecret"))
    with pytest.raises(TokenExpired, match="appid/appsecret"):
        make_adapter().reply(TARGET, "你好")
    assert fake.calls(SEND) == []


def test_closed_48_hour_window_is_rejected_with_a_clear_message(make_adapter: MakeAdapter, fake: Any) -> None:
    fake.script(SEND, err(45015, "response out of time limit or subscription is canceled"))
    with pytest.raises(Rejected) as caught:
        make_adapter().reply(TARGET, "抱歉久等")
    assert caught.value.code == 45015
    assert "48-hour" in str(caught.value)
    assert len(fake.calls(SEND)) == 1  # not retried: it would be refused again


@pytest.mark.parametrize(("code", "minutes"), [(45011, 1)])
def test_minute_quota_is_rate_limited_for_a_minute(
    make_adapter: MakeAdapter, fake: Any, clock: Any, code: int, minutes: int
) -> None:
    fake.script(SEND, err(code, "api minute-quota reach limit"))
    with pytest.raises(RateLimited) as caught:
        make_adapter().reply(TARGET, "你好")
    assert caught.value.reset_at == datetime.fromtimestamp(clock.now, UTC) + timedelta(minutes=minutes)


def test_daily_quota_is_rate_limited_until_beijing_midnight(
    make_adapter: MakeAdapter, fake: Any, clock: Any
) -> None:
    clock.now = datetime(2024, 5, 1, 20, 30, tzinfo=UTC).timestamp()  # 04:30 on 2 May in Beijing
    fake.script(SEND, err(45009, "reach max api daily quota limit"))
    with pytest.raises(RateLimited) as caught:
        make_adapter().reply(TARGET, "你好")
    assert caught.value.reset_at == datetime(2024, 5, 2, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "error"),
    [(40003, NotFound), (45047, WindowClosed), (45015, WindowClosed), (43004, Rejected), (99999, Rejected)],
)
def test_other_errcodes_map_once(
    make_adapter: MakeAdapter, fake: Any, code: int, error: type[Exception]
) -> None:
    fake.script(SEND, err(code, "nope"))
    with pytest.raises(error) as caught:
        make_adapter().reply(TARGET, "你好")
    assert type(caught.value) is error
    assert "nope" in str(caught.value)


def test_system_busy_on_send_is_unavailable_and_not_retried(make_adapter: MakeAdapter, fake: Any) -> None:
    fake.script(SEND, err(-1, "system error"))
    with pytest.raises(Unavailable):
        make_adapter().reply(TARGET, "你好")
    assert len(fake.calls(SEND)) == 1  # the message may have gone out: never sent twice


def test_server_error_on_send_is_unavailable_and_not_retried(make_adapter: MakeAdapter, fake: Any) -> None:
    fake.script(SEND, httpx.Response(502, text="bad gateway"))
    with pytest.raises(Unavailable):
        make_adapter().reply(TARGET, "你好")
    assert len(fake.calls(SEND)) == 1


def test_send_that_never_connected_is_retried(make_adapter: MakeAdapter, fake: Any, clock: Any) -> None:
    fake.script(SEND, httpx.ConnectError("refused"))
    make_adapter().reply(TARGET, "你好")
    assert len(fake.calls(SEND)) == 2
    assert clock.sleeps == [0.5]


def test_send_that_timed_out_reading_is_not_retried(make_adapter: MakeAdapter, fake: Any) -> None:
    fake.script(SEND, httpx.ReadTimeout("slow"))
    with pytest.raises(Unavailable, match="ReadTimeout"):
        make_adapter().reply(TARGET, "你好")
    assert len(fake.calls(SEND)) == 1


def test_token_fetch_is_retried_with_growing_backoff(
    make_adapter: MakeAdapter, fake: Any, clock: Any
) -> None:
    fake.script(TOKEN, err(-1, "system error"), httpx.Response(503), httpx.ReadTimeout("slow"))
    with pytest.raises(Unavailable):
        make_adapter().reply(TARGET, "你好")
    assert len(fake.calls(TOKEN)) == 3  # 1 + max_retries (2)
    assert clock.sleeps == [0.5, 1.0]
    fake.script(TOKEN, err(-1))
    make_adapter().reply(TARGET, "你好")  # a busy answer followed by a good one succeeds


def test_backoff_is_jittered(wx: Any, fake: Any) -> None:
    sleeps: list[float] = []
    rolls = iter([0.0, 0.999])
    fake.script(TOKEN, err(-1), err(-1))
    adapter = WeChatAdapter(
        wx.config(),
        Credentials("", "gh"),
        transport=httpx.MockTransport(fake),
        sleep=sleeps.append,
        rng=lambda: next(rolls),
    )
    adapter.reply(TARGET, "你好")
    adapter.close()
    assert sleeps == [pytest.approx(0.25), pytest.approx(1.499)]  # 0.5 * 2**n * (0.5 + roll)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.Response(200, json=[1]),
        httpx.Response(200, json={"errcode": "x"}),
    ],
)
def test_non_json_answers_are_malformed(make_adapter: MakeAdapter, fake: Any, answer: httpx.Response) -> None:
    fake.script(SEND, answer)
    with pytest.raises(MalformedPayload):
        make_adapter().reply(TARGET, "你好")


def test_token_answer_without_token_is_malformed(make_adapter: MakeAdapter, fake: Any) -> None:
    fake.script(TOKEN, {"expires_in": 7200})
    with pytest.raises(MalformedPayload):
        make_adapter().reply(TARGET, "你好")


def test_errors_never_carry_the_secret_or_token(make_adapter: MakeAdapter, fake: Any, wx: Any) -> None:
    fake.script(
        TOKEN, httpx.ConnectError(f"cannot reach https://api.weixin.qq.com/cgi-bin/token?secret={wx.secret}")
    )
    fake.script(TOKEN, httpx.ConnectError("again"), httpx.ConnectError("again"))
    with pytest.raises(Unavailable) as caught:
        make_adapter().reply(TARGET, "你好")
    assert wx.secret not in str(caught.value)
    assert caught.value.request == TOKEN


def test_text_limit_is_checked_before_sending(make_adapter: MakeAdapter, fake: Any) -> None:
    adapter = make_adapter()
    at_limit = "好" * (TEXT_LIMIT_BYTES // 3) + "ab"  # 682 * 3 + 2 = 2048 bytes
    adapter.reply(TARGET, at_limit)
    with pytest.raises(Rejected, match="2049 bytes"):
        adapter.reply(TARGET, at_limit + "c")
    with pytest.raises(Rejected, match="empty"):
        adapter.reply(TARGET, "  ")
    assert len(fake.calls(SEND)) == 1


@pytest.mark.parametrize(
    "target",
    [ReplyTarget(kind="comment_status", status_id="1"), ReplyTarget(kind="private_message", user_uid=None)],
)
def test_reply_targets_other_than_a_user_are_rejected(
    make_adapter: MakeAdapter, fake: Any, target: ReplyTarget
) -> None:
    with pytest.raises(Rejected, match="customer-service message"):
        make_adapter().reply(target, "你好")
    assert fake.requests == []


def test_send_direct_message_uses_the_same_call(make_adapter: MakeAdapter, fake: Any) -> None:
    make_adapter().send_direct_message(OPENID, "账单已发送")
    [send] = fake.calls(SEND)
    assert json.loads(send.content)["touser"] == OPENID


MEDIA = "/cgi-bin/media/get"


def _read(stream: Any) -> bytes:
    try:
        return b"".join(stream.chunks)
    finally:
        stream.close()


def test_open_media_streams_the_file_and_refreshes_a_stale_token_once(
    make_adapter: MakeAdapter, fake: Any
) -> None:
    fake.script(
        MEDIA,
        err(40001, "invalid credential, access_token is invalid or not latest"),
        httpx.Response(200, content=b"\xff\xd8jpeg", headers={"Content-Type": "image/jpeg"}),
    )
    stream = make_adapter().open_media(MediaRef("image", "m1"))
    assert stream.content_type == "image/jpeg" and _read(stream) == b"\xff\xd8jpeg"
    assert [r.url.params["access_token"] for r in fake.calls(MEDIA)] == ["T1", "T2"]
    assert fake.calls(MEDIA)[0].url.params["media_id"] == "m1"


def test_open_media_follows_a_videos_download_link(make_adapter: MakeAdapter, fake: Any) -> None:
    fake.script(MEDIA, {"video_url": "http://mmbiz.example/video/v1.mp4"})
    fake.script("/video/v1.mp4", httpx.Response(200, content=b"mp4", headers={"Content-Type": "video/mp4"}))
    stream = make_adapter().open_media(MediaRef("video", "v1"))
    assert stream.content_type == "video/mp4" and _read(stream) == b"mp4"


def test_expired_media_is_not_found(make_adapter: MakeAdapter, fake: Any) -> None:
    fake.script(MEDIA, err(40007, "invalid media_id"))
    with pytest.raises(NotFound):
        make_adapter().open_media(MediaRef("image", "gone"))


def test_a_send_that_never_left_is_never_sent_and_one_that_did_is_ambiguous(
    make_adapter: MakeAdapter, fake: Any
) -> None:
    fake.script(SEND, httpx.ConnectError("refused"), {"errcode": 0, "errmsg": "ok"})
    make_adapter().reply(TARGET, "你好")  # retried: it provably never left
    fake.script(SEND, httpx.ReadTimeout("slow"))
    with pytest.raises(Unavailable) as caught:
        make_adapter().reply(TARGET, "你好")
    assert not isinstance(caught.value, NeverSent)  # may have arrived: the outbox must not resend
