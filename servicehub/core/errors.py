"""The base of the hub's expected failures: a one-line message that says what to fix."""

from __future__ import annotations


class HubError(Exception):
    """An expected, user-fixable failure (bad settings, port in use, database down...)."""
