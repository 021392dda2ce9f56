"""E-mail to customers over SMTP (``[email]``), with the standard library's :mod:`smtplib`.

smtplib is enough here: one message per connection, STARTTLS or implicit TLS, optional
login, and -- what matters for sending at most once -- the conversation is driven step by
step, so a failure is known to have happened before the message was handed over (MAIL /
RCPT refused, no connection: safe to try again or final) or after (no answer to the end of
DATA: the server may have taken it, :class:`Unconfirmed`, never resent on its own).

The ``Message-ID`` is the send key, so a copy that did get through twice is recognisable.
SMTP has no delivery reports: a sent e-mail is one the hub's mail server accepted.
"""

from __future__ import annotations

import smtplib
import ssl
from contextlib import suppress
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate
from typing import Protocol

from servicehub.adapters.errors import Rejected, Unavailable, Unconfirmed
from servicehub.core.settings import EmailSettings


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str
    message_id: str  # "<send-key@servicehub>"


class EmailSender(Protocol):
    def send(self, email: Email) -> str: ...

    def close(self) -> None: ...


def message_id(send_key: str) -> str:
    return f"<{send_key.replace(':', '.')}@servicehub>"


class SmtpSender:
    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    def send(self, email: Email) -> str:
        """Hand ``email`` to the mail server; returns its Message-ID."""
        cfg = self.settings
        if not cfg.host:
            raise Unavailable("[email] host is empty: no mail server is configured", request="smtp")
        message = EmailMessage(policy=SMTP)
        message["From"] = formataddr((cfg.sender_name, cfg.sender))
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = email.message_id
        message.set_content(email.body)
        smtp = self._connect()
        try:
            self._hand_over(smtp, message, email.to)
            with suppress(OSError, smtplib.SMTPException):
                smtp.quit()  # it has the message; how the goodbye went does not matter
        finally:
            smtp.close()  # after a failure, no QUIT: the server may not be answering at all
        return email.message_id

    def _hand_over(self, smtp: smtplib.SMTP, message: EmailMessage, to: str) -> None:
        try:
            self._greet(smtp)
            _expect(smtp.mail(self.settings.sender), 250)
            _expect(smtp.rcpt(to), 250, 251)
        except smtplib.SMTPResponseException as exc:
            raise _refusal(exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise Unavailable(f"the mail server dropped us: {type(exc).__name__}", request="smtp") from exc
        try:
            code, answer = smtp.data(message.as_bytes())
        except smtplib.SMTPDataError as exc:  # DATA itself refused: nothing was handed over
            raise _refusal(exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise Unconfirmed(
                f"no answer after the message was handed over ({type(exc).__name__})", request="smtp"
            ) from exc
        if code != 250:
            raise _refusal(code, answer)

    def _connect(self) -> smtplib.SMTP:
        cfg = self.settings
        try:
            if cfg.security == "ssl":
                return smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_seconds, context=self._tls())
            return smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
        except ssl.SSLCertVerificationError as exc:
            raise Rejected(f"the mail server's certificate is not trusted: {exc}", request="smtp") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise Unavailable(f"cannot reach the mail server: {exc}", request="smtp") from exc

    def _greet(self, smtp: smtplib.SMTP) -> None:
        cfg = self.settings
        smtp.ehlo()
        if cfg.security == "starttls":
            try:
                smtp.starttls(context=self._tls())
            except ssl.SSLCertVerificationError as exc:
                raise Rejected(
                    f"the mail server's certificate is not trusted: {exc}", request="smtp"
                ) from exc
            except smtplib.SMTPNotSupportedError as exc:
                raise Rejected("the mail server does not offer STARTTLS", request="smtp") from exc
            smtp.ehlo()
        if cfg.username:
            try:
                smtp.login(cfg.username, cfg.password)
            except smtplib.SMTPAuthenticationError as exc:
                raise Rejected(
                    f"the mail server refused the login ({exc.smtp_code})", request="smtp"
                ) from exc

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.settings.ca_file:
            context.load_verify_locations(self.settings.ca_file)
        return context

    def close(self) -> None:
        return None


def _expect(reply: tuple[int, bytes], *good: int) -> None:
    code, answer = reply
    if code not in good:
        raise smtplib.SMTPResponseException(code, answer)


def _refusal(code: int, answer: bytes | str) -> Rejected | Unavailable:
    text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
    message = f"the mail server answered {code} {text}".strip()
    if 400 <= code < 500:  # a temporary refusal: the server asks to try again later
        return Unavailable(message, request="smtp")
    return Rejected(message, request="smtp")
