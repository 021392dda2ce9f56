"""The base of the hub's expected failures: a one-line message that says what to fix."""

from __future__ import annotations


class HubError(Exception):
    """An expected, user-fixable failure (bad settings, port in use, database down...)."""


class ActionError(HubError, ValueError):
    """An action refused input it understood: nothing was changed.

    ``code`` names the problem (the workbench shows ``error.<code>`` in the user's language,
    filled in with ``params``); the message is the same in English for logs and the API.
    """

    def __init__(self, code: str, message: str = "", **params: object) -> None:
        super().__init__(message or code)
        self.code = code
        self.params = params
