"""WeChat push signatures: sha1 over the dictionary-sorted concatenation of the parts.

The plain ``signature`` covers only token, timestamp and nonce -- it proves the sender
knows the Token but says nothing about the body. In safe mode ``msg_signature`` also
covers the ``Encrypt`` element, so only that one binds the body to the sender.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def sign(*parts: str) -> str:
    """Lower-case hex sha1 of the parts sorted as strings and joined without separator."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _same(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected, given.lower())


def check_signature(token: str, params: Mapping[str, str]) -> bool:
    """Whether ``params["signature"]`` matches token, timestamp and nonce."""
    timestamp, nonce = params.get("timestamp"), params.get("nonce")
    if not token or timestamp is None or nonce is None:
        return False
    return _same(sign(token, timestamp, nonce), params.get("signature"))


def check_msg_signature(token: str, params: Mapping[str, str], encrypt: str) -> bool:
    """Whether ``params["msg_signature"]`` matches token, timestamp, nonce and the ciphertext."""
    timestamp, nonce = params.get("timestamp"), params.get("nonce")
    if not token or timestamp is None or nonce is None:
        return False
    return _same(sign(token, timestamp, nonce, encrypt), params.get("msg_signature"))
