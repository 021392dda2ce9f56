"""The work order's state machine: which step may follow which state, and which side takes it.

``TRANSITIONS`` is the whole of it; anything not listed is refused with
``workorder_step_not_allowed`` and changes nothing.
"""

from __future__ import annotations

import enum

from servicehub.core.errors import ActionError
from servicehub.core.models import WorkOrderState

S = WorkOrderState


class Step(enum.StrEnum):
    OPEN = "open"
    ACCEPT = "accept"
    SEND_BACK = "send_back"
    PROGRESS = "progress"
    RETURN = "return"
    CLOSE = "close"
    REOPEN = "reopen"


class Side(enum.StrEnum):
    ORIGIN = "origin"  # whoever may work the request (request.transfer on it)
    RECEIVER = "receiver"  # whoever the order was sent to (workorder.handle)


SIDE = {
    Step.OPEN: Side.ORIGIN,
    Step.ACCEPT: Side.RECEIVER,
    Step.SEND_BACK: Side.RECEIVER,
    Step.PROGRESS: Side.RECEIVER,
    Step.RETURN: Side.RECEIVER,
    Step.CLOSE: Side.ORIGIN,
    Step.REOPEN: Side.ORIGIN,
}

TRANSITIONS: dict[tuple[WorkOrderState | None, Step], WorkOrderState] = {
    (None, Step.OPEN): S.SENT,
    (S.SENT, Step.ACCEPT): S.ACCEPTED,
    (S.SENT, Step.SEND_BACK): S.SENT_BACK,
    (S.ACCEPTED, Step.SEND_BACK): S.SENT_BACK,
    (S.ACCEPTED, Step.PROGRESS): S.ACCEPTED,
    (S.ACCEPTED, Step.RETURN): S.RETURNED,
    (S.SENT, Step.CLOSE): S.CLOSED,  # withdrawn before anyone took it
    (S.SENT_BACK, Step.CLOSE): S.CLOSED,
    (S.RETURNED, Step.CLOSE): S.CLOSED,
    (S.SENT_BACK, Step.REOPEN): S.SENT,  # resent, perhaps with a better description
    (S.RETURNED, Step.REOPEN): S.SENT,  # the result did not settle it
    (S.CLOSED, Step.REOPEN): S.SENT,  # the customer came back about it
}

# The receiver owes an answer: these count against the due time.
ACTIVE = (S.SENT, S.ACCEPTED)
# Not closed yet: the request has a hand-over in flight.
OPEN = (S.SENT, S.ACCEPTED, S.SENT_BACK, S.RETURNED)


def next_state(state: WorkOrderState | None, step: Step) -> WorkOrderState:
    """The state ``step`` leads to from ``state``; ActionError if it may not be taken now."""
    after = TRANSITIONS.get((WorkOrderState(state) if state else None, step))
    if after is None:
        raise ActionError(
            "workorder_step_not_allowed",
            f"cannot {step} a work order that is {state}",
            wo_step=str(step),
            wo_state=str(state),
        )
    return after


def steps_from(state: WorkOrderState) -> list[Step]:
    """The steps that may follow ``state`` (for the page's buttons), in the table's order."""
    return [step for (before, step) in TRANSITIONS if before == state]
