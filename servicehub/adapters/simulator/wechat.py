"""WeChat official-account wire protocol for the simulator.

Speaks ``/cgi-bin/token``, ``/cgi-bin/message/custom/send`` and ``/cgi-bin/media/get`` the
way WeChat does (HTTP 200 with ``errcode``), enforces the 48-hour customer-service window per
follower, and pushes signed (optionally safe-mode encrypted) XML to a registered callback
with WeChat's delivery rules: 5-second timeout, three tries. A follower's photo, voice note,
video or short video is pushed with a MediaId whose bytes ``media/get`` serves (a video as
``{"video_url": ...}``, the file then at ``/_sim/wechat/media/<id>``). Control routes under
``/_sim/wechat/`` let tests and the demo create accounts, play a follower's side, read what
was sent and inject faults into sends (errcodes answered next, answers lost after the send).
State lives on the app under :data:`WECHAT_STATE`, apart from the Weibo simulator's.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from servicehub.adapters.wechat.crypto import KEY_CHARS, MessageCrypto
from servicehub.adapters.wechat.reply_rules import (
    REPLY_WINDOW,
    TEXT_LIMIT_BYTES,
    WINDOW_CLOSING_EVENTS,
    WINDOW_OPENING_EVENTS,
)
from servicehub.adapters.wechat.signing import sign

TOKEN_LIFETIME = 7200
OLD_TOKEN_GRACE = 300  # a new token leaves the previous ones valid this much longer
MAX_SENDS_PER_INTERACTION = 20
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

_ERRMSG = {
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40125: "invalid appsecret",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    42001: "access_token expired",
    44004: "empty content",
    45002: "content size out of limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    47001: "data format error",
}
_SENDABLE_TYPES = frozenset(
    {"text", "image", "voice", "video", "music", "news", "mpnews", "msgmenu", "wxcard"}
)


@dataclass
class Follower:
    openid: str
    subscribed: bool = True
    last_interaction: float | None = None
    sent_since_interaction: int = 0


@dataclass
class SendFaults:
    """What the next customer-service sends meet: errcodes answered instead (in order), and
    sends carried out whose answer is then lost (a 502, or held past the client's timeout)."""

    errcodes: list[int] = field(default_factory=list)
    lose_ack_next: int = 0
    lose_ack: str = "5xx"
    ack_delay_ms: int = 3000


@dataclass
class OfficialAccount:
    appid: str
    secret: str
    token: str
    original_id: str
    encoding_aes_key: str | None = None
    callback_url: str | None = None
    followers: dict[str, Follower] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    faults: SendFaults = field(default_factory=SendFaults)


@dataclass
class WeChatState:
    accounts: dict[str, OfficialAccount] = field(default_factory=dict)
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> (appid, expires)
    push_timeout: float = 5.0
    push_tries: int = 3
    allow_remote_callbacks: bool = False
    clock: Callable[[], float] = time.time
    next_msg_id: int = 24_000_000_000_000_000
    session: aiohttp.ClientSession | None = None
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # media_id -> (type, bytes)


WECHAT_STATE = web.AppKey("wechat_state", WeChatState)

_dumps = partial(json.dumps, ensure_ascii=False)


def _ok(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


def _errcode(code: int) -> web.Response:
    """WeChat reports failures as HTTP 200 with errcode/errmsg."""
    return _ok({"errcode": code, "errmsg": _ERRMSG.get(code, "simulated error")})


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=_dumps({"error": message}), content_type="application/json")


def _state(request: web.Request) -> WeChatState:
    return request.app[WECHAT_STATE]


def _account(request: web.Request) -> OfficialAccount:
    appid = request.match_info["appid"]
    account = _state(request).accounts.get(appid)
    if account is None:
        raise web.HTTPNotFound(
            text=_dumps({"error": f"no account {appid!r}"}), content_type="application/json"
        )
    return account


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.read() or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise _bad("body is not JSON") from None
    if not isinstance(data, dict):
        raise _bad("body must be a JSON object")
    return data


def _text_field(data: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = data.get(name, "")
    if not isinstance(value, str) or (required and not value):
        raise _bad(f"{name!r} must be a non-empty string" if required else f"{name!r} must be a string")
    return value


# -- WeChat API ----------------------------------------------------------------------------


def _cut_tokens(state: WeChatState, appid: str, until: float) -> int:
    """Make the account's tokens expire no later than ``until``; how many it had."""
    cut = 0
    for value, (owner, expires) in list(state.tokens.items()):
        if owner == appid:
            state.tokens[value] = (owner, min(expires, until))
            cut += 1
    return cut


async def token(request: web.Request) -> web.Response:
    """``GET /cgi-bin/token``: a new token per call; older ones keep working for 5 minutes."""
    state, query = _state(request), request.query
    if query.get("grant_type") != "client_credential":
        return _errcode(40002)
    if not query.get("appid"):
        return _errcode(41002)
    account = state.accounts.get(query["appid"])
    if account is None:
        return _errcode(40013)
    if not query.get("secret"):
        return _errcode(41004)
    if not secrets.compare_digest(query["secret"], account.secret):
        return _errcode(40125)
    now = state.clock()
    _cut_tokens(state, account.appid, now + OLD_TOKEN_GRACE)
    value = secrets.token_urlsafe(96)
    state.tokens[value] = (account.appid, now + TOKEN_LIFETIME)
    return _ok({"access_token": value, "expires_in": TOKEN_LIFETIME})


def _check_send(account: OfficialAccount, payload: dict[str, Any], now: float) -> int:
    """The errcode WeChat would give this customer-service message, 0 if it goes out."""
    follower = account.followers.get(str(payload.get("touser", "")))
    if follower is None:
        return 40003
    msgtype = payload.get("msgtype")
    if msgtype not in _SENDABLE_TYPES:
        return 40008
    if msgtype == "text":
        body = payload.get("text")
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, str) or not content:
            return 44004
        if len(content.encode("utf-8")) > TEXT_LIMIT_BYTES:
            return 45002
    last = follower.last_interaction
    if not follower.subscribed or last is None or now - last >= REPLY_WINDOW.total_seconds():
        return 45015
    if follower.sent_since_interaction >= MAX_SENDS_PER_INTERACTION:
        return 45047
    return 0


async def custom_send(request: web.Request) -> web.Response:
    """``POST /cgi-bin/message/custom/send``: only inside the follower's 48-hour window."""
    state = _state(request)
    access_token = request.query.get("access_token")
    if not access_token:
        return _errcode(41001)
    issued = state.tokens.get(access_token)
    if issued is None:
        return _errcode(40001)
    appid, expires = issued
    now = state.clock()
    if now >= expires:
        return _errcode(42001)
    try:
        payload = json.loads((await request.read()).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return _errcode(47001)
    if not isinstance(payload, dict):
        return _errcode(47001)
    account = state.accounts[appid]
    if account.faults.errcodes:
        return _errcode(account.faults.errcodes.pop(0))
    code = _check_send(account, payload, now)
    if code:
        return _errcode(code)
    account.followers[payload["touser"]].sent_since_interaction += 1
    text = payload.get("text")
    account.sent.append(
        {
            "touser": payload["touser"],
            "msgtype": payload["msgtype"],
            "content": text.get("content") if isinstance(text, dict) else None,
            "payload": payload,
            "sent_at": now,
        }
    )
    answer = _ok({"errcode": 0, "errmsg": "ok"})
    if account.faults.lose_ack_next > 0:  # sent; the answer never arrives
        account.faults.lose_ack_next -= 1
        if account.faults.lose_ack == "timeout":
            await asyncio.sleep(account.faults.ack_delay_ms / 1000)
            return answer
        return web.Response(
            status=502, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html"
        )
    return answer


def _token_owner(state: WeChatState, access_token: str | None) -> str | int:
    """The appid a valid token belongs to, or the errcode WeChat gives for it."""
    if not access_token:
        return 41001
    issued = state.tokens.get(access_token)
    if issued is None:
        return 40001
    appid, expires = issued
    return 42001 if state.clock() >= expires else appid


async def media_get(request: web.Request) -> web.StreamResponse:
    """``GET /cgi-bin/media/get``: the file's bytes, a video's download link, or an errcode."""
    state = _state(request)
    owner = _token_owner(state, request.query.get("access_token"))
    if isinstance(owner, int):
        return _errcode(owner)
    media_id = request.query.get("media_id", "")
    found = state.media.get(media_id)
    if found is None:
        return _errcode(40007)
    content_type, body = found
    if content_type.startswith("video/"):
        return _ok({"video_url": str(request.url.origin()) + f"/_sim/wechat/media/{media_id}"})
    extension = content_type.split("/")[-1]
    return web.Response(
        body=body,
        content_type=content_type,
        headers={"Content-disposition": f'attachment; filename="{media_id}.{extension}"'},
    )


async def video_file(request: web.Request) -> web.StreamResponse:
    """Where a video's ``video_url`` points (no token: WeChat's links are signed URLs)."""
    found = _state(request).media.get(request.match_info["media_id"])
    if found is None or not found[0].startswith("video/"):
        raise web.HTTPNotFound()
    return web.Response(body=found[1], content_type=found[0])


# -- pushes --------------------------------------------------------------------------------


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml(fields: dict[str, str | int]) -> bytes:
    inner = "".join(
        f"<{name}>{value if isinstance(value, int) else _cdata(value)}</{name}>"
        for name, value in fields.items()
    )
    return f"<xml>{inner}</xml>".encode()


def _message_fields(
    state: WeChatState, account: OfficialAccount, data: dict[str, Any], openid: str, create_time: int
) -> dict[str, str | int]:
    """The push XML fields for a follower action described by a control request."""
    kind = data.get("type", "text")
    fields: dict[str, str | int] = {
        "ToUserName": account.original_id,
        "FromUserName": openid,
        "CreateTime": create_time,
        "MsgType": kind,
    }
    if kind == "event":
        fields["Event"] = _text_field(data, "event")
        if data.get("event_key"):
            fields["EventKey"] = _text_field(data, "event_key")
        return fields
    if kind == "text":
        fields["Content"] = _text_field(data, "content")
    elif kind in _MEDIA_KINDS:
        media_id = _store_media(state, kind, data)
        if kind == "image":
            fields["PicUrl"] = _text_field(data, "pic_url", required=False) or "http://mmbiz.qpic.cn/sim.jpg"
        fields["MediaId"] = media_id
        if kind == "voice":
            fields["Format"] = "amr"
            recognition = _text_field(data, "recognition", required=False)
            if recognition:
                fields["Recognition"] = recognition
        if kind in ("video", "shortvideo"):
            fields["ThumbMediaId"] = _store_media(state, "thumb", {})
    else:
        raise _bad("type must be 'text', 'image', 'voice', 'video', 'shortvideo' or 'event'")
    state.next_msg_id += 1
    fields["MsgId"] = state.next_msg_id
    return fields


_MEDIA_KINDS = {"image": "image/png", "voice": "audio/amr", "video": "video/mp4", "shortvideo": "video/mp4"}


def _png(seed: bytes, width: int = 160, height: int = 120) -> bytes:
    """A valid PNG (a striped card in one colour from ``seed``): what a customer's photo is here."""
    r, g, b = seed[0], seed[1], seed[2]
    light = bytes((255 - (255 - r) // 3, 255 - (255 - g) // 3, 255 - (255 - b) // 3))
    rows = b"".join(
        b"\x00" + b"".join((bytes((r, g, b)) if (x // 16 + y // 16) % 2 else light) for x in range(width))
        for y in range(height)
    )

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _store_media(state: WeChatState, kind: str, data: dict[str, Any]) -> str:
    """Keep the bytes of a pushed file under a new MediaId (``media_base64`` gives them)."""
    media_id = secrets.token_urlsafe(24)
    content_type = _MEDIA_KINDS.get(kind, "image/jpeg")
    raw = data.get("media_base64")
    if raw is not None:
        if not isinstance(raw, str):
            raise _bad("'media_base64' must be a base64 string")
        body = base64.b64decode(raw)
        content_type = _text_field(data, "content_type", required=False) or content_type
    elif content_type.startswith("image/"):
        body = _png(secrets.token_bytes(3))
    else:
        body = b"#!AMR\n" if kind == "voice" else b"\x00\x00\x00\x18ftypmp42"
        body += secrets.token_bytes(512)
    state.media[media_id] = (content_type, body)
    return media_id


def _record_interaction(account: OfficialAccount, fields: dict[str, str | int]) -> None:
    """Update the follower the way WeChat tracks the customer-service window."""
    openid, at = str(fields["FromUserName"]), float(fields["CreateTime"])
    follower = account.followers.setdefault(openid, Follower(openid))
    event = fields.get("Event")
    if event in WINDOW_CLOSING_EVENTS:
        follower.subscribed = False
        return
    if event == "subscribe":
        follower.subscribed = True
    if event is None or event in WINDOW_OPENING_EVENTS:
        follower.last_interaction = max(at, follower.last_interaction or at)
        follower.sent_since_interaction = 0


def _signed_query(state: WeChatState, account: OfficialAccount) -> dict[str, str]:
    """timestamp, nonce and the Token signature WeChat puts on every callback request."""
    timestamp, nonce = str(int(state.clock())), str(secrets.randbelow(10**10))
    return {"signature": sign(account.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


def _push_request(
    state: WeChatState, account: OfficialAccount, callback: str, fields: dict[str, str | int]
) -> tuple[URL, bytes]:
    """The URL and body of a push; in safe mode the XML travels encrypted under msg_signature."""
    query = {**_signed_query(state, account), "openid": str(fields["FromUserName"])}
    xml = _xml(fields)
    if account.encoding_aes_key:
        encrypt = MessageCrypto(account.encoding_aes_key, account.appid).encrypt(xml)
        query["encrypt_type"] = "aes"
        query["msg_signature"] = sign(account.token, query["timestamp"], query["nonce"], encrypt)
        xml = _xml({"ToUserName": account.original_id, "Encrypt": encrypt})
    return URL(callback).update_query(query), xml


def _session(state: WeChatState) -> aiohttp.ClientSession:
    if state.session is None or state.session.closed:
        state.session = aiohttp.ClientSession()
    return state.session


async def _deliver(state: WeChatState, url: URL, body: bytes) -> dict[str, Any]:
    """POST like WeChat: give up on an attempt after the timeout, try three times in all."""
    result: dict[str, Any] = {
        "delivered": False,
        "attempts": 0,
        "status": None,
        "response": None,
        "error": None,
    }
    timeout = aiohttp.ClientTimeout(total=state.push_timeout)
    for _ in range(state.push_tries):
        result["attempts"] += 1
        try:
            async with _session(state).post(
                url, data=body, headers={"Content-Type": "text/xml"}, timeout=timeout
            ) as response:
                result.update(status=response.status, response=(await response.text())[:500], error=None)
                if response.status < 500:
                    result["delivered"] = response.status == 200
                    break
        except (aiohttp.ClientError, TimeoutError) as exc:
            result["error"] = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return result


async def push(request: web.Request) -> web.Response:
    """Play a follower: record the action and push it to the account's callback URL."""
    state, account = _state(request), _account(request)
    data = await _json_object(request)
    openid = _text_field(data, "openid")
    create_time = data.get("create_time", int(state.clock()))
    if not isinstance(create_time, int) or isinstance(create_time, bool):
        raise _bad("'create_time' must be unix seconds")
    fields = _message_fields(state, account, data, openid, create_time)
    _record_interaction(account, fields)
    answer: dict[str, Any] = {"msg_id": str(fields["MsgId"]) if "MsgId" in fields else None}
    answer["create_time"] = create_time
    if account.callback_url is None:
        answer.update(delivered=False, attempts=0, status=None, response=None, error="no callback URL")
    else:
        url, body = _push_request(state, account, account.callback_url, fields)
        answer.update(await _deliver(state, url, body))
    return _ok(answer)


# -- control -------------------------------------------------------------------------------


async def create_account(request: web.Request) -> web.Response:
    state, data = _state(request), await _json_object(request)
    appid = _text_field(data, "appid")
    if appid in state.accounts:
        raise web.HTTPConflict(
            text=_dumps({"error": f"account {appid!r} exists"}), content_type="application/json"
        )
    aes_key = _text_field(data, "encoding_aes_key", required=False) or None
    if aes_key is not None:
        try:
            MessageCrypto(aes_key, appid)
        except ValueError as exc:
            raise _bad(f"encoding_aes_key: {exc} ({KEY_CHARS} base64 characters)") from None
    account = OfficialAccount(
        appid=appid,
        secret=_text_field(data, "secret"),
        token=_text_field(data, "token"),
        original_id=_text_field(data, "original_id", required=False) or f"gh_{secrets.token_hex(6)}",
        encoding_aes_key=aes_key,
    )
    state.accounts[appid] = account
    return _ok({"appid": appid, "original_id": account.original_id, "safe_mode": aes_key is not None}, 201)


async def set_callback(request: web.Request) -> web.Response:
    """Register the push URL after WeChat's GET check: it must echo ``echostr`` back."""
    state, account = _state(request), _account(request)
    data = await _json_object(request)
    url = URL(_text_field(data, "url"))
    if url.scheme not in ("http", "https") or (
        not state.allow_remote_callbacks and url.host not in LOOPBACK_HOSTS
    ):
        raise _bad("callback URL must be http(s) on 127.0.0.1/localhost")
    if data.get("verify", True):
        echostr = secrets.token_hex(10)
        query = {**_signed_query(state, account), "echostr": echostr}
        try:
            async with _session(state).get(
                url.update_query(query), timeout=aiohttp.ClientTimeout(total=state.push_timeout)
            ) as response:
                status, text = response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _bad(f"callback verification failed: {type(exc).__name__}") from None
        if status != 200 or text != echostr:
            raise _bad(f"callback verification failed: HTTP {status}, body did not echo echostr")
    account.callback_url = str(url)
    return _ok({"appid": account.appid, "url": account.callback_url})


async def sent_messages(request: web.Request) -> web.Response:
    account, openid = _account(request), request.query.get("openid")
    messages = [m for m in account.sent if openid is None or m["touser"] == openid]
    return _ok({"messages": messages})


async def send_faults(request: web.Request) -> web.Response:
    """Set what the account's next sends meet: ``errcodes`` (answered in order instead of
    sending), ``lose_ack_next`` sends carried out whose answer is lost (``lose_ack`` "5xx" or
    "timeout", held ``ack_delay_ms``); ``clear`` forgets them."""
    account, data = _account(request), await _json_object(request)
    faults = account.faults
    if data.get("clear"):
        account.faults = faults = SendFaults()
    codes = data.get("errcodes")
    if codes is not None:
        if not isinstance(codes, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in codes
        ):
            raise _bad("'errcodes' must be a list of integers")
        faults.errcodes = list(codes)
    for name in ("lose_ack_next", "ack_delay_ms"):
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _bad(f"{name!r} must be a non-negative integer")
            setattr(faults, name, value)
    if "lose_ack" in data:
        if data["lose_ack"] not in ("5xx", "timeout"):
            raise _bad("'lose_ack' must be '5xx' or 'timeout'")
        faults.lose_ack = data["lose_ack"]
    return _ok(
        {
            "errcodes": faults.errcodes,
            "lose_ack_next": faults.lose_ack_next,
            "lose_ack": faults.lose_ack,
            "ack_delay_ms": faults.ack_delay_ms,
        }
    )


async def expire_tokens(request: web.Request) -> web.Response:
    """Make every token of the account expire now, so the next call meets errcode 42001."""
    state, account = _state(request), _account(request)
    return _ok({"expired": _cut_tokens(state, account.appid, state.clock())})


async def _close_session(app: web.Application) -> None:
    session = app[WECHAT_STATE].session
    if session is not None:
        await session.close()


def register_wechat(app: web.Application) -> None:
    """Add the WeChat API and ``/_sim/wechat/`` control routes, with their own state."""
    app[WECHAT_STATE] = WeChatState()
    app.on_cleanup.append(_close_session)
    app.router.add_get("/cgi-bin/token", token)
    app.router.add_post("/cgi-bin/message/custom/send", custom_send)
    app.router.add_get("/cgi-bin/media/get", media_get)
    app.router.add_get("/_sim/wechat/media/{media_id}", video_file)
    app.router.add_post("/_sim/wechat/accounts/{appid}/faults", send_faults)
    app.router.add_post("/_sim/wechat/accounts", create_account)
    app.router.add_post("/_sim/wechat/accounts/{appid}/callback", set_callback)
    app.router.add_post("/_sim/wechat/accounts/{appid}/push", push)
    app.router.add_get("/_sim/wechat/accounts/{appid}/sent", sent_messages)
    app.router.add_post("/_sim/wechat/accounts/{appid}/expire-tokens", expire_tokens)
