"""Helpers shared by the simulator tests."""

from __future__ import annotations

from typing import Any

from servicehub.adapters.simulator import SimConfig


def fast_config(**overrides: Any) -> SimConfig:
    """Pushes that give up quickly, so retry tests run in well under a second."""
    config = SimConfig(push_timeout=0.5, push_retry_delay=0.0)
    for name, value in overrides.items():
        setattr(config, name, value)
    return config
