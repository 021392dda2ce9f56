"""Tunable numbers of the simulator: quotas, token lifetime, push timing, traffic, reactions.

Kept apart from the state so the CLI, the thread runner and ``/_sim/limits`` all change one
object, and so tests can make fans-service pushes fail fast instead of waiting Weibo's 5 s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(slots=True)
class Limits:
    """Hourly quotas. Defaults are Weibo's 普通授权 per-user figures and a per-IP ceiling."""

    user_per_hour: int = 150  # every counted /2/ call of one token
    posts_per_hour: int = 30  # statuses/share, statuses/update, statuses/repost
    comments_per_hour: int = 60  # comments/create, comments/reply
    messages_per_hour: int = 60  # direct_messages/new (fans-service replies are exempt)
    ip_per_hour: int = 10000  # all tokens from one client IP

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def update(self, values: dict[str, Any]) -> None:
        """Set the named quotas; raises ValueError on unknown names or non-positive numbers."""
        known = {f.name for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown limit {name!r}; known: {', '.join(sorted(known))}")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"limit {name!r} must be a non-negative integer")
        for name, value in values.items():
            setattr(self, name, value)


@dataclass(slots=True)
class SimConfig:
    """Everything the simulator can be told at start; most of it can change at run time."""

    seed: int = 1
    traffic_rate: float = 0.0  # generated items per second, 0 = off
    limits: Limits = field(default_factory=Limits)
    token_ttl: int = 7 * 86400  # expires_in of issued tokens, seconds
    code_ttl: int = 600  # how long an authorization code may be exchanged
    message_window: int = 48 * 3600  # messages/reply needs an inbound message this recent
    push_timeout: float = 5.0  # Weibo waits 5 s for the receiver ...
    push_tries: int = 3  # ... and tries three times in all
    push_retry_delay: float = 1.0
    customers: int = 80  # size of the recurring customer pool
    customer_skew: float = 0.9  # Zipf exponent: how much the busiest customers dominate traffic
    default_followers: int = 60  # customers that follow a newly created account
    seed_posts: int = 3  # announcements a new account starts with (comment targets)
    default_safe_domains: tuple[str, ...] = ("example.com", "10010.com")
    # Reactions to the hub's own posts (likes, comments, reposts over a few minutes; see
    # :mod:`.reactions`): off unless asked for, so tests count exactly; the demo turns them on.
    reactions: bool = False
    reaction_intensity: float = 1.0  # 1 = about 24 likes, 8 comments and 4 reposts a post
