"""How each kind of outbox row is sent, who may queue or retry it, and how it is audited.

One table, :data:`CHANNELS`: replies, posts and private messages go through the account's
platform adapter (a capability of it: ``replier`` / ``publisher``), SMS, MMS and e-mail
through ``servicehub.contact`` -- named by module, as publishing imports no sibling feature
package. A platform write carries the IP of the person who wrote it (Weibo's ``rip``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from servicehub.accounts.pauses import MASS_SENDS, WRITES
from servicehub.adapters.base import (
    Adapter,
    ReplyTarget,
    SentRef,
    direct_messenger,
    mass_sender,
    publisher,
    replier,
)
from servicehub.core.models import Account, OutboundKind, OutboundMessage
from servicehub.core.runtime import Runtime
from servicehub.publishing import images

Write = Callable[[Runtime, Adapter, OutboundMessage], SentRef]
Deliver = Callable[[Runtime, Account, OutboundMessage], SentRef]


@dataclass(frozen=True)
class Channel:
    function: str  # the permission that queues or retries a row of this kind
    audit: str  # "<audit>.sent", "<audit>.failed", "<audit>.retried"
    write: Write | None = None  # platform kinds: one call on the account's adapter
    deliver: str = ""  # other kinds: "module:function" that sends the row itself
    # The platform refuses a second write with the row's send key and names the first (a
    # WeChat mass send's clientmsgid): a try whose answer was lost is simply made again.
    keyed: bool = False
    # What a rate limit met by a write of this kind pauses (unless it names the account).
    pauses: str = WRITES

    @property
    def on_platform(self) -> bool:
        """Through the account's adapter: its failures say something about the account."""
        return self.write is not None


def _reply(runtime: Runtime, adapter: Adapter, row: OutboundMessage) -> SentRef:
    return replier(adapter).reply(ReplyTarget(**row.target), row.text, client_ip=row.rip)


def _post(runtime: Runtime, adapter: Adapter, row: OutboundMessage) -> SentRef:
    picture = row.target.get("image")
    image = images.load(runtime, str(picture)) if picture else None
    return publisher(adapter).publish_post(row.text, client_ip=row.rip, image=image)


def _direct_message(runtime: Runtime, adapter: Adapter, row: OutboundMessage) -> SentRef:
    return direct_messenger(adapter).send_direct_message(
        str(row.target["user_uid"]), row.text, client_ip=row.rip
    )


def _mass(runtime: Runtime, adapter: Adapter, row: OutboundMessage) -> SentRef:
    return mass_sender(adapter).mass_send(
        str(row.target["tag_id"]), row.text, client_msg_id=str(row.send_key)
    )


CONTACT = "servicehub.contact.channels"
CHANNELS: dict[OutboundKind, Channel] = {
    OutboundKind.REPLY: Channel("request.reply", "reply", write=_reply),
    OutboundKind.POST: Channel("publish", "publish", write=_post),
    OutboundKind.DIRECT_MESSAGE: Channel("publish", "publish", write=_direct_message),
    OutboundKind.MASS: Channel("publish", "publish", write=_mass, keyed=True, pauses=MASS_SENDS),
    OutboundKind.SMS: Channel("customer.contact", "contact", deliver=f"{CONTACT}:send_sms"),
    OutboundKind.MMS: Channel("customer.contact", "contact", deliver=f"{CONTACT}:send_sms"),
    OutboundKind.EMAIL: Channel("customer.contact", "contact", deliver=f"{CONTACT}:send_email"),
}
OFF_PLATFORM = tuple(kind for kind, channel in CHANNELS.items() if not channel.on_platform)


@cache
def deliverer(path: str) -> Deliver:
    """The function ``module:name`` that sends an off-platform row."""
    module, _, name = path.partition(":")
    found: Deliver = getattr(importlib.import_module(module), name)
    return found


def target_of(row: OutboundMessage) -> ReplyTarget:
    """Where a platform row's write goes, as the adapter's read-back takes it."""
    if row.kind == OutboundKind.REPLY:
        return ReplyTarget(**row.target)
    if row.kind in (OutboundKind.POST, OutboundKind.MASS):
        return ReplyTarget(kind=str(row.kind))
    return ReplyTarget(kind="private_message", user_uid=str(row.target["user_uid"]))
