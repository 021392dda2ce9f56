"""The HTTP client the platform adapters use: one TLS context per process, no secrets in logs.

httpx builds a new ``ssl.SSLContext`` for every ``Client`` it creates, reading the whole CA
bundle each time: about 2 % of a polling worker's CPU when every poll made a client. The
certificates and settings do not change while the process runs, so one context is shared
(an ``SSLContext`` may be used by many connections and threads at once).

WeChat takes its access token (and, to issue one, the app secret) in the query string, and
httpx logs every request URL at INFO. :class:`RedactSecrets` masks those values in the
records of the ``httpx`` logger, whatever handlers the process configures.
"""

from __future__ import annotations

import functools
import logging
import re
import ssl
from typing import Any

import httpx

SECRET_PARAMS = re.compile(
    r"\b(access_token|secret|appsecret|client_secret|refresh_token|code|encoding_aes_key)=[^&\s\"']+",
    re.IGNORECASE,
)


class RedactSecrets(logging.Filter):
    """Mask token and secret query parameters in a log record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = SECRET_PARAMS.sub(r"\1=***", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).addFilter(RedactSecrets())


@functools.cache
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def http_client(**options: Any) -> httpx.Client:
    """``httpx.Client(**options)`` verifying certificates with the shared context."""
    return httpx.Client(verify=tls_context(), **options)
