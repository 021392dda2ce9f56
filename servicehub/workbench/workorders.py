"""Work order pages: the list (sent to me, opened by me, overdue, all), one order, its steps.

Thin views over ``servicehub.workorders``: who sees an order and who may take which step is
decided there (see that package's docstring). An order outside the caller's view answers
404 like one that does not exist; a step the caller's side may not take, 403; a step the
order's state does not allow, the order's page saying why.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from servicehub.core.permissions import Principal
from servicehub.workbench.forms import Form, principal, runtime_of, submit
from servicehub.workbench.rendering import render
from servicehub.workbench.security import guard
from servicehub.workorders.actions import (
    MAX_TEXT,
    do_accept,
    do_add_progress,
    do_close,
    do_open_work_order,
    do_reopen,
    do_return_with_result,
    do_send_back,
)
from servicehub.workorders.reads import BOXES, STATES, list_orders, order_detail


@guard()
async def orders_page(request: Request) -> Response:
    params = request.query_params
    who = principal(request)
    default_box = "inbox" if who.can("workorder.handle") else "sent"
    box = params.get("box", default_box)
    box = box if box in BOXES else default_box
    state = params.get("state", "open")
    state = state if state in STATES else "open"
    before = params.get("before", "")
    runtime = runtime_of(request)

    def load() -> Any:
        with runtime.sessions() as session:
            return list_orders(
                session,
                who,
                box,  # type: ignore[arg-type]
                state,
                int(before) if before.isdigit() and len(before) < 12 else None,
            )

    page = await run_in_threadpool(load)
    return render(request, "workorders.html", page=page, box=box, state=state, boxes=BOXES, states=STATES)


@guard()
async def order_page(request: Request) -> Response:
    order_id = int(request.path_params["order_id"])
    runtime, who = runtime_of(request), principal(request)

    def load() -> Any:
        with runtime.sessions() as session:
            return order_detail(session, who, order_id)

    detail = await run_in_threadpool(load)
    return render(
        request, "workorder.html", d=detail, max_text=MAX_TEXT, notice=request.query_params.get("notice")
    )


@guard("request.transfer")
async def order_open(request: Request) -> Response:
    request_id = int(request.path_params["request_id"])
    runtime = runtime_of(request)

    def act(session: Session, who: Principal, form: Form) -> str:
        order = do_open_work_order(
            session,
            runtime,
            who,
            request_id,
            kind=form.text("kind", max_length=16),
            description=form.text("description", max_length=MAX_TEXT + 100),
            target=form.text("target", max_length=32),
            due_at=form.when("due_at"),
        )
        return f"/requests/{request_id}?notice=order_opened#order-{order.id}"

    return await submit(request, act, back=f"/requests/{request_id}#orders", done="order_opened")


def _step_view(step: str) -> Any:
    @guard()
    async def view(request: Request) -> Response:
        order_id = int(request.path_params["order_id"])
        runtime = runtime_of(request)

        def act(session: Session, who: Principal, form: Form) -> None:
            text = form.text("note", max_length=MAX_TEXT + 100)
            if step == "accept":
                do_accept(session, runtime, who, order_id)
            elif step == "send_back":
                do_send_back(session, runtime, who, order_id, text)
            elif step == "progress":
                do_add_progress(session, runtime, who, order_id, text)
            elif step == "return":
                do_return_with_result(session, runtime, who, order_id, text)
            elif step == "close":
                do_close(session, runtime, who, order_id, text)
            else:
                do_reopen(session, runtime, who, order_id, text)

        return await submit(request, act, back=f"/workorders/{order_id}", done=f"wo_{step}")

    return view


ROUTES: list[BaseRoute] = [
    Route("/workorders", orders_page),
    Route("/workorders/{order_id:id}", order_page),
    Route("/requests/{request_id:id}/workorders", order_open, methods=["POST"]),
    *(
        Route(f"/workorders/{{order_id:id}}/{step.replace('_', '-')}", _step_view(step), methods=["POST"])
        for step in ("accept", "send_back", "progress", "return", "close", "reopen")
    ),
]
