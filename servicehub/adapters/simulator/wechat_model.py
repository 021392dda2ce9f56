"""The WeChat simulator's records, and the request helpers every WeChat route shares.

Kept apart from the routes so the customer-service side (:mod:`.wechat`) and the tags and
mass-send side (:mod:`.wechat_mass`) work on one account record without importing each
other. Everything here answers the way WeChat does: HTTP 200 with ``errcode``/``errmsg``
for platform errors; control-route misuse is a 400/404 with ``{"error": ...}``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aiohttp
from aiohttp import web

TOKEN_LIFETIME = 7200
OLD_TOKEN_GRACE = 300  # a new token leaves the previous ones valid this much longer
MAX_SENDS_PER_INTERACTION = 20
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
STAR_TAG_ID, STAR_TAG_NAME = 2, "星标组"  # the system tag every account has (reference §5.4)

ERRMSG = {
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40032: "invalid openid list size",
    40035: "invalid args",
    40125: "invalid appsecret",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    42001: "access_token expired",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit must slower retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45028: "has no masssend quota",
    45047: "out of response count limit",
    45056: "too many tags",
    45059: "tag number exceed the limit on user",
    45065: "clientmsgid exist",
    45066: "same clientmsgid retry too fast",
    45067: "clientmsgid size out of limit",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    47001: "data format error",
    48001: "api unauthorized",
}


@dataclass
class Follower:
    openid: str
    subscribed: bool = True
    last_interaction: float | None = None
    sent_since_interaction: int = 0
    tag_ids: set[int] = field(default_factory=set)  # WeChat keeps tags on the user (tagid_list)


@dataclass
class SendFaults:
    """What the next sends of one API meet: errcodes answered instead (in order), and sends
    carried out whose answer is then lost (a 502, or held past the client's timeout)."""

    errcodes: list[int] = field(default_factory=list)
    lose_ack_next: int = 0
    lose_ack: str = "5xx"
    ack_delay_ms: int = 3000

    def as_json(self) -> dict[str, Any]:
        return {
            "errcodes": self.errcodes,
            "lose_ack_next": self.lose_ack_next,
            "lose_ack": self.lose_ack,
            "ack_delay_ms": self.ack_delay_ms,
        }


@dataclass
class MassSend:
    """One accepted ``mass/sendall``: who it reached is fixed when it is accepted."""

    msg_id: int
    clientmsgid: str | None
    is_to_all: bool
    tag_id: int | None
    msgtype: str
    content: str | None
    recipients: list[str]
    sent_at: float
    payload: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "msg_id": str(self.msg_id),
            "clientmsgid": self.clientmsgid,
            "is_to_all": self.is_to_all,
            "tag_id": self.tag_id,
            "msgtype": self.msgtype,
            "content": self.content,
            "recipients": self.recipients,
            "total": len(self.recipients),
            "sent_at": self.sent_at,
            "msg_status": "SEND_SUCCESS",
        }


@dataclass
class OfficialAccount:
    appid: str
    secret: str
    token: str
    original_id: str
    encoding_aes_key: str | None = None
    callback_url: str | None = None
    followers: dict[str, Follower] = field(default_factory=dict)  # in follow order
    sent: list[dict[str, Any]] = field(default_factory=list)
    faults: SendFaults = field(default_factory=SendFaults)  # customer-service sends
    tags: dict[int, str] = field(default_factory=lambda: {STAR_TAG_ID: STAR_TAG_NAME})
    next_tag_id: int = 100  # tags an account creates are numbered from 100
    mass_sends: list[MassSend] = field(default_factory=list)
    mass_faults: SendFaults = field(default_factory=SendFaults)
    mass_per_day: int | None = None  # None: the state's default


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
    # Mass sends: WeChat's table says 100 高级群发 calls a day (§9.2); the same by default here.
    mass_per_day: int = 100
    next_mass_id: int = 1_000_000_001
    default_followers: int = 30  # followers (some tagged) a new account starts with
    tag_page_size: int = 10_000  # openids per user/tag/get page


WECHAT_STATE = web.AppKey("wechat_state", WeChatState)

dumps = partial(json.dumps, ensure_ascii=False)


def ok(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def errcode_response(code: int, **extra: Any) -> web.Response:
    """WeChat reports failures as HTTP 200 with errcode/errmsg (45065 adds the first msg_id)."""
    return ok({"errcode": code, "errmsg": ERRMSG.get(code, "simulated error"), **extra})


def bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=dumps({"error": message}), content_type="application/json")


def wechat_state(request: web.Request) -> WeChatState:
    return request.app[WECHAT_STATE]


def account_of(request: web.Request) -> OfficialAccount:
    """The account a control route's ``{appid}`` names, or a 404."""
    appid = request.match_info["appid"]
    account = wechat_state(request).accounts.get(appid)
    if account is None:
        raise web.HTTPNotFound(
            text=dumps({"error": f"no account {appid!r}"}), content_type="application/json"
        )
    return account


async def json_object(request: web.Request) -> dict[str, Any]:
    """A control route's JSON body (empty: ``{}``)."""
    try:
        data = json.loads(await request.read() or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise bad_request("body is not JSON") from None
    if not isinstance(data, dict):
        raise bad_request("body must be a JSON object")
    return data


async def api_payload(request: web.Request) -> dict[str, Any] | None:
    """An API call's JSON object, or None where WeChat answers 47001 (not JSON / not an object)."""
    try:
        payload = json.loads((await request.read()).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def text_field(data: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = data.get(name, "")
    if not isinstance(value, str) or (required and not value):
        raise bad_request(
            f"{name!r} must be a non-empty string" if required else f"{name!r} must be a string"
        )
    return value


def token_owner(state: WeChatState, access_token: str | None) -> str | int:
    """The appid a valid token belongs to, or the errcode WeChat gives for it."""
    if not access_token:
        return 41001
    issued = state.tokens.get(access_token)
    if issued is None:
        return 40001
    appid, expires = issued
    return 42001 if state.clock() >= expires else appid


def caller(request: web.Request) -> OfficialAccount | int:
    """The account whose ``access_token`` the API call carries, or the errcode to answer."""
    state = wechat_state(request)
    owner = token_owner(state, request.query.get("access_token"))
    return owner if isinstance(owner, int) else state.accounts[owner]


async def answer_or_lose(faults: SendFaults, answer: web.Response) -> web.Response:
    """The answer to a send that was carried out -- unless ``faults`` says to lose it: a 502
    in its place, or the answer held back past the client's timeout."""
    if faults.lose_ack_next <= 0:
        return answer
    faults.lose_ack_next -= 1
    if faults.lose_ack == "timeout":
        await asyncio.sleep(faults.ack_delay_ms / 1000)
        return answer
    return web.Response(
        status=502, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html"
    )
