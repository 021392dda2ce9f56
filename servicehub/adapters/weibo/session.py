"""The one place the Weibo adapter touches the network.

Every call goes through :meth:`WeiboSession.call`: it builds the URL, sends the token in
the ``Authorization: OAuth2`` header (so it never lands in access logs as a query
string), decodes JSON, turns failures into the hub's errors once (``raise ... from``),
and retries what is safe to retry. Reads are retried on :class:`Unavailable` with
jittered exponential backoff; writes only when the request provably never left this
machine, because a resent comment is a duplicate the customer sees.
The transport is injectable (``httpx.MockTransport`` in unit tests).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from servicehub.adapters.base import PlatformConfig, RateLimitStatus
from servicehub.adapters.errors import LimitScope, MalformedPayload, PlatformError, RateLimited, Unavailable
from servicehub.adapters.http import http_client
from servicehub.adapters.weibo.errors import ConnectFailed, is_error_body, to_platform_error
from servicehub.adapters.weibo.mapping import rate_limit_from

BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0
Params = Mapping[str, str | int]
# multipart fields: name -> (file name, bytes, content type)
Files = Mapping[str, tuple[str, bytes, str]]
FANS_API_BASE = "https://m.api.weibo.com"  # where messages/reply lives (reference §2F.5)

# How long to wait when Weibo refuses with a quota error but says nothing usable about when
# it resets (rate_limit_status unreadable): a guess that is neither the hour nor the local
# wall clock's idea of when Weibo's hour ends.
FALLBACK_PAUSE_SECONDS = 600.0
# A user-limit refusal (10023) while rate_limit_status still shows hits left is not the
# hourly quota: only that call waits, briefly (Weibo's per-IP and per-user limits differ).
SHORT_PAUSE_SECONDS = 60.0
IP_LIMIT, USER_LIMIT, API_LIMIT = 10022, 10023, 10024
POSTING_TOO_OFTEN = 20016

# Failures before any byte of the request was written: safe to resend even a write.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class WeiboSession:
    """An ``httpx.Client`` bound to one token, speaking Weibo's URL and error conventions."""

    def __init__(
        self,
        config: PlatformConfig,
        access_token: str | None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None],
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.api_base = config.api_base.rstrip("/")
        self.fans_api_base = (config.extra.get("fans_api_base") or FANS_API_BASE).rstrip("/")
        self.max_retries = max(0, config.max_retries)
        self._sleep = sleep
        self._jitter = jitter
        self._clock = clock
        headers = {"User-Agent": "servicehub-weibo/0.1", "Accept": "application/json"}
        if access_token:
            headers["Authorization"] = f"OAuth2 {access_token}"
        self._client = http_client(
            transport=transport,
            timeout=httpx.Timeout(config.timeout_seconds),
            headers=headers,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def url(self, endpoint: str, *, fans: bool = False) -> str:
        """``statuses/mentions`` -> ``{base}/2/statuses/mentions.json``; ``oauth2/*`` has no ``/2``."""
        base = self.fans_api_base if fans else self.api_base
        if endpoint.startswith("oauth2/"):
            return f"{base}/{endpoint}"
        return f"{base}/2/{endpoint}.json"

    def get(self, endpoint: str, params: Params | None = None) -> Any:
        return self.call("GET", endpoint, params=params, idempotent=True)

    def post(
        self,
        endpoint: str,
        data: Params,
        *,
        fans: bool = False,
        idempotent: bool = False,
        files: Files | None = None,
    ) -> Any:
        """A write; with ``files`` it goes as multipart/form-data (a post's picture)."""
        return self.call("POST", endpoint, data=data, fans=fans, idempotent=idempotent, files=files)

    def call(
        self,
        method: str,
        endpoint: str,
        *,
        params: Params | None = None,
        data: Params | None = None,
        fans: bool = False,
        idempotent: bool,
        files: Files | None = None,
    ) -> Any:
        """Send, decode and translate, retrying what is safe; returns the decoded JSON."""
        attempt = 0
        while True:
            try:
                return self._once(method, endpoint, params=params, data=data, fans=fans, files=files)
            except Unavailable as exc:
                safe = idempotent or isinstance(exc, ConnectFailed)
                if not safe or attempt >= self.max_retries:
                    if attempt:
                        exc.message += f" (gave up after {attempt + 1} attempts)"
                    raise
                self._sleep(self._backoff(attempt))
                attempt += 1
            except RateLimited as exc:
                self._read_limit(exc, endpoint, write=method != "GET")
                raise

    def _backoff(self, attempt: int) -> float:
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0**attempt)
        return ceiling / 2 + self._jitter() * ceiling / 2

    def _read_limit(self, exc: RateLimited, endpoint: str, *, write: bool) -> None:
        """Say what a quota refusal stops and for how long, from Weibo's own answers.

        10022 (our IP) and a 10023 with no user hits left stop the account; 10024 names one
        API, and posting too often (20016) stops writes; a 10023 while hits are left stops
        only this call, briefly. The wait is ``reset_time_in_seconds`` of
        ``account/rate_limit_status`` (not itself counted): relative, so it is right whatever
        this machine's clock says.
        """
        narrow = LimitScope.WRITES if write else LimitScope.CALL
        status = None if endpoint == "account/rate_limit_status" else self._limit_status()
        reset_in = (
            status.reset_in_seconds
            if status is not None and status.reset_in_seconds is not None
            else FALLBACK_PAUSE_SECONDS
        )
        if exc.code == IP_LIMIT:
            exc.scope = LimitScope.ACCOUNT
        elif exc.code == USER_LIMIT:
            if status is not None and status.remaining_user_hits > 0:
                exc.scope, reset_in = narrow, min(reset_in, SHORT_PAUSE_SECONDS)
            else:
                exc.scope = LimitScope.ACCOUNT
        elif exc.code in (API_LIMIT, POSTING_TOO_OFTEN):
            exc.scope = LimitScope.WRITES if write or exc.code == POSTING_TOO_OFTEN else LimitScope.CALL
        else:  # HTTP 429 without a code, follow/password limits: this kind of call only
            exc.scope, reset_in = narrow, min(reset_in, SHORT_PAUSE_SECONDS)
        exc.retry_after = max(1.0, reset_in)
        exc.reset_at = self._clock() + timedelta(seconds=exc.retry_after)

    def _limit_status(self) -> RateLimitStatus | None:
        try:
            body = self._once("GET", "account/rate_limit_status", params=None, data=None, fans=False)
            return rate_limit_from(body, self._clock())
        except PlatformError:
            return None

    def _once(
        self,
        method: str,
        endpoint: str,
        *,
        params: Params | None,
        data: Params | None,
        fans: bool,
        files: Files | None = None,
    ) -> Any:
        url = self.url(endpoint, fans=fans)
        try:
            response = self._client.request(method, url, params=params, data=data, files=files)
        except NEVER_SENT as exc:
            raise ConnectFailed(f"Weibo {endpoint}: cannot connect ({exc})", request=endpoint) from exc
        except httpx.TimeoutException as exc:
            raise Unavailable(
                f"Weibo {endpoint}: no answer within {self.config.timeout_seconds}s", request=endpoint
            ) from exc
        except httpx.HTTPError as exc:
            raise Unavailable(f"Weibo {endpoint}: network error ({exc})", request=endpoint) from exc
        return decode(response, endpoint)


def decode(response: httpx.Response, endpoint: str) -> Any:
    """The JSON of a successful answer, or the hub error for a failed one."""
    try:
        body: Any = orjson.loads(response.content)  # Weibo answers UTF-8; orjson parses 3-5x faster
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if response.is_success:
            raise MalformedPayload(
                f"Weibo {endpoint}: HTTP {response.status_code} answer is not JSON",
                body=response.text,
                request=endpoint,
            ) from exc
        raise to_platform_error(response.status_code, response.text, endpoint) from exc
    if not response.is_success or is_error_body(body):
        raise to_platform_error(response.status_code, body, endpoint)
    return body
