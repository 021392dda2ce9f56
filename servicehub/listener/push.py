"""Push receivers' domain side: verify, parse and take in what a platform pushed to us.

Platforms give us seconds to answer (Weibo and WeChat: 5 s, then they retry), so the
work here is bounded: verify the signature, parse, filter the few items in memory, and
store and route them in one transaction, as a poll stores its chunk
(:func:`~servicehub.listener.store.store_and_route`). A push is what an operator should
see soonest: routed here, its request reaches the operator's screen when this answer
leaves, instead of waiting for a routing task behind the queue's polls (under load that
wait was most of a minute). Should routing fail, the messages stay stored and a routing
task takes them. A re-delivered push finds its rows already stored and adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select

from servicehub.accounts.adapters import connected
from servicehub.adapters.base import MessageSource, message_source
from servicehub.adapters.errors import MalformedPayload, Unsupported
from servicehub.core.models import Account
from servicehub.core.runtime import Runtime
from servicehub.listener.filtering import chain_for
from servicehub.listener.store import store_and_route


class PushRejected(Exception):
    """Unknown account, bad signature or unparseable body; the status says which."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class PushResult:
    received: int
    stored: int
    answer: str = ""  # the body the platform expects back (see MessageSource.push_answer)


@contextmanager
def _push_adapter(
    runtime: Runtime, platform: str, account_id: int
) -> Iterator[tuple[Account, MessageSource]]:
    with runtime.sessions() as session:
        account = session.scalars(
            select(Account).where(Account.id == account_id, Account.platform == platform)
        ).first()
        if account is None:
            raise PushRejected(404, "unknown account")
    with connected(runtime, account) as adapter:
        try:
            source = message_source(adapter)
        except Unsupported:
            raise PushRejected(404, f"{platform} does not push") from None
        yield account, source


def verify_echo(runtime: Runtime, platform: str, account_id: int, params: Mapping[str, str]) -> str:
    """The platform's URL check: answer ``echostr`` when the signature is ours."""
    with _push_adapter(runtime, platform, account_id) as (_, adapter):
        echo = adapter.echo(params)
    if echo is None:
        raise PushRejected(403, "bad signature")
    return echo


def receive_push(
    runtime: Runtime,
    platform: str,
    account_id: int,
    params: Mapping[str, str],
    body: bytes,
    content_type: str,
) -> PushResult:
    with _push_adapter(runtime, platform, account_id) as (account, adapter):
        if not adapter.verify_push(params, body):
            raise PushRejected(403, "bad signature")
        try:
            items = adapter.parse_push(body, content_type)
        except MalformedPayload as exc:
            raise PushRejected(400, str(exc)) from exc
        answer = adapter.push_answer()
    if not items:
        return PushResult(0, 0, answer)
    with runtime.sessions() as session:
        account = session.merge(account)
        stored = store_and_route(session, runtime, account, items, chain_for(session, runtime))
        session.commit()
    return PushResult(len(items), len(stored.ids), answer)
