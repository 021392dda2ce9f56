"""Live simulator fixtures: a server on 127.0.0.1:<free port>, an httpx client, one account."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from servicehub.adapters.simulator import SimulatorServer
from tests.adapters.simulator.support import fast_config


@pytest.fixture
async def server() -> AsyncIterator[SimulatorServer]:
    sim = SimulatorServer(fast_config())
    await sim.start("127.0.0.1", 0)
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
async def client(server: SimulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        yield http


@pytest.fixture
async def account(client: httpx.AsyncClient) -> dict[str, Any]:
    """A managed account with no seeded posts or followers, so counts in tests are exact."""
    response = await client.post("/_sim/accounts", json={"seed_posts": 0, "followers": 0})
    assert response.status_code == 201
    return dict(response.json())


@pytest.fixture
def token(account: dict[str, Any]) -> str:
    return str(account["access_token"])
