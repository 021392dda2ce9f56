"""The customer page: identities, masked contact fields, and the contact history."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from servicehub.contact.panel import CustomerTools, customer_tools
from servicehub.leads.reads import LeadRow, leads_of_customer
from servicehub.routing.history import CustomerHistory, customer_history
from servicehub.workbench.forms import principal, runtime_of
from servicehub.workbench.rendering import render
from servicehub.workbench.security import guard


@guard("request.view")
async def customer_page(request: Request) -> Response:
    customer_id = int(request.path_params["customer_id"])
    runtime = runtime_of(request)

    who = principal(request)

    def load() -> tuple[CustomerHistory, CustomerTools, list[LeadRow]]:
        with runtime.sessions() as session:
            history = customer_history(session, who, customer_id)
            tools = customer_tools(session, who, customer_id, history.customer)
            return history, tools, leads_of_customer(session, who, customer_id)

    history, tools, leads = await run_in_threadpool(load)
    return render(
        request,
        "customer.html",
        history=history,
        tools=tools,
        leads=leads,
        can_lead=who.can("lead.manage"),
        notice=request.query_params.get("notice"),
    )


ROUTES = [Route("/customers/{customer_id:id}", customer_page)]
