"""Phone, CRM, SMS and e-mail in the embedded demo.

- The built-in CRM (``[crm] backend = "builtin"``) holds customers whose phones the
  simulated customers give in private messages (``corpus.CRM_PHONES``):
  :func:`seed_contact_demo`, called once from ``demo.seed_demo``, idempotent.
- :class:`ContactDemo` starts, when settings name no real ones (``[sms] url`` and
  ``[email] host`` empty), the SMS gateway simulator -- it posts delivery reports back to
  the hub -- and a local mail server that keeps what it receives; both on free ports, shown
  in the start-up banner (``/_sim/sms/outbox`` and ``/_sim/mail`` list what they got).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TextIO

from sqlalchemy import select

from servicehub.adapters.simulator import corpus
from servicehub.contact.simulator import ContactSimConfig, ContactSimThread
from servicehub.contact.smtp_sink import SmtpSink
from servicehub.core.models import CrmEntry
from servicehub.core.runtime import Runtime
from servicehub.core.settings import Settings

# (CRM number, name, plan, tier, e-mail) for each of corpus.CRM_PHONES, in order.
CRM_PEOPLE = (
    ("CRM0001001", "王建国", "5G畅爽套餐 129元", 2, "wangjg@example.com"),
    ("CRM0001002", "李秀英", "冰激凌套餐 99元", 0, "lixiuying@example.com"),
    ("CRM0001003", "张丽", "5G尊享套餐 199元", 3, "zhangli@example.com"),
    ("CRM0001004", "刘强", "129元融合套餐（含宽带）", 1, ""),
    ("CRM0001005", "陈静", "大王卡", 0, "chenjing@example.com"),
    ("CRM0001006", "杨帆", "39元流量王", 0, "yangfan@example.com"),
)


def seed_contact_demo(runtime: Runtime) -> None:
    """The demo CRM's records (added once; an edited record is left as it is)."""
    with runtime.sessions.begin() as session:
        known = set(session.scalars(select(CrmEntry.crm_number)))
        for phone, (number, name, plan, tier, email) in zip(corpus.CRM_PHONES, CRM_PEOPLE, strict=True):
            if number not in known:
                session.add(
                    CrmEntry(crm_number=number, phone=phone, name=name, plan=plan, tier=tier, email=email)
                )


class ContactDemo:
    """The SMS gateway simulator and the local mail server of the embedded hub."""

    def __init__(self, settings: Settings) -> None:
        self.sms: ContactSimThread | None = None
        self.mail: SmtpSink | None = None
        host = settings.simulator.host
        if not settings.sms.url:
            config = ContactSimConfig(
                access_key_id=settings.sms.access_key_id, access_key_secret=settings.sms.access_key_secret
            )
            self.sms = ContactSimThread(host, 0, config)
            self.sms.sim.callback_url = f"{settings.public_url}/callbacks/sms/{settings.sms.provider}"
        if not settings.email.host:
            self.mail = SmtpSink(host, 0).start()
            if self.sms is not None:
                self.sms.sim.mailbox = self._mailbox

    def _mailbox(self) -> list[dict[str, Any]]:
        assert self.mail is not None
        return [
            {"from": m.mail_from, "to": m.rcpt_tos, "subject": str(m.message["Subject"]), "text": m.text}
            for m in self.mail.received()
        ]

    def settings_for(self, settings: Settings) -> Settings:
        """``settings`` pointed at what this started."""
        if self.sms is not None:
            settings = dataclasses.replace(
                settings, sms=dataclasses.replace(settings.sms, url=self.sms.sms_url)
            )
        if self.mail is not None:
            email = dataclasses.replace(
                settings.email, host=self.mail.host, port=self.mail.port, security="none"
            )
            settings = dataclasses.replace(settings, email=email)
        return settings

    def print_banner(self, out: TextIO) -> None:
        lines = []
        if self.sms is not None:
            lines.append(f"  短信模拟器 SMS gateway: {self.sms.base_url}/_sim/sms/outbox")
        if self.mail is not None:
            where = f"{self.sms.base_url}/_sim/mail" if self.sms is not None else f"port {self.mail.port}"
            lines.append(
                f"  本地邮件服务器 Mail:  {self.mail.host}:{self.mail.port}  (已收邮件 received: {where})"
            )
        if lines:
            out.write("\n".join(lines) + "\n")
            out.flush()

    def stop(self) -> None:
        if self.mail is not None:
            self.mail.stop()
        if self.sms is not None:
            self.sms.stop()
