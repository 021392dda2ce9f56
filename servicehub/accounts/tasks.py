"""Account tasks: name the accounts the platform could not name when they were connected."""

from __future__ import annotations

from servicehub.accounts.connect import refresh_pending_names
from servicehub.core.runtime import get_runtime
from servicehub.core.tasks import task


@task("accounts.refresh_names", every=300.0)
def refresh_names() -> int:
    """Accounts named by their uid (``users/show`` failed during the OAuth callback) get the
    platform's name once it answers."""
    return len(refresh_pending_names(get_runtime()))
