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
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from servicehub.adapters.base import PlatformConfig
from servicehub.adapters.errors import MalformedPayload, PlatformError, RateLimited, Unavailable
from servicehub.adapters.http import http_client
from servicehub.adapters.weibo.errors import ConnectFailed, is_error_body, next_top_of_hour, to_platform_error
from servicehub.adapters.weibo.mapping import rate_limit_from

BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0
Params = Mapping[str, str | int]

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
        self.fans_api_base = config.extra.get("fans_api_base", config.api_base).rstrip("/")
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

    def post(self, endpoint: str, data: Params, *, fans: bool = False, idempotent: bool = False) -> Any:
        return self.call("POST", endpoint, data=data, fans=fans, idempotent=idempotent)

    def call(
        self,
        method: str,
        endpoint: str,
        *,
        params: Params | None = None,
        data: Params | None = None,
        fans: bool = False,
        idempotent: bool,
    ) -> Any:
        """Send, decode and translate, retrying what is safe; returns the decoded JSON."""
        attempt = 0
        while True:
            try:
                return self._once(method, endpoint, params=params, data=data, fans=fans)
            except Unavailable as exc:
                safe = idempotent or isinstance(exc, ConnectFailed)
                if not safe or attempt >= self.max_retries:
                    if attempt:
                        exc.message += f" (gave up after {attempt + 1} attempts)"
                    raise
                self._sleep(self._backoff(attempt))
                attempt += 1
            except RateLimited as exc:
                if exc.reset_at is None:
                    exc.reset_at = (
                        next_top_of_hour(self._clock())
                        if endpoint == "account/rate_limit_status"
                        else self._reset_time()
                    )
                raise

    def _backoff(self, attempt: int) -> float:
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0**attempt)
        return ceiling / 2 + self._jitter() * ceiling / 2

    def _reset_time(self) -> datetime:
        """When the quota resets: ask Weibo (that call is not itself counted), else the next hour."""
        try:
            body = self._once("GET", "account/rate_limit_status", params=None, data=None, fans=False)
            return rate_limit_from(body, self._clock()).reset_at
        except PlatformError:
            return next_top_of_hour(self._clock())

    def _once(
        self,
        method: str,
        endpoint: str,
        *,
        params: Params | None,
        data: Params | None,
        fans: bool,
    ) -> Any:
        url = self.url(endpoint, fans=fans)
        try:
            response = self._client.request(method, url, params=params, data=data)
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
