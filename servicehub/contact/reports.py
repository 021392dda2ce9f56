"""Delivery reports from the SMS gateway (``POST /callbacks/sms/<provider>``).

A report moves its row -- found by the send key the gateway got as ``OutId`` -- from sent
to delivered, or to failed with the carrier's reason, exactly once: the change is a
conditional UPDATE, so a duplicate report, or one racing another, changes nothing. A report
also settles a row the hub was unsure of (``unknown``, or waiting to retry after a lost
answer): the gateway evidently had it. A report for a row still being sent is refused for
now (the answer says "try again"; gateways re-push), so the sender cannot overwrite it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from servicehub.contact.channels import clients
from servicehub.contact.sms import DeliveryReport
from servicehub.core import audit
from servicehub.core.db import utcnow
from servicehub.core.models import DeliveryState, ErrorKind, OutboundKind, OutboundMessage
from servicehub.core.runtime import Runtime

log = logging.getLogger(__name__)

SETTLEABLE = (DeliveryState.SENT, DeliveryState.UNKNOWN, DeliveryState.RETRY)
IN_FLIGHT = (DeliveryState.QUEUED, DeliveryState.SENDING)


class UnknownProvider(LookupError):
    """No gateway of that name is configured (the callback URL names ``[sms] provider``)."""


def receive_sms_reports(
    runtime: Runtime, provider: str, headers: Mapping[str, str], body: bytes
) -> Counter[str]:
    """Check and apply a gateway's reports; counts per outcome (applied, duplicate, unknown,
    early). Raises :class:`UnknownProvider`, or ``ReportRefused`` for a report not believed."""
    if provider != runtime.settings.sms.provider:
        raise UnknownProvider(provider)
    reports = clients(runtime).sms.read_reports(headers, body)
    outcomes: Counter[str] = Counter()
    with runtime.sessions() as session:
        for report in reports:
            outcomes[apply_report(session, runtime, report)] += 1
        session.commit()
    return outcomes


def apply_report(session: Session, runtime: Runtime, report: DeliveryReport) -> str:
    row = session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.send_key == report.out_id,
            OutboundMessage.kind.in_((OutboundKind.SMS, OutboundKind.MMS)),
        )
    ).first()
    if row is None:
        log.info("delivery report for unknown send %s (%s)", report.out_id, report.biz_id)
        return "unknown"
    if row.state in IN_FLIGHT:
        return "early"
    delivered = report.delivered
    changed = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == row.id, OutboundMessage.state.in_(SETTLEABLE))
        .values(
            state=DeliveryState.DELIVERED if delivered else DeliveryState.FAILED,
            error_kind=None if delivered else ErrorKind.UNDELIVERED,
            error="" if delivered else f"{report.code} {report.message}".strip()[:500],
            delivered_at=(report.reported_at or utcnow()) if delivered else None,
            platform_id=func.coalesce(OutboundMessage.platform_id, report.biz_id or None),
            sent_at=func.coalesce(OutboundMessage.sent_at, utcnow()),
        )
        .execution_options(synchronize_session=False)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        return "duplicate"
    audit.record(
        session,
        "contact.delivered" if delivered else "contact.undelivered",
        "outbound",
        row.id,
        code=report.code,
        before=str(row.state),
    )
    if row.request_id is not None:
        runtime.publish_on_commit(
            session, {"type": "request", "request_id": row.request_id, "account_id": row.account_id}
        )
    return "applied"
