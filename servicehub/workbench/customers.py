"""The customer page: identities, masked contact fields, and the contact history."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from servicehub.contact.panel import CustomerTools, customer_tools
from servicehub.routing.history import CustomerHistory, customer_history
from servicehub.workbench.forms import principal, runtime_of
from servicehub.workbench.rendering import render
from servicehub.workbench.security import guard


@guard("request.view")
async def customer_page(request: Request) -> Response:
    customer_id = int(request.path_params["customer_id"])
    runtime = runtime_of(request)

    def load() -> tuple[CustomerHistory, CustomerTools]:
        with runtime.sessions() as session:
            history = customer_history(session, principal(request), customer_id)
            return history, customer_tools(session, principal(request), customer_id, history.customer)

    history, tools = await run_in_threadpool(load)
    return render(
        request, "customer.html", history=history, tools=tools, notice=request.query_params.get("notice")
    )


ROUTES = [Route("/customers/{customer_id:id}", customer_page)]
