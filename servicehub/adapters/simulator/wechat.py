"""WeChat official-account wire protocol for the simulator (filled in by the WeChat work)."""

from __future__ import annotations

from aiohttp import web


def register_wechat(app: web.Application) -> None:
    """Add the WeChat routes to the simulator app. Placeholder until the WeChat protocol lands."""
    return None
