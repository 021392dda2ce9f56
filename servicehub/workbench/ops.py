"""``/metrics``: the hub's numbers in Prometheus text format, for the configured scrapers only.

Counters and the assignment-latency histogram come from the store every process adds to
(``core.metrics``); queue depth, the API budget left per account and the Celery queue
lengths are read when scraped. ``prometheus_client`` writes the exposition format (names,
HELP/TYPE lines, label escaping, histogram buckets) -- a kept library rather than our own
string formatting; its per-process registry is not used for the counts, which must add up
across processes and machines.

Access: a request bearing ``[ops] metrics_token`` as a bearer token, or coming from one of
``[ops] metrics_addresses``; with neither configured, loopback only when embedded and nobody
in production. Anything else gets 404, as if there were nothing here.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from servicehub.accounts.budget import budget_for
from servicehub.core import metrics
from servicehub.core.models import OPEN_STATES, Account, ServiceRequest
from servicehub.core.runtime import Runtime
from servicehub.workbench.forms import runtime_of
from servicehub.workbench.security import client_ip

LOOPBACK = ("127.0.0.0/8", "::1/128")
CELERY_QUEUES = ("celery",)


def allowed(runtime: Runtime, request: Request) -> bool:
    ops = runtime.settings.ops
    given = request.headers.get("authorization", "")
    if ops.metrics_token and hmac.compare_digest(given.encode(), f"Bearer {ops.metrics_token}".encode()):
        return True
    networks = [n.strip() for n in ops.metrics_addresses.split(",") if n.strip()]
    if not networks and not ops.metrics_token and runtime.settings.hub.mode != "production":
        networks = list(LOOPBACK)
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)


class HubCollector(Collector):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Any]:
        store = metrics.store()
        intake = CounterMetricFamily(
            "servicehub_intake_messages", "Messages taken in (new ones)", labels=["account_id", "source"]
        )
        for labels, value in sorted(store.read("intake").items()):
            intake.add_metric(list(labels), value)
        yield intake
        failures = CounterMetricFamily(
            "servicehub_outbox_failures",
            "Failed sends by platform and error kind",
            labels=["platform", "kind"],
        )
        for labels, value in sorted(store.read("outbox_failures").items()):
            failures.add_metric(list(labels), value)
        yield failures
        yield self._latency(store.read("assignment_latency"))
        yield from self._read_now()

    def _latency(self, values: dict[metrics.Labels, float]) -> HistogramMetricFamily:
        buckets = [(repr(b), values.get(("le", repr(b)), 0.0)) for b in metrics.LATENCY_BUCKETS]
        buckets.append(("+Inf", values.get(("le", "+Inf"), 0.0)))
        family = HistogramMetricFamily(
            "servicehub_assignment_latency_seconds", "From a message reaching the hub to its request assigned"
        )
        family.add_metric([], buckets, values.get(("sum",), 0.0))
        return family

    def _read_now(self) -> Iterator[Any]:
        runtime = self.runtime
        depth = GaugeMetricFamily(
            "servicehub_queue_depth", "Open requests by state and priority", labels=["state", "priority"]
        )
        budget = GaugeMetricFamily(
            "servicehub_api_budget_remaining", "Platform API calls left this hour", labels=["account_id"]
        )
        with runtime.sessions() as session:
            rows = session.execute(
                select(ServiceRequest.state, ServiceRequest.priority, func.count())
                .where(ServiceRequest.state.in_([str(s) for s in OPEN_STATES]))
                .group_by(ServiceRequest.state, ServiceRequest.priority)
            )
            for state, priority, count in rows:
                depth.add_metric([str(state), str(priority)], count)
            account_ids = list(session.scalars(select(Account.id).order_by(Account.id)))
        left = budget_for(runtime)
        for account_id in account_ids:
            budget.add_metric([str(account_id)], left.remaining(account_id))
        yield depth
        yield budget
        if runtime.settings.tasks.backend == "celery":
            import redis

            client = redis.Redis.from_url(runtime.settings.broker_url, socket_timeout=2)
            queues = GaugeMetricFamily("servicehub_celery_queue_length", "Tasks waiting", labels=["queue"])
            for queue in CELERY_QUEUES:
                queues.add_metric([queue], int(client.llen(queue)))
            yield queues


async def metrics_page(request: Request) -> Response:
    runtime = runtime_of(request)
    if not allowed(runtime, request):
        return PlainTextResponse("not found", status_code=404)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector(runtime))
    body = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


ROUTES: list[BaseRoute] = [Route("/metrics", metrics_page)]
