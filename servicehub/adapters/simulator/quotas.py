"""Hourly quotas per token and per client IP, and the ``account/rate_limit_status`` view.

Windows are clock hours of the simulated clock (``reset_time`` is the top of the next
+0800 hour). A call that is refused is not counted. The "storm" fault refuses every
counted call with 10023, as Weibo does when an unaudited app is throttled.
"""

from __future__ import annotations

import math
from typing import Any

from servicehub.adapters.simulator.api_errors import ApiError
from servicehub.adapters.simulator.clock import SimClock, hour_bucket, local_time, next_hour
from servicehub.adapters.simulator.config import Limits

# quota group -> the API names rate_limit_status lists for it
GROUP_APIS: dict[str, tuple[str, ...]] = {
    "post": ("/statuses/update", "/statuses/share", "/statuses/repost"),
    "comment": ("/comments/create", "/comments/reply"),
    "message": ("/direct_messages/new",),
}


class QuotaBook:
    """Counters for the current hour; they start again from zero when the hour turns."""

    def __init__(self, limits: Limits, clock: SimClock) -> None:
        self.limits = limits
        self.clock = clock
        self.storm = False
        self._hour = hour_bucket(clock.now())
        self._user: dict[str, int] = {}
        self._group: dict[tuple[str, str], int] = {}
        self._ip: dict[str, int] = {}

    def reset(self) -> None:
        self.storm = False
        self._user.clear()
        self._group.clear()
        self._ip.clear()

    def _roll(self) -> None:
        hour = hour_bucket(self.clock.now())
        if hour != self._hour:
            self._hour = hour
            self._user.clear()
            self._group.clear()
            self._ip.clear()

    def group_limit(self, group: str) -> int:
        return {
            "post": self.limits.posts_per_hour,
            "comment": self.limits.comments_per_hour,
            "message": self.limits.messages_per_hour,
        }[group]

    def charge(self, token: str, ip: str, group: str | None, api: str) -> None:
        """Count one call or raise 10022 / 10023 / 10024 without counting it."""
        self._roll()
        if self._ip.get(ip, 0) >= self.limits.ip_per_hour:
            raise ApiError(10022)
        if self.storm or self._user.get(token, 0) >= self.limits.user_per_hour:
            raise ApiError(10023)
        if group is not None and self._group.get((token, group), 0) >= self.group_limit(group):
            raise ApiError(10024, api)
        self._ip[ip] = self._ip.get(ip, 0) + 1
        self._user[token] = self._user.get(token, 0) + 1
        if group is not None:
            self._group[(token, group)] = self._group.get((token, group), 0) + 1

    def status(self, token: str, ip: str) -> dict[str, Any]:
        """The §5.3 shape, including per-API limits for the write groups."""
        self._roll()
        now = self.clock.now()
        reset_at = next_hour(now)
        remaining_user = 0 if self.storm else max(0, self.limits.user_per_hour - self._user.get(token, 0))
        api_limits = []
        for group, apis in GROUP_APIS.items():
            limit = self.group_limit(group)
            remaining = max(0, limit - self._group.get((token, group), 0))
            for api in apis:
                api_limits.append(
                    {"api": api, "limit": limit, "limit_time_unit": "HOURS", "remaining_hits": remaining}
                )
        return {
            "api_rate_limits": api_limits,
            "ip_limit": self.limits.ip_per_hour,
            "limit_time_unit": "HOURS",
            "remaining_ip_hits": max(0, self.limits.ip_per_hour - self._ip.get(ip, 0)),
            "remaining_user_hits": remaining_user,
            "reset_time": local_time(reset_at),
            "reset_time_in_seconds": max(0, math.ceil(reset_at - now)),
            "user_limit": self.limits.user_per_hour,
        }
