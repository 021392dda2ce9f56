"""XML push parsing: message and event kinds, unknown types, hostile XML, safe mode."""

from __future__ import annotations

import base64
import os
import struct
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from servicehub.adapters.base import ItemKind, MediaRef, ReplyTarget
from servicehub.adapters.errors import MalformedPayload
from servicehub.adapters.wechat.client import WeChatAdapter
from servicehub.adapters.wechat.crypto import MessageCrypto
from servicehub.adapters.wechat.push import MAX_PUSH_BYTES

MakeAdapter = Callable[..., WeChatAdapter]
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"

TEXT = f"""<xml>
  <ToUserName><![CDATA[gh_service]]></ToUserName>
  <FromUserName><![CDATA[{OPENID}]]></FromUserName>
  <CreateTime>1700000000</CreateTime>
  <MsgType><![CDATA[text]]></MsgType>
  <Content><![CDATA[宽带又断了，<b>&一直</b>连不上 ]]]]><![CDATA[>]]></Content>
  <MsgId>24123456789012345</MsgId>
</xml>""".encode()


def event(name: str, key: str | None = None) -> bytes:
    key_xml = f"<EventKey><![CDATA[{key}]]></EventKey>" if key is not None else ""
    return (
        f"<xml><ToUserName><![CDATA[gh_service]]></ToUserName><FromUserName><![CDATA[{OPENID}]]>"
        f"</FromUserName><CreateTime>1700000100</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{name}]]></Event>{key_xml}</xml>"
    ).encode()


def test_text_message_becomes_private_message(make_adapter: MakeAdapter) -> None:
    [item] = make_adapter().parse_push(TEXT, "text/xml")
    assert item.kind is ItemKind.PRIVATE_MESSAGE
    assert item.platform == "wechat"
    assert item.platform_id == "24123456789012345"
    assert item.account_uid == "gh_service"
    assert item.author.uid == OPENID
    assert item.thread_id == OPENID
    assert item.text == "宽带又断了，<b>&一直</b>连不上 ]]>"
    assert item.created_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert item.reply_target == ReplyTarget(kind="private_message", user_uid=OPENID)
    assert item.raw["MsgType"] == "text"


@pytest.mark.parametrize(
    ("name", "key", "text"),
    [
        ("subscribe", None, "subscribe"),
        ("unsubscribe", "", "unsubscribe"),
        ("CLICK", "V1001_BILL", "CLICK:V1001_BILL"),
    ],
)
def test_events_become_event_items_keyed_by_sender_time_event(
    make_adapter: MakeAdapter, name: str, key: str | None, text: str
) -> None:
    [item] = make_adapter().parse_push(event(name, key), "text/xml")
    assert item.kind is ItemKind.EVENT
    # WeChat's advice (sender + time + event) plus the key: two clicks in one second are two
    assert item.platform_id == f"{OPENID}:1700000100:{text}"
    assert item.text == text
    assert item.thread_id == OPENID
    assert item.reply_target.user_uid == OPENID


def test_image_message_reads_as_placeholder_and_keeps_media(make_adapter: MakeAdapter) -> None:
    body = (
        f"<xml><ToUserName>gh_service</ToUserName><FromUserName>{OPENID}</FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType>image</MsgType>"
        "<PicUrl>http://mmbiz.qpic.cn/x.jpg</PicUrl><MediaId>media1</MediaId><MsgId>42</MsgId></xml>"
    ).encode()
    [item] = make_adapter().parse_push(body, "text/xml")
    assert item.kind is ItemKind.PRIVATE_MESSAGE
    assert item.text == "[图片]"
    assert item.raw["PicUrl"] == "http://mmbiz.qpic.cn/x.jpg"
    assert item.platform_id == "42"


def test_voice_message_uses_speech_recognition(make_adapter: MakeAdapter) -> None:
    body = (
        f"<xml><ToUserName>gh_service</ToUserName><FromUserName>{OPENID}</FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType>voice</MsgType>"
        "<Recognition>我要投诉</Recognition><MsgId>43</MsgId></xml>"
    ).encode()
    assert make_adapter().parse_push(body, "text/xml")[0].text == "[语音] 我要投诉"


def test_unknown_message_type_is_ignored(make_adapter: MakeAdapter) -> None:
    body = TEXT.replace(b"<![CDATA[text]]>", b"<![CDATA[hologram]]>")
    assert make_adapter().parse_push(body, "text/xml") == []


def test_nested_fields_are_kept(make_adapter: MakeAdapter) -> None:
    body = event("scancode_push", "scan1").replace(
        b"</xml>", b"<ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>1</ScanResult></ScanCodeInfo></xml>"
    )
    [item] = make_adapter().parse_push(body, "text/xml")
    assert item.raw["ScanCodeInfo"] == {"ScanType": "qrcode", "ScanResult": "1"}


@pytest.mark.parametrize(
    "body",
    [
        TEXT.replace(b"<MsgId>24123456789012345</MsgId>", b""),  # a message without MsgId
        TEXT.replace(b"<CreateTime>1700000000</CreateTime>", b"<CreateTime>soon</CreateTime>"),
        event("subscribe").replace(b"<Event><![CDATA[subscribe]]></Event>", b""),
        b"<root><MsgType>text</MsgType></root>",
        b"<xml><MsgType>text</MsgType>",  # not well-formed
        b"\xff\xfe<\x00x\x00",  # not UTF-8 XML
        b"",
    ],
)
def test_incomplete_or_broken_pushes_are_malformed(make_adapter: MakeAdapter, body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        make_adapter().parse_push(body, "text/xml")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE xml [
  <!ENTITY a "lol">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&d;</Content><MsgId>1</MsgId></xml>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&secret;</Content><MsgId>1</MsgId></xml>"""

HIDDEN_DOCTYPE = b"""<!-- <![CDATA[ --><!DOCTYPE xml [<!ENTITY a "x">]><xml><Content>&a;</Content></xml>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        HIDDEN_DOCTYPE,
        b'<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd"><xml/>',
        TEXT.replace(b"<Content>", b"<Content>&undefined;"),  # entity with no declaration
    ],
    ids=["billion-laughs", "external-entity", "doctype-after-comment", "external-dtd", "undeclared-entity"],
)
def test_hostile_xml_is_refused(make_adapter: MakeAdapter, body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        make_adapter().parse_push(body, "text/xml")


def test_doctype_text_inside_cdata_is_only_text(make_adapter: MakeAdapter) -> None:
    body = TEXT.replace(b"<Content><![CDATA[", b"<Content><![CDATA[<!DOCTYPE html> ")
    assert make_adapter().parse_push(body, "text/xml")[0].text.startswith("<!DOCTYPE html> ")


def test_oversized_push_is_refused_before_parsing(make_adapter: MakeAdapter) -> None:
    padding = b" " * (MAX_PUSH_BYTES - len(TEXT) + 1)
    with pytest.raises(MalformedPayload, match="cap"):
        make_adapter().parse_push(TEXT.replace(b"</xml>", padding + b"</xml>"), "text/xml")
    assert make_adapter().parse_push(TEXT.replace(b"</xml>", padding[:-1] + b"</xml>"), "text/xml")


# -- safe mode ------------------------------------------------------------------------------


def reference_encrypt(aes_key: str, appid: str, xml: bytes) -> str:
    """The documented recipe, written out without the code under test."""
    key = base64.b64decode(aes_key + "=")
    plain = os.urandom(16) + struct.pack(">I", len(xml)) + xml + appid.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def envelope(encrypt: str) -> bytes:
    return f"<xml><ToUserName>gh_service</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()


def test_safe_mode_push_made_by_the_documented_recipe_decrypts(make_adapter: MakeAdapter, wx: Any) -> None:
    adapter = make_adapter(encoding_aes_key=wx.aes_key)
    [item] = adapter.parse_push(envelope(reference_encrypt(wx.aes_key, wx.appid, TEXT)), "text/xml")
    assert item.platform_id == "24123456789012345"
    assert item.text.startswith("宽带又断了")


def test_encrypt_then_decrypt_round_trip_pads_to_32_bytes(wx: Any) -> None:
    crypto = MessageCrypto(wx.aes_key, wx.appid)
    # 16 + 4 + size + len(appid) (18): sizes 26 and 58 fill whole blocks, so a full pad block follows
    for size in (0, 1, 25, 26, 27, 58, 1000):
        xml = b"x" * size
        encrypt = crypto.encrypt(xml)
        assert len(base64.b64decode(encrypt)) % 32 == 0
        assert crypto.decrypt(encrypt) == xml


def test_push_encrypted_for_another_appid_is_refused(make_adapter: MakeAdapter, wx: Any) -> None:
    adapter = make_adapter(encoding_aes_key=wx.aes_key)
    with pytest.raises(MalformedPayload, match="decrypt"):
        adapter.parse_push(envelope(reference_encrypt(wx.aes_key, "wxsomeoneelse00000", TEXT)), "text/xml")


@pytest.mark.parametrize(
    "encrypt", ["not base64!", base64.b64encode(b"short").decode(), base64.b64encode(bytes(64)).decode()]
)
def test_garbage_ciphertext_is_malformed(make_adapter: MakeAdapter, wx: Any, encrypt: str) -> None:
    with pytest.raises(MalformedPayload):
        make_adapter(encoding_aes_key=wx.aes_key).parse_push(envelope(encrypt), "text/xml")


def test_safe_mode_refuses_plaintext_and_plain_mode_refuses_ciphertext(
    make_adapter: MakeAdapter, wx: Any
) -> None:
    with pytest.raises(MalformedPayload, match="expected an encrypted"):
        make_adapter(encoding_aes_key=wx.aes_key).parse_push(TEXT, "text/xml")
    with pytest.raises(MalformedPayload, match="no encoding_aes_key"):
        make_adapter().parse_push(envelope(reference_encrypt(wx.aes_key, wx.appid, TEXT)), "text/xml")


def test_bad_encoding_aes_key_is_a_configuration_error(wx: Any) -> None:
    with pytest.raises(ValueError, match="43"):
        MessageCrypto("tooshort", wx.appid)


def media_push(msg_type: str, extra: str) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[gh_service]]></ToUserName><FromUserName><![CDATA[{OPENID}]]>"
        f"</FromUserName><CreateTime>1700000200</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
        f"{extra}<MsgId>2412345678901234{len(msg_type)}</MsgId></xml>"
    ).encode()


@pytest.mark.parametrize(
    ("msg_type", "extra", "media"),
    [
        (
            "image",
            "<PicUrl><![CDATA[http://mmbiz.qpic.cn/x.jpg]]></PicUrl><MediaId><![CDATA[m-img]]></MediaId>",
            MediaRef("image", "m-img", url="http://mmbiz.qpic.cn/x.jpg"),
        ),
        (
            "voice",
            "<MediaId><![CDATA[m-voice]]></MediaId><Format><![CDATA[amr]]></Format><Recognition><![CDATA[]]></Recognition>",
            MediaRef("voice", "m-voice", format="amr"),
        ),
        (
            "shortvideo",
            "<MediaId><![CDATA[m-v]]></MediaId><ThumbMediaId><![CDATA[m-t]]></ThumbMediaId>",
            MediaRef("shortvideo", "m-v", thumb_media_id="m-t"),
        ),
    ],
)
def test_media_messages_carry_their_media(
    make_adapter: MakeAdapter, msg_type: str, extra: str, media: MediaRef
) -> None:
    [item] = make_adapter().parse_push(media_push(msg_type, extra), "text/xml")
    assert item.media == (media,)
    assert MediaRef.from_dict(media.as_dict()) == media


def test_an_event_id_stays_within_64_characters_and_is_stable(make_adapter: MakeAdapter) -> None:
    long_event = event("subscribe_msg_change_event")
    [first] = make_adapter().parse_push(long_event, "text/xml")
    [again] = make_adapter().parse_push(long_event, "text/xml")  # WeChat delivers it again
    assert len(first.platform_id) <= 64 and first.platform_id == again.platform_id
    view = event("VIEW", "https://m.10010.com/some/very/long/page?with=a&query=string&that=goes&on=and-on")
    [clicked] = make_adapter().parse_push(view, "text/xml")
    assert len(clicked.platform_id) <= 64 and clicked.platform_id != first.platform_id
