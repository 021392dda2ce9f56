"""The runners: async server on a free port, a thread for sync code, and the CLI's options."""

from __future__ import annotations

import httpx

from servicehub.adapters.simulator import SimulatorServer, run_simulator_in_thread
from servicehub.adapters.simulator.__main__ import build_config, parse_args


def test_thread_runner_serves_and_stops() -> None:
    handle = run_simulator_in_thread("127.0.0.1", 0, seed=4, rate=0.0)
    try:
        with httpx.Client(base_url=handle.base_url) as client:
            assert client.get("/_sim/health").json() == {"ok": True}
            created = client.post("/_sim/accounts", json={}).json()
            assert created["screen_name"] == "中国联通客服"
            assert client.get(
                "/2/account/get_uid.json", params={"access_token": created["access_token"]}
            ).json() == {"uid": created["uid"]}
            assert handle.sim.config.seed == 4
    finally:
        handle.stop()
    try:
        httpx.get(handle.base_url + "/_sim/health", timeout=1)
    except httpx.HTTPError:
        pass
    else:
        raise AssertionError("the simulator still answers after stop()")


async def test_async_server_context_manager() -> None:
    async with SimulatorServer(seed=2) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            assert (await client.get("/_sim/state")).json()["seed"] == 2


def test_cli_options_reach_the_config() -> None:
    args = parse_args(["--port", "8901", "--rate", "2", "--seed", "9", "--user-limit", "100000"])
    config = build_config(args)
    assert (args.port, config.seed, config.traffic_rate, config.limits.user_per_hour) == (
        8901,
        9,
        2.0,
        100000,
    )
