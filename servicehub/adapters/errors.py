"""The hub's platform errors.

Every adapter translates its platform's failures into exactly these classes, once, at
the boundary (``raise RateLimited(...) from exc``). Nothing above ``adapters`` ever sees
an httpx exception or a platform error code; it sees what to *do* about the failure.
"""

from __future__ import annotations

import enum
from datetime import datetime


class LimitScope(enum.StrEnum):
    """What a rate limit stops: the one call that met it, every write, or the whole account."""

    CALL = "call"  # this API only (Weibo 10024 on a read, or a user limit with hits left)
    WRITES = "writes"  # every write of the account (posting too often, a write API's limit)
    ACCOUNT = "account"  # everything the account does (its hourly user or IP quota is spent)


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
    """A quota is used up. ``scope`` says what it stops; ``retry_after`` is how many seconds
    the platform itself said remain until it resets (relative, so a skewed local clock does
    not matter); ``reset_at`` is the same moment where only an absolute one is known."""

    def __init__(
        self,
        message: str,
        *,
        reset_at: datetime | None = None,
        retry_after: float | None = None,
        scope: LimitScope = LimitScope.ACCOUNT,
        code: int | None = None,
        request: str | None = None,
    ) -> None:
        super().__init__(message, code=code, request=request)
        self.reset_at = reset_at
        self.retry_after = retry_after
        self.scope = scope


class TokenExpired(PlatformError):
    """The account's token is expired, revoked or invalid: it needs re-authorization."""


class NotFound(PlatformError):
    """The target (post, comment, user, message) does not exist or was deleted."""


class Rejected(PlatformError):
    """The platform refused the content or the action (too long, repeated, no permission).

    Not retryable: sending the same thing again would be refused again.
    """


class Repeated(Rejected):
    """The platform refuses a write because this account just posted the same content there
    (Weibo 20017/20019/20111/20306). After a write that may already have gone through, that
    means it did."""


class PermissionMissing(Rejected):
    """The app has no permission for this API (Weibo 10014): asking again will not help; an
    administrator must obtain the permission or take the data another way."""


class WindowClosed(Rejected):
    """The platform no longer accepts a reply to this person: the reply window (48 hours
    after their last message) is closed or its count used up. Final; nothing else waits."""


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


class AcceptedLater(PlatformError):
    """The platform took the write and will publish it shortly, without an object to show for
    it yet (Weibo 20032 "发布成功，目前服务器可能会有延迟"): it is sent; never send it again."""


class Unsupported(PlatformError):
    """The platform has no such capability (WeChat official accounts cannot post publicly)."""

    def __init__(self, message: str, *, capability: str = "") -> None:
        super().__init__(message)
        self.capability = capability


class Unavailable(PlatformError):
    """Network fault, timeout or 5xx: the call may be retried later.

    For a write it is *ambiguous*: the request may have reached the platform and been acted
    on before the answer was lost. Only :class:`NeverSent` says it surely was not.
    """

    retryable = True


class Unconfirmed(PlatformError):
    """No answer after the other side may already have acted (a timeout once the request or
    the e-mail's data went out): whether it arrived is unknown, so it is never resent on
    its own -- a person checks and decides."""


class NeverSent(Unavailable):
    """The request provably never left this machine (no connection), so even a write may be
    sent again without any check."""


class MalformedPayload(PlatformError):
    """The platform answered with something we cannot parse; the raw body is kept."""

    def __init__(self, message: str, *, body: str = "", request: str | None = None) -> None:
        super().__init__(message, request=request)
        self.body = body[:2000]
