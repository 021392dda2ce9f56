"""WeChat official-account wire protocol for the simulator.

Speaks ``/cgi-bin/token`` and ``/cgi-bin/message/custom/send`` the way WeChat does (HTTP 200
with ``errcode``), enforces the 48-hour customer-service window per follower, and pushes
signed (optionally safe-mode encrypted) XML to a registered callback with WeChat's delivery
rules: 5-second timeout, three tries. A follower's photo, voice note, video or short video is
pushed with a MediaId whose bytes ``media/get`` serves (:mod:`.wechat_media`); user tags and
mass sends live in :mod:`.wechat_mass`, the records in :mod:`.wechat_model`. Control routes
under ``/_sim/wechat/`` let tests and the demo create accounts (with tagged followers), play a
follower's side, read what was sent and inject faults into sends (errcodes answered next,
answers lost after the send). State lives on the app under :data:`WECHAT_STATE`, apart from
the Weibo simulator's.
"""

from __future__ import annotations

import secrets
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from servicehub.adapters.simulator.wechat_mass import register_mass, seed_audience
from servicehub.adapters.simulator.wechat_media import MEDIA_KINDS, media_get, store_media, video_file
from servicehub.adapters.simulator.wechat_model import (
    LOOPBACK_HOSTS,
    MAX_SENDS_PER_INTERACTION,
    OLD_TOKEN_GRACE,
    TOKEN_LIFETIME,
    WECHAT_STATE,
    Follower,
    OfficialAccount,
    SendFaults,
    WeChatState,
    account_of,
    answer_or_lose,
    api_payload,
    bad_request,
    caller,
    dumps,
    errcode_response,
    json_object,
    ok,
    text_field,
    wechat_state,
)

__all__ = ["WECHAT_STATE", "register_wechat"]
from servicehub.adapters.wechat.crypto import KEY_CHARS, MessageCrypto
from servicehub.adapters.wechat.reply_rules import (
    REPLY_WINDOW,
    TEXT_LIMIT_BYTES,
    WINDOW_CLOSING_EVENTS,
    WINDOW_OPENING_EVENTS,
)
from servicehub.adapters.wechat.signing import sign

_SENDABLE_TYPES = frozenset(
    {"text", "image", "voice", "video", "music", "news", "mpnews", "msgmenu", "wxcard"}
)


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
    state, query = wechat_state(request), request.query
    if query.get("grant_type") != "client_credential":
        return errcode_response(40002)
    if not query.get("appid"):
        return errcode_response(41002)
    account = state.accounts.get(query["appid"])
    if account is None:
        return errcode_response(40013)
    if not query.get("secret"):
        return errcode_response(41004)
    if not secrets.compare_digest(query["secret"], account.secret):
        return errcode_response(40125)
    now = state.clock()
    _cut_tokens(state, account.appid, now + OLD_TOKEN_GRACE)
    value = secrets.token_urlsafe(96)
    state.tokens[value] = (account.appid, now + TOKEN_LIFETIME)
    return ok({"access_token": value, "expires_in": TOKEN_LIFETIME})


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
    account = caller(request)
    if isinstance(account, int):
        return errcode_response(account)
    payload = await api_payload(request)
    if payload is None:
        return errcode_response(47001)
    if account.faults.errcodes:
        return errcode_response(account.faults.errcodes.pop(0))
    now = wechat_state(request).clock()
    code = _check_send(account, payload, now)
    if code:
        return errcode_response(code)
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
    return await answer_or_lose(account.faults, ok({"errcode": 0, "errmsg": "ok"}))


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
        fields["Event"] = text_field(data, "event")
        if data.get("event_key"):
            fields["EventKey"] = text_field(data, "event_key")
        return fields
    if kind == "text":
        fields["Content"] = text_field(data, "content")
    elif kind in MEDIA_KINDS:
        media_id = store_media(state, kind, data)
        if kind == "image":
            fields["PicUrl"] = text_field(data, "pic_url", required=False) or "http://mmbiz.qpic.cn/sim.jpg"
        fields["MediaId"] = media_id
        if kind == "voice":
            fields["Format"] = "amr"
            recognition = text_field(data, "recognition", required=False)
            if recognition:
                fields["Recognition"] = recognition
        if kind in ("video", "shortvideo"):
            fields["ThumbMediaId"] = store_media(state, "thumb", {})
    else:
        raise bad_request("type must be 'text', 'image', 'voice', 'video', 'shortvideo' or 'event'")
    state.next_msg_id += 1
    fields["MsgId"] = state.next_msg_id
    return fields


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
    state, account = wechat_state(request), account_of(request)
    data = await json_object(request)
    openid = text_field(data, "openid")
    create_time = data.get("create_time", int(state.clock()))
    if not isinstance(create_time, int) or isinstance(create_time, bool):
        raise bad_request("'create_time' must be unix seconds")
    fields = _message_fields(state, account, data, openid, create_time)
    _record_interaction(account, fields)
    answer: dict[str, Any] = {"msg_id": str(fields["MsgId"]) if "MsgId" in fields else None}
    answer["create_time"] = create_time
    if account.callback_url is None:
        answer.update(delivered=False, attempts=0, status=None, response=None, error="no callback URL")
    else:
        url, body = _push_request(state, account, account.callback_url, fields)
        answer.update(await _deliver(state, url, body))
    return ok(answer)


# -- control -------------------------------------------------------------------------------


async def create_account(request: web.Request) -> web.Response:
    state, data = wechat_state(request), await json_object(request)
    appid = text_field(data, "appid")
    if appid in state.accounts:
        raise web.HTTPConflict(
            text=dumps({"error": f"account {appid!r} exists"}), content_type="application/json"
        )
    aes_key = text_field(data, "encoding_aes_key", required=False) or None
    if aes_key is not None:
        try:
            MessageCrypto(aes_key, appid)
        except ValueError as exc:
            raise bad_request(f"encoding_aes_key: {exc} ({KEY_CHARS} base64 characters)") from None
    account = OfficialAccount(
        appid=appid,
        secret=text_field(data, "secret"),
        token=text_field(data, "token"),
        original_id=text_field(data, "original_id", required=False) or f"gh_{secrets.token_hex(6)}",
        encoding_aes_key=aes_key,
    )
    followers = data.get("followers", state.default_followers)
    if isinstance(followers, bool) or not isinstance(followers, int) or followers < 0:
        raise bad_request("'followers' must be a non-negative integer")
    seed_audience(account, followers, tags=data.get("seed_tags", True) is not False)
    state.accounts[appid] = account
    return ok(
        {
            "appid": appid,
            "original_id": account.original_id,
            "safe_mode": aes_key is not None,
            "followers": len(account.followers),
            "tags": [{"id": tag_id, "name": name} for tag_id, name in account.tags.items()],
        },
        201,
    )


async def set_callback(request: web.Request) -> web.Response:
    """Register the push URL after WeChat's GET check: it must echo ``echostr`` back."""
    state, account = wechat_state(request), account_of(request)
    data = await json_object(request)
    url = URL(text_field(data, "url"))
    if url.scheme not in ("http", "https") or (
        not state.allow_remote_callbacks and url.host not in LOOPBACK_HOSTS
    ):
        raise bad_request("callback URL must be http(s) on 127.0.0.1/localhost")
    if data.get("verify", True):
        echostr = secrets.token_hex(10)
        query = {**_signed_query(state, account), "echostr": echostr}
        try:
            async with _session(state).get(
                url.update_query(query), timeout=aiohttp.ClientTimeout(total=state.push_timeout)
            ) as response:
                status, text = response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise bad_request(f"callback verification failed: {type(exc).__name__}") from None
        if status != 200 or text != echostr:
            raise bad_request(f"callback verification failed: HTTP {status}, body did not echo echostr")
    account.callback_url = str(url)
    return ok({"appid": account.appid, "url": account.callback_url})


async def sent_messages(request: web.Request) -> web.Response:
    account, openid = account_of(request), request.query.get("openid")
    messages = [m for m in account.sent if openid is None or m["touser"] == openid]
    return ok({"messages": messages})


_FAULT_APIS = ("custom/send", "mass/sendall")


async def send_faults(request: web.Request) -> web.Response:
    """Set what the account's next sends of one API (``api``: "custom/send", the default, or
    "mass/sendall") meet: ``errcodes`` (answered in order instead of sending),
    ``lose_ack_next`` sends carried out whose answer is lost (``lose_ack`` "5xx" or "timeout",
    held ``ack_delay_ms``); ``clear`` forgets them."""
    account, data = account_of(request), await json_object(request)
    api = data.get("api", "custom/send")
    if api not in _FAULT_APIS:
        raise bad_request("'api' must be 'custom/send' or 'mass/sendall'")
    attribute = "faults" if api == "custom/send" else "mass_faults"
    if data.get("clear"):
        setattr(account, attribute, SendFaults())
    faults: SendFaults = getattr(account, attribute)
    codes = data.get("errcodes")
    if codes is not None:
        if not isinstance(codes, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in codes
        ):
            raise bad_request("'errcodes' must be a list of integers")
        faults.errcodes = list(codes)
    for name in ("lose_ack_next", "ack_delay_ms"):
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise bad_request(f"{name!r} must be a non-negative integer")
            setattr(faults, name, value)
    if "lose_ack" in data:
        if data["lose_ack"] not in ("5xx", "timeout"):
            raise bad_request("'lose_ack' must be '5xx' or 'timeout'")
        faults.lose_ack = data["lose_ack"]
    return ok({"api": api, **faults.as_json()})


async def expire_tokens(request: web.Request) -> web.Response:
    """Make every token of the account expire now, so the next call meets errcode 42001."""
    state, account = wechat_state(request), account_of(request)
    return ok({"expired": _cut_tokens(state, account.appid, state.clock())})


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
    register_mass(app)
