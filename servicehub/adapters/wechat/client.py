"""The WeChat official-account adapter: signed XML pushes in, customer-service messages and
mass sends out.

It is a :class:`~servicehub.adapters.base.MessageSource`, a
:class:`~servicehub.adapters.base.Replier` and
:class:`~servicehub.adapters.base.DirectMessenger` (customer-service messages inside the
48-hour window), a :class:`~servicehub.adapters.base.MassSender` (群发 to a user tag) and a
:class:`~servicehub.adapters.base.MediaReader`, and nothing else: WeChat has no mentions, no
comments to poll and no public posts, so it offers none of those capabilities and the
listener and publisher see that through ``isinstance`` checks.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from servicehub.adapters.base import (
    AppConnection,
    AudienceTag,
    CredentialField,
    Credentials,
    InboundItem,
    ItemKind,
    MediaRef,
    MediaStream,
    PayloadRule,
    PlatformConfig,
    ReplyTarget,
    SentRef,
    TextRule,
    count_utf8_bytes,
)
from servicehub.adapters.errors import (
    InvalidCredentials,
    MalformedPayload,
    NeverSent,
    PlatformError,
    RateLimited,
    Rejected,
    TokenExpired,
    Unavailable,
)
from servicehub.adapters.http import http_client
from servicehub.adapters.wechat import mass, push, signing
from servicehub.adapters.wechat.access_token import AccessTokenCache, SharedTokens
from servicehub.adapters.wechat.crypto import MessageCrypto
from servicehub.adapters.wechat.errcodes import CLIENTMSGID_EXISTS, TOKEN_INVALID, error_for
from servicehub.adapters.wechat.reply_rules import (
    MASS_TEXT_LIMIT_BYTES,
    REPLY_WINDOW,
    TEXT_LIMIT_BYTES,
    check_text,
)

TOKEN_PATH = "/cgi-bin/token"
CUSTOM_SEND_PATH = "/cgi-bin/message/custom/send"
MEDIA_GET_PATH = "/cgi-bin/media/get"
DEFAULT_MAX_PUSH_AGE = 300.0
_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 8.0
# Failures where the request provably never left this machine, so even a send may repeat.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class WeChatAdapter:
    """One official account. ``config.app_key``/``app_secret`` are its appid/appsecret,
    ``config.extra["token"]`` its push Token, ``extra["encoding_aes_key"]`` turns on safe mode.

    ``clock``, ``sleep`` and ``rng`` are injectable so tests need no real waiting.
    """

    platform = push.PLATFORM
    names: ClassVar[Mapping[str, str]] = {"zh-CN": "微信公众号", "en": "WeChat official account"}
    # Customer-service messages reach a follower within 48 hours of their last interaction.
    dm_window: ClassVar[timedelta] = REPLY_WINDOW
    text_rules: ClassVar[Mapping[str, TextRule]] = {
        "private_message": TextRule(TEXT_LIMIT_BYTES, "byte", "utf8_bytes", count_utf8_bytes),
        "mass": TextRule(MASS_TEXT_LIMIT_BYTES, "byte", "utf8_bytes", count_utf8_bytes),
    }
    # Follow events arrive as pushes: Event subscribe / unsubscribe.
    payload_rules: ClassVar[tuple[PayloadRule, ...]] = (
        PayloadRule(ItemKind.EVENT, ("Event",), "follow", equals="subscribe"),
        PayloadRule(ItemKind.EVENT, ("Event",), "unfollow", equals="unsubscribe"),
    )
    # An official account is its own app: it is connected with what its console shows.
    credential_fields: ClassVar[tuple[CredentialField, ...]] = (
        CredentialField("display_name", "公众号名称", required=False),
        CredentialField("original_id", "原始ID", "公众号设置里的 gh_ 开头的编号"),
        CredentialField("appid", "AppID", "开发 → 基本配置 → 开发者ID"),
        CredentialField("secret", "AppSecret", "开发 → 基本配置 → 开发者密码", secret=True),
        CredentialField("push_token", "Token", "服务器配置里填写的令牌", secret=True),
        CredentialField(
            "aes_key", "EncodingAESKey", "安全模式的消息加解密密钥：43个字符", secret=True, required=False
        ),
    )

    @classmethod
    def check_credentials(cls, values: Mapping[str, str]) -> AppConnection:
        """The connection a filled-in credential form describes; a bad field raises
        :class:`InvalidCredentials` naming it (a malformed EncodingAESKey would otherwise make
        every later push to the account fail to decrypt)."""
        clean = {f.name: str(values.get(f.name, "")).strip() for f in cls.credential_fields}
        for f in cls.credential_fields:
            if f.required and not clean[f.name]:
                raise InvalidCredentials(f.name, "required")
        aes_key = clean["aes_key"]
        if aes_key and not _valid_aes_key(aes_key):
            raise InvalidCredentials("aes_key", "format")
        app = {"app_key": clean["appid"], "app_secret": clean["secret"], "token": clean["push_token"]}
        if aes_key:
            app["encoding_aes_key"] = aes_key
        return AppConnection(clean["original_id"], clean["display_name"] or clean["original_id"], app)

    def __init__(
        self,
        config: PlatformConfig,
        creds: Credentials,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._config = config
        self._push_token = config.extra.get("token", "")
        aes_key = config.extra.get("encoding_aes_key")
        self._crypto = MessageCrypto(aes_key, config.app_key) if aes_key else None
        self._max_push_age = float(config.extra.get("max_push_age_seconds", DEFAULT_MAX_PUSH_AGE))
        self._clock, self._sleep, self._rng = clock, sleep, rng
        self._http = http_client(
            base_url=config.api_base,
            timeout=config.timeout_seconds,
            transport=transport,
            headers={"User-Agent": "servicehub-wechat/1"},
        )
        self._tokens = AccessTokenCache(self._fetch_token, clock)
        if creds.access_token and creds.expires_at is not None:
            self._tokens.seed(creds.access_token, creds.expires_at.timestamp())

    def share_tokens(self, store: SharedTokens) -> None:
        """Use one access token with the hub's other processes (see ``access_token``)."""
        self._tokens.share(store, f"wechat:{self._config.app_key}")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WeChatAdapter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- push in (MessageSource) ---------------------------------------------------------

    def _fresh_and_signed(self, params: Mapping[str, str]) -> bool:
        """Token signature valid and timestamp recent, so an old signed URL cannot be replayed."""
        if not signing.check_signature(self._push_token, params):
            return False
        if self._max_push_age <= 0:
            return True
        try:
            sent_at = int(params["timestamp"])
        except ValueError:
            return False
        return abs(self._clock() - sent_at) <= self._max_push_age

    def verify_push(self, params: Mapping[str, str], body: bytes | None = None) -> bool:
        """Whether a push (query ``params``) really comes from WeChat for this account.

        In safe mode the ``body`` must be given too: only ``msg_signature`` covers it, and
        pushes that are not encrypted are refused.
        """
        if not self._fresh_and_signed(params):
            return False
        if self._crypto is None:
            return True
        if params.get("encrypt_type") != "aes" or body is None:
            return False
        try:
            encrypt = push.encrypted_part(body)
        except MalformedPayload:
            return False
        return encrypt is not None and signing.check_msg_signature(self._push_token, params, encrypt)

    def echo(self, params: Mapping[str, str]) -> str | None:
        """The ``echostr`` to answer WeChat's GET URL verification with, or None if unsigned."""
        echostr = params.get("echostr")
        if echostr is None or not self._fresh_and_signed(params):
            return None
        return echostr

    def parse_push(self, body: bytes, content_type: str = "text/xml") -> list[InboundItem]:
        """Normalize a verified push body; ``content_type`` is ignored, WeChat always sends XML."""
        return push.items_from_fields(push.read_push(body, self._crypto))

    def push_answer(self) -> str:
        """``success``: received, no passive reply (WeChat's recommended answer; it won't retry)."""
        return push.PUSH_ACK_BODY

    # -- reply out (Replier) -------------------------------------------------------------

    def reply(self, target: ReplyTarget, text: str, *, client_ip: str | None = None) -> SentRef:
        """Answer with a customer-service text message; WeChat has nothing else to reply to."""
        if target.kind != "private_message" or not target.user_uid:
            raise Rejected(
                f"WeChat can only answer a user with a customer-service message, not {target.kind!r}"
            )
        return self.send_direct_message(target.user_uid, text)

    def send_direct_message(self, user_uid: str, text: str, *, client_ip: str | None = None) -> SentRef:
        """Send text to openid ``user_uid`` (only within 48 h of the user's last interaction).

        WeChat returns no message id, so ``platform_id`` is a local one.
        """
        check_text(text)
        payload = {"touser": user_uid, "msgtype": "text", "text": {"content": text}}
        data = self._call(CUSTOM_SEND_PATH, payload)
        msgid = data.get("msgid")
        platform_id = str(msgid) if msgid else f"wx-local-{uuid.uuid4().hex}"
        return SentRef(platform_id=platform_id, text=text, created_at=self._now())

    # -- mass send out (MassSender) ---------------------------------------------------------

    def audience_tags(self) -> list[AudienceTag]:
        """The account's user tags with WeChat's own fan counts (``tags/get``), 星标组 included."""
        return mass.tags_from(self._call(mass.TAGS_GET_PATH, None, method="GET"))

    def mass_send(self, tag_id: str, text: str, *, client_msg_id: str) -> SentRef:
        """Send ``text`` to every follower carrying tag ``tag_id`` (``mass/sendall``, text).

        ``client_msg_id`` goes out as WeChat's ``clientmsgid``: a send whose answer was lost
        may simply be sent again with the same key, because WeChat refuses the repeat with
        45065 and names the first send's ``msg_id`` -- answered here as that send's
        :class:`SentRef`, not as an error. (WeChat looks a mass send up by msg_id only, never
        by clientmsgid, so there is no ``find_sent`` for it: the key is what makes a resend
        safe.) ``platform_id`` is the ``msg_id``; WeChat carries the job out after answering.
        The day's allowance spent (45028) is :class:`RateLimited` until Beijing midnight.
        """
        body = mass.sendall_body(tag_id, text, client_msg_id)
        data = self._call(mass.MASS_SENDALL_PATH, body, tolerate=frozenset({CLIENTMSGID_EXISTS}))
        return mass.sent_ref(data, text, self._now())

    # -- media in (MediaReader) ------------------------------------------------------------

    def open_media(self, media: MediaRef) -> MediaStream:
        """A customer's photo, voice note or video, fetched by its MediaId (``media/get``).

        WeChat answers the file's bytes, a JSON error, or for videos ``{"video_url": ...}``
        to fetch the file from. Temporary media expire after three days (40007, NotFound).
        A stale token is refreshed once, as for every call.
        """
        token = self._tokens.get()
        response = self._media_get(token, media.media_id)
        try:
            data = self._media_json(response)
        except TokenExpired as exc:
            if exc.code not in TOKEN_INVALID:
                raise
            self._tokens.invalidate(token)
            response = self._media_get(self._tokens.get(), media.media_id)
            data = self._media_json(response)
        if data is None:
            return _stream_of(response)
        url = data.get("video_url")
        if not isinstance(url, str) or not url:
            raise MalformedPayload("media/get answered JSON without a file", request=MEDIA_GET_PATH)
        try:
            linked = self._http.send(self._http.build_request("GET", url), stream=True)
        except httpx.TransportError as exc:
            raise Unavailable(f"network fault ({type(exc).__name__})", request=MEDIA_GET_PATH) from exc
        if linked.status_code >= 400:
            linked.close()
            raise Unavailable(f"the video link answered HTTP {linked.status_code}", request=MEDIA_GET_PATH)
        return _stream_of(linked)

    def _media_get(self, token: str, media_id: str) -> httpx.Response:
        request = self._http.build_request(
            "GET", MEDIA_GET_PATH, params={"access_token": token, "media_id": media_id}
        )
        try:
            return self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise Unavailable(f"network fault ({type(exc).__name__})", request=MEDIA_GET_PATH) from exc

    def _media_json(self, response: httpx.Response) -> dict[str, Any] | None:
        """None for a file; the JSON (a video link) otherwise; errors raised as usual."""
        content_type = response.headers.get("content-type", "")
        if response.status_code < 400 and not content_type.startswith(("application/json", "text/plain")):
            return None
        try:
            response.read()
        finally:
            response.close()
        return self._decode(response, MEDIA_GET_PATH)

    # -- HTTP ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), tz=UTC)

    def _fetch_token(self) -> tuple[str, float]:
        params = {
            "grant_type": "client_credential",
            "appid": self._config.app_key,
            "secret": self._config.app_secret,
        }
        try:
            data = self._exchange("GET", TOKEN_PATH, params, None)
        except TokenExpired as exc:
            raise TokenExpired(
                f"could not get an access token with this appid/appsecret: {exc.message}",
                code=exc.code,
                request=TOKEN_PATH,
            ) from exc
        token, expires_in = data.get("access_token"), data.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int) or expires_in <= 0:
            raise MalformedPayload("token answer lacks access_token/expires_in", request=TOKEN_PATH)
        return token, float(expires_in)

    def _call(
        self,
        path: str,
        payload: Mapping[str, Any] | None,
        *,
        method: str = "POST",
        tolerate: frozenset[int] = frozenset(),
    ) -> dict[str, Any]:
        """Call with the access token (POST: JSON ``payload``); on a stale token refresh once
        and retry once. Errcodes in ``tolerate`` come back as data instead of errors."""
        body = None if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        token = self._tokens.get()
        try:
            return self._exchange(method, path, {"access_token": token}, body, tolerate)
        except TokenExpired as exc:
            if exc.code not in TOKEN_INVALID:
                raise
            self._tokens.invalidate(token)
        return self._exchange(method, path, {"access_token": self._tokens.get()}, body, tolerate)

    def _backoff(self, attempt: int) -> float:
        return float(min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt) * (0.5 + self._rng()))

    def _exchange(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        body: bytes | None,
        tolerate: frozenset[int] = frozenset(),
    ) -> dict[str, Any]:
        """One logical call. GETs are retried on transient faults; POSTs only when unsent."""
        attempts = 1 + max(0, self._config.max_retries)
        headers = {"Content-Type": "application/json; charset=utf-8"} if body is not None else {}
        for attempt in range(attempts):
            cause: Exception | None = None
            try:
                response = self._http.request(method, path, params=params, content=body, headers=headers)
                return self._decode(response, path, tolerate)
            except httpx.TransportError as exc:
                # Name the fault only: httpx messages may carry the URL with token or secret.
                never_sent = isinstance(exc, _NEVER_SENT)
                fault = f"network fault ({type(exc).__name__})"
                error: PlatformError = (NeverSent if never_sent else Unavailable)(fault, request=path)
                cause, retry = exc, method == "GET" or never_sent
            except Unavailable as exc:
                error, retry = exc, method == "GET"
            if not retry or attempt == attempts - 1:
                raise error from cause
            self._sleep(self._backoff(attempt))
        raise AssertionError("unreachable")

    def _decode(
        self, response: httpx.Response, path: str, tolerate: frozenset[int] = frozenset()
    ) -> dict[str, Any]:
        status = response.status_code
        if status == 429:
            raise RateLimited("WeChat answered HTTP 429", request=path)
        if status >= 500:
            raise Unavailable(f"WeChat answered HTTP {status}", request=path)
        if status >= 400:
            raise Rejected(f"WeChat answered HTTP {status}", request=path)
        try:
            data = response.json()
        except ValueError:
            raise MalformedPayload(
                "WeChat answered something that is not JSON", body=response.text, request=path
            ) from None
        if not isinstance(data, dict):
            raise MalformedPayload(
                "WeChat answered JSON that is not an object", body=response.text, request=path
            )
        errcode = data.get("errcode", 0)
        if not isinstance(errcode, int):
            raise MalformedPayload("WeChat answered a non-integer errcode", body=response.text, request=path)
        if errcode and errcode not in tolerate:
            raise error_for(errcode, str(data.get("errmsg", "")), request=path, now=self._now())
        return data


def _stream_of(response: httpx.Response) -> MediaStream:
    length = response.headers.get("content-length")
    return MediaStream(
        content_type=response.headers.get("content-type", "application/octet-stream"),
        chunks=response.iter_bytes(64 * 1024),
        close=response.close,
        length=int(length) if length and length.isdigit() else None,
    )


def _valid_aes_key(key: str) -> bool:
    """43 base64 characters that decode (with the one "=" WeChat leaves off) to a 32-byte key."""
    if len(key) != 43:
        return False
    try:
        return len(base64.b64decode(key + "=", validate=True)) == 32
    except (binascii.Error, ValueError):
        return False
