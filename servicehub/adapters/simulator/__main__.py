"""``python -m servicehub.adapters.simulator``: run the simulator until interrupted.

Creates one managed account by default (中国联通客服) and prints its credentials as a JSON
line, so the demo can point ``settings.toml`` at it; ``--app-key`` / ``--app-secret`` pin
the app credentials to values the hub is already configured with.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from contextlib import suppress

from servicehub.adapters.simulator.config import SimConfig
from servicehub.adapters.simulator.server import SimulatorServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m servicehub.adapters.simulator", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8900)
    p.add_argument("--rate", type=float, default=0.0, help="generated items per second (0 = off)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--user-limit", type=int, default=None, help="calls per token per hour (default 150)")
    p.add_argument("--posts-limit", type=int, default=None, help="posts per token per hour (default 30)")
    p.add_argument(
        "--comments-limit", type=int, default=None, help="comments per token per hour (default 60)"
    )
    p.add_argument("--ip-limit", type=int, default=None, help="calls per client IP per hour (default 10000)")
    p.add_argument("--token-ttl", type=int, default=None, help="token lifetime in seconds (default 7 days)")
    p.add_argument(
        "--reactions", action="store_true", help="the hub's posts draw likes, comments and reposts"
    )
    p.add_argument(
        "--reaction-intensity", type=float, default=None, help="how many reactions a post draws (default 1)"
    )
    p.add_argument("--no-default-account", action="store_true")
    p.add_argument("--screen-name", default=None, help="default account's screen name")
    p.add_argument("--app-key", default=None)
    p.add_argument("--app-secret", default=None)
    p.add_argument("--redirect-uri", default=None)
    return p.parse_args(argv)


def build_config(args: argparse.Namespace) -> SimConfig:
    config = SimConfig(seed=args.seed, traffic_rate=args.rate, reactions=args.reactions)
    if args.reaction_intensity is not None:
        config.reaction_intensity = args.reaction_intensity
    if args.token_ttl is not None:
        config.token_ttl = args.token_ttl
    for flag, name in (
        ("user_limit", "user_per_hour"),
        ("posts_limit", "posts_per_hour"),
        ("comments_limit", "comments_per_hour"),
        ("ip_limit", "ip_per_hour"),
    ):
        value = getattr(args, flag)
        if value is not None:
            setattr(config.limits, name, value)
    return config


async def serve(args: argparse.Namespace) -> None:
    server = SimulatorServer(build_config(args))
    base_url = await server.start(args.host, args.port)
    print(json.dumps({"base_url": base_url, "seed": args.seed, "rate": args.rate}), flush=True)
    if not args.no_default_account:
        created = server.sim.create_account(
            screen_name=args.screen_name,
            app_key=args.app_key,
            app_secret=args.app_secret,
            redirect_uri=args.redirect_uri,
        )
        print(json.dumps({"account": created.as_json()}, ensure_ascii=False), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
