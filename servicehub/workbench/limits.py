"""Request bodies are capped before anything reads them: no endpoint can be made to hold more.

Every endpoint reads its body through Starlette (``request.body()``, ``form()``, ``json()``),
which keeps reading until the client stops. :class:`BodyLimit` sits in front of all of them:
a ``Content-Length`` over the route's cap is answered 413 at once, and a chunked body (no
length) is counted as it arrives and cut off at the cap -- the rest is never read, and the
connection is closed after the 413. The caps are per route family (platform pushes, the
login form, every other form or JSON call).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

KB = 1024
PUSH_BYTES = 256 * KB  # a platform push or a gateway's delivery reports: a small batch
LOGIN_BYTES = 8 * KB  # username, password, CSRF token
FORM_BYTES = 1024 * KB  # every other form and JSON body (a reply is at most a few KB)
# A contact list's CSV import: the file (``publishing.audiences.CSV_MAX_BYTES``, 2 MB) and
# the multipart wrapping around it.
UPLOAD_BYTES = 2 * 1024 * KB + 64 * KB
# A publication's picture (``publishing.images.MAX_BYTES``, 5 MB), its text and the wrapping.
PICTURE_BYTES = 5 * 1024 * KB + 64 * KB


def cap_for(path: str) -> int:
    if path.startswith(("/push/", "/callbacks/")):
        return PUSH_BYTES
    if path.startswith("/publish/lists/") and path.endswith("/import"):
        return UPLOAD_BYTES
    if path == "/publish/new" or (path.startswith("/publish/") and path.endswith("/edit")):
        return PICTURE_BYTES
    if path == "/login":
        return LOGIN_BYTES
    return FORM_BYTES


class BodyTooLarge(Exception):
    """The body went past its cap while being read; answered 413 by :class:`BodyLimit`."""


_REFUSAL = b"request body too large"


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = cap_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            await _refuse(send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise BodyTooLarge
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracking)
        except BodyTooLarge:
            if started:  # a streaming answer already began: nothing sensible left to say
                raise
            await _refuse(send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send) -> None:
    """413 and close: the unread rest of the body is left to the server to discard."""
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(_REFUSAL)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _REFUSAL})
