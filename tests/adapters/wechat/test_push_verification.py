"""Push signatures, the GET echo, replay age and safe-mode msg_signature."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from servicehub.adapters.wechat.client import WeChatAdapter
from servicehub.adapters.wechat.crypto import MessageCrypto
from servicehub.adapters.wechat.signing import sign

MakeAdapter = Callable[..., WeChatAdapter]


def expected_signature(*parts: str) -> str:
    # Written out independently of the code under test: sort, join, sha1, hex.
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signed(token: str, timestamp: str, nonce: str = "1234567") -> dict[str, str]:
    return {"signature": expected_signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


def test_sign_matches_wechat_recipe() -> None:
    # sorted(["token", "1409304348", "xxxxxx"]) -> "1409304348" + "token" + "xxxxxx"
    assert sign("token", "1409304348", "xxxxxx") == hashlib.sha1(b"1409304348tokenxxxxxx").hexdigest()


def test_valid_signature_is_accepted(make_adapter: MakeAdapter, wx: Any) -> None:
    adapter = make_adapter()
    assert adapter.verify_push(signed(wx.push_token, str(int(wx.now))))


def test_uppercase_hex_signature_is_accepted(make_adapter: MakeAdapter, wx: Any) -> None:
    params = signed(wx.push_token, str(int(wx.now)))
    params["signature"] = params["signature"].upper()
    assert make_adapter().verify_push(params)


@pytest.mark.parametrize(
    "tamper",
    [
        {"signature": "0" * 40},
        {"nonce": "7654321"},  # signature no longer covers these values
        {"timestamp": "1700000001"},
    ],
)
def test_tampered_signature_is_refused(make_adapter: MakeAdapter, wx: Any, tamper: dict[str, str]) -> None:
    params = {**signed(wx.push_token, str(int(wx.now))), **tamper}
    assert not make_adapter().verify_push(params)


def test_signature_with_another_token_is_refused(make_adapter: MakeAdapter, wx: Any) -> None:
    assert not make_adapter().verify_push(signed("someone-elses-token", str(int(wx.now))))


@pytest.mark.parametrize("missing", ["signature", "timestamp", "nonce"])
def test_missing_parameter_is_refused(make_adapter: MakeAdapter, wx: Any, missing: str) -> None:
    params = signed(wx.push_token, str(int(wx.now)))
    del params[missing]
    assert not make_adapter().verify_push(params)


def test_empty_configured_token_refuses_everything(make_adapter: MakeAdapter, wx: Any) -> None:
    adapter = make_adapter(token="")
    assert not adapter.verify_push(signed("", str(int(wx.now))))


def test_old_signed_url_cannot_be_replayed(make_adapter: MakeAdapter, wx: Any, clock: Any) -> None:
    adapter = make_adapter()
    params = signed(wx.push_token, str(int(wx.now)))
    clock.now += 299
    assert adapter.verify_push(params)
    clock.now += 2
    assert not adapter.verify_push(params)


def test_replay_window_can_be_disabled(make_adapter: MakeAdapter, wx: Any) -> None:
    adapter = make_adapter(max_push_age_seconds="0")
    params = signed(wx.push_token, "1000")
    assert adapter.verify_push(params)


def test_echo_returns_echostr_only_when_signed(make_adapter: MakeAdapter, wx: Any) -> None:
    adapter = make_adapter()
    params = {**signed(wx.push_token, str(int(wx.now))), "echostr": "5838479218127813673"}
    assert adapter.echo(params) == "5838479218127813673"
    assert adapter.echo({**params, "signature": "f" * 40}) is None
    del params["echostr"]
    assert adapter.echo(params) is None


def safe_push(wx: Any, *, encrypt_for: str | None = None) -> tuple[dict[str, str], bytes]:
    crypto = MessageCrypto(wx.aes_key, encrypt_for or wx.appid)
    encrypt = crypto.encrypt(b"<xml><MsgType>text</MsgType></xml>")
    timestamp, nonce = str(int(wx.now)), "99"
    params = {
        **signed(wx.push_token, timestamp, nonce),
        "encrypt_type": "aes",
        "msg_signature": expected_signature(wx.push_token, timestamp, nonce, encrypt),
    }
    body = f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    return params, body.encode()


def test_safe_mode_checks_msg_signature_over_the_body(make_adapter: MakeAdapter, wx: Any) -> None:
    adapter = make_adapter(encoding_aes_key=wx.aes_key)
    params, body = safe_push(wx)
    assert adapter.verify_push(params, body)
    _, other_body = safe_push(wx)  # another valid ciphertext, not the one that was signed
    assert not adapter.verify_push(params, other_body)


def test_safe_mode_refuses_without_body_or_encryption(make_adapter: MakeAdapter, wx: Any) -> None:
    adapter = make_adapter(encoding_aes_key=wx.aes_key)
    params, _ = safe_push(wx)
    assert not adapter.verify_push(params)  # body needed: only msg_signature covers it
    plain_params = {k: v for k, v in params.items() if k not in ("encrypt_type", "msg_signature")}
    assert not adapter.verify_push(plain_params, b"<xml><MsgType>text</MsgType></xml>")
    assert not adapter.verify_push(params, b"<xml><!DOCTYPE x></xml>")


def test_safe_mode_echo_uses_the_plain_signature(make_adapter: MakeAdapter, wx: Any) -> None:
    adapter = make_adapter(encoding_aes_key=wx.aes_key)
    params = {**signed(wx.push_token, str(int(wx.now))), "echostr": "abc"}
    assert adapter.echo(params) == "abc"
