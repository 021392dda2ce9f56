"""A local SMTP server that keeps what it receives (aiosmtpd): the demo's mail server, and
the tests' -- plain, STARTTLS or implicit TLS, optionally with a login, and able to answer
the end of DATA too late (to show a send whose answer was lost)."""

from __future__ import annotations

import asyncio
import ssl
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from servicehub.contact.loop import LoopThread


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain",))
        return str(body.get_content()) if body is not None else ""


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    # aiosmtpd calls its hooks handle_<VERB>.
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self.sink.refuse.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.sink.lock:
            self.sink.messages.append(ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), parsed))
            hold, self.sink.hold_next = self.sink.hold_next, 0.0
        if hold:  # it has the message, but the client gives up waiting for the answer
            await asyncio.sleep(hold)
        return "250 Message accepted for delivery"


class SmtpSink:
    """Run with :meth:`start` (in a thread of its own); ``messages`` holds what arrived."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        users: dict[str, str] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.tls, self.implicit_tls, self.users = tls, implicit_tls, users or {}
        self.messages: list[ReceivedMail] = []
        self.refuse: dict[str, str] = {}  # recipient -> SMTP answer, e.g. "550 no such user"
        self.hold_next = 0.0
        self.lock = threading.Lock()
        self._loop: LoopThread | None = None
        self._server: asyncio.base_events.Server | None = None

    def start(self) -> SmtpSink:
        self._loop = LoopThread("smtp-sink")
        self.port = self._loop.call(self._listen())
        return self

    async def _listen(self) -> int:
        handler = _Handler(self)

        def protocol() -> SMTP:
            options: dict[str, Any] = {"hostname": "hub-smtp-sink", "ident": "servicehub sink"}
            if self.tls is not None and not self.implicit_tls:
                options["tls_context"] = self.tls
            if self.users:
                options["authenticator"] = self._authenticate
                options["auth_require_tls"] = False
            return SMTP(handler, **options)

        ssl_context = self.tls if self.implicit_tls else None
        self._server = await asyncio.get_running_loop().create_server(
            protocol, self.host, self.port, ssl=ssl_context
        )
        return int(self._server.sockets[0].getsockname()[1])

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and self.users.get(data.login.decode()) == data.password.decode()
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    def stop(self) -> None:
        if self._loop is None:
            return

        async def down() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        self._loop.call(down())
        self._loop.stop()
        self._loop = None

    def received(self) -> list[ReceivedMail]:
        with self.lock:
            return list(self.messages)

    def __enter__(self) -> SmtpSink:
        return self.start() if self._loop is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
