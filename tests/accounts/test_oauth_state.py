"""The hub's OAuth state: bound to the session, short-lived, unforgeable (accounts/connect.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from servicehub.accounts.connect import make_state, verify_state

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def test_state_round_trip_and_binding() -> None:
    state = make_state("s", "session-1", now=NOW)
    assert verify_state("s", state, "session-1", now=NOW)
    assert not verify_state("s", state, "session-2", now=NOW)
    assert not verify_state("other-secret", state, "session-1", now=NOW)


def test_state_expires_and_rejects_garbage() -> None:
    state = make_state("s", now=NOW)
    assert verify_state("s", state, now=NOW + timedelta(minutes=9))
    assert not verify_state("s", state, now=NOW + timedelta(minutes=11))
    assert not verify_state("s", "no-dots-here", now=NOW)
    assert not verify_state("s", "a.b.c", now=NOW)
    nonce, issued, mac = state.split(".")
    assert not verify_state("s", f"{nonce}.{int(issued) + 1}.{mac}", now=NOW)


def test_states_are_unique() -> None:
    assert make_state("s", now=NOW) != make_state("s", now=NOW)
