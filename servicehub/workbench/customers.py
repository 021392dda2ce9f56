"""The customer page: identities, masked contact fields, and the contact history."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from servicehub.routing.history import CustomerHistory, customer_history
from servicehub.workbench.forms import principal, runtime_of
from servicehub.workbench.rendering import render
from servicehub.workbench.security import guard


@guard("request.view")
async def customer_page(request: Request) -> Response:
    customer_id = int(request.path_params["customer_id"])
    runtime = runtime_of(request)

    def load() -> CustomerHistory:
        with runtime.sessions() as session:
            return customer_history(session, principal(request), customer_id)

    return render(request, "customer.html", history=await run_in_threadpool(load))


ROUTES = [Route("/customers/{customer_id:id}", customer_page)]
