"""Passwords, the app secret, and encryption of platform tokens at rest."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

from servicehub.core.settings import Settings

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_dummy: tuple[PasswordHasher, str] | None = None


def spend_a_verification(password: str) -> None:
    """Do the work of one verification that cannot succeed (a missing or deactivated user), so
    the answer takes as long as a real check: no telling accounts apart by timing. The dummy
    hash is made with the current hasher's parameters, so it costs exactly what a real one does."""
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash(secrets.token_urlsafe(16)))
    verify_password(_dummy[1], password)


def secret_key(settings: Settings) -> str:
    """The configured secret, or one generated once and kept in the data directory (mode 0600)."""
    if settings.hub.secret_key:
        return settings.hub.secret_key
    path = settings.data_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


class TokenVault:
    """Encrypts account credentials (a small JSON object) with a key derived from the app secret."""

    def __init__(self, secret: str) -> None:
        digest = hashlib.sha256(("servicehub-credentials:" + secret).encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, data: dict[str, str]) -> bytes:
        return self._fernet.encrypt(json.dumps(data, sort_keys=True).encode())

    def open(self, blob: bytes) -> dict[str, str]:
        try:
            value = json.loads(self._fernet.decrypt(blob))
        except InvalidToken as exc:
            raise ValueError("account credentials cannot be decrypted: was hub.secret_key changed?") from exc
        if not isinstance(value, dict):
            raise ValueError("account credentials are not a JSON object")
        return {str(k): str(v) for k, v in value.items()}
