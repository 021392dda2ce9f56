"""The hub's platform errors.

Every adapter translates its platform's failures into exactly these classes, once, at
the boundary (``raise RateLimited(...) from exc``). Nothing above ``adapters`` ever sees
an httpx exception or a platform error code; it sees what to *do* about the failure.
"""

from __future__ import annotations

from datetime import datetime


class PlatformError(Exception):
    """Base class. ``code`` is the platform's own error code when it gave one."""

    retryable: bool = False

    def __init__(self, message: str, *, code: int | None = None, request: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.request = request

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"(code {self.code})")
        if self.request:
            parts.append(f"on {self.request}")
        return " ".join(parts)


class RateLimited(PlatformError):
    """The account (or our IP) used up its quota; wait until ``reset_at``."""

    def __init__(
        self,
        message: str,
        *,
        reset_at: datetime | None = None,
        code: int | None = None,
        request: str | None = None,
    ) -> None:
        super().__init__(message, code=code, request=request)
        self.reset_at = reset_at


class TokenExpired(PlatformError):
    """The account's token is expired, revoked or invalid: it needs re-authorization."""


class NotFound(PlatformError):
    """The target (post, comment, user, message) does not exist or was deleted."""


class Rejected(PlatformError):
    """The platform refused the content or the action (too long, repeated, no permission).

    Not retryable: sending the same thing again would be refused again.
    """


class TextTooLong(Rejected):
    """The text is longer than the platform accepts for its target (checked before sending).

    ``unit`` is what ``limit`` and ``length`` count: "char" (by the platform's own rule)
    or "byte".
    """

    def __init__(self, *, limit: int, length: int, unit: str) -> None:
        super().__init__(f"text is {length} {unit}s long; the platform accepts at most {limit}")
        self.limit, self.length, self.unit = limit, length, unit


class InvalidCredentials(Rejected):
    """A credential form field is missing or malformed; ``field`` names it, ``problem`` says
    how ("required" or "format")."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"credential {field!r}: {problem}")
        self.field, self.problem = field, problem


class Unsupported(PlatformError):
    """The platform has no such capability (WeChat official accounts cannot post publicly)."""

    def __init__(self, message: str, *, capability: str = "") -> None:
        super().__init__(message)
        self.capability = capability


class Unavailable(PlatformError):
    """Network fault, timeout or 5xx: the call may be retried later."""

    retryable = True


class Unconfirmed(PlatformError):
    """No answer after the other side may already have acted (a timeout once the request or
    the e-mail's data went out): whether it arrived is unknown, so it is never resent on
    its own -- a person checks and decides."""


class MalformedPayload(PlatformError):
    """The platform answered with something we cannot parse; the raw body is kept."""

    def __init__(self, message: str, *, body: str = "", request: str | None = None) -> None:
        super().__init__(message, request=request)
        self.body = body[:2000]
