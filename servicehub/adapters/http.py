"""The HTTP client the platform adapters use, with one TLS context per process.

httpx builds a new ``ssl.SSLContext`` for every ``Client`` it creates, reading the whole CA
bundle each time: about 2 % of a polling worker's CPU when every poll made a client. The
certificates and settings do not change while the process runs, so one context is shared
(an ``SSLContext`` may be used by many connections and threads at once).
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def http_client(**options: Any) -> httpx.Client:
    """``httpx.Client(**options)`` verifying certificates with the shared context."""
    return httpx.Client(verify=tls_context(), **options)
