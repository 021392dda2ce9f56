"""Safe-mode (安全模式) message encryption of WeChat official accounts.

AES-256-CBC with the key from the 43-character EncodingAESKey and its first 16 bytes as
IV; PKCS#7 padding to 32-byte blocks (not AES's 16); plaintext = 16 random bytes,
a 4-byte network-order length, the XML, then the appid. The trailing appid is the only
check that a decrypted body was meant for this account, so it is compared, not trusted.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import struct

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from servicehub.adapters.errors import MalformedPayload

KEY_CHARS = 43
_PAD_BITS = 256  # WeChat pads to 32 bytes
_NONCE_BYTES = 16
_LEN_BYTES = 4


class MessageCrypto:
    """Encrypts and decrypts safe-mode bodies for one official account (appid)."""

    def __init__(self, encoding_aes_key: str, appid: str) -> None:
        if len(encoding_aes_key) != KEY_CHARS:
            raise ValueError(f"EncodingAESKey must be {KEY_CHARS} characters, got {len(encoding_aes_key)}")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("EncodingAESKey is not base64") from exc
        if len(key) != 32:
            raise ValueError("EncodingAESKey must decode to 32 bytes")
        self._key = key
        self._appid = appid.encode("utf-8")

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, xml: bytes, *, nonce: bytes | None = None) -> str:
        """The base64 ``Encrypt`` text for ``xml``; ``nonce`` fixes the 16 random bytes (tests)."""
        head = nonce if nonce is not None else os.urandom(_NONCE_BYTES)
        if len(head) != _NONCE_BYTES:
            raise ValueError("nonce must be 16 bytes")
        plain = head + struct.pack(">I", len(xml)) + xml + self._appid
        padder = padding.PKCS7(_PAD_BITS).padder()
        padded = padder.update(plain) + padder.finalize()
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypt: str) -> bytes:
        """The XML inside ``encrypt``. Any failure reads the same, so errors leak nothing."""
        failure = MalformedPayload("cannot decrypt safe-mode push", body=encrypt[:200])
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise failure from None
        if not data or len(data) % 16:
            raise failure
        decryptor = self._cipher().decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        try:
            unpadder = padding.PKCS7(_PAD_BITS).unpadder()
            plain = unpadder.update(padded) + unpadder.finalize()
        except ValueError:
            raise failure from None
        start = _NONCE_BYTES + _LEN_BYTES
        if len(plain) < start:
            raise failure
        (length,) = struct.unpack(">I", plain[_NONCE_BYTES:start])
        if length > len(plain) - start:
            raise failure
        xml, appid = plain[start : start + length], plain[start + length :]
        if not hmac.compare_digest(appid, self._appid):
            raise failure
        return xml
