"""Hole 4: the live-update stream tells each user only about what they may see, and ends
when their session does -- checked with real browsersessions on a running hub."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from servicehub.core.people import do_update_user
from servicehub.core.tasks import SyncRunner
from tests.factories import PASSWORD, principal_of
from tests.live import LiveHub, live_hub
from tests.workbench.conftest import csrf_of, hear


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[LiveHub]:
    with live_hub(tmp_path, SyncRunner()) as running:
        yield running


class Listener:
    """One logged-in browser with /events open, collecting what arrives until the stream ends."""

    def __init__(self, hub: LiveHub, username: str) -> None:
        self.client = httpx.Client(base_url=hub.web_url, timeout=30)
        token = csrf_of(self.client.get("/login").text)
        answer = self.client.post(
            "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
        )
        assert answer.status_code == 303, answer.text
        self.events: list[dict[str, object]] = []
        self.listening = threading.Event()
        self.ended = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self.listening.wait(10), "the stream did not open"

    def _read(self) -> None:
        try:
            with self.client.stream("GET", "/events") as stream:
                for line in stream.iter_lines():
                    if line.startswith("retry:"):
                        self.listening.set()
                    elif line.startswith("data: "):
                        self.events.append(json.loads(line[len("data: ") :]))
        except httpx.HTTPError:
            pass
        self.ended.set()

    def request_ids(self) -> set[object]:
        found: set[object] = set()
        for event in self.events:
            found.update(event.get("request_ids", [event.get("request_id")]))  # type: ignore[arg-type]
        return found - {None}

    def close(self) -> None:
        self.client.close()


def test_an_event_of_one_company_never_reaches_another(hub: LiveHub) -> None:
    world = hub.world
    inhouse, partner, other, manager = (Listener(hub, u) for u in ("zhangwei", "lina", "zhaolei", "manager"))
    try:
        mine = hear(hub.runtime, world.inhouse_account_id, "4900000000000101", "宽带断网三天了")
        theirs = hear(hub.runtime, world.partner_account_id, "4900000000000102", "上海信号差", author_uid="9")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not {mine, theirs} <= manager.request_ids():
            time.sleep(0.1)
        time.sleep(0.5)  # anything else in flight arrives now
        assert manager.request_ids() == {mine, theirs}
        assert inhouse.request_ids() == {mine}
        assert partner.request_ids() == {theirs}
        assert other.events == []  # a partner with no account of these: nothing, not even timing
        leaked = [e for e in partner.events if world.inhouse_account_id in (e.get("account_ids") or [])]
        assert leaked == []
    finally:
        for listener in (inhouse, partner, other, manager):
            listener.close()


def test_a_deactivated_users_open_stream_ends(hub: LiveHub) -> None:
    listener = Listener(hub, "zhangwei")
    try:
        with hub.runtime.sessions.begin() as s:
            admin = principal_of(s, hub.world.admin_id)
            do_update_user(
                s,
                admin,
                hub.world.operator_id,
                display_name="张伟",
                is_active=False,
                capacity=None,
                shifts="",
                team_ids=[],
                roles=None,
            )
        assert listener.ended.wait(15), "the stream of a deactivated user kept going"
        hear(hub.runtime, hub.world.inhouse_account_id, "4900000000000103", "还在吗")
        time.sleep(0.5)
        assert listener.request_ids() == set()
    finally:
        listener.close()


def test_a_publication_event_reaches_only_those_who_may_look_at_it(hub: LiveHub) -> None:
    from servicehub.core.models import Category
    from servicehub.publishing.compose import Draft, TargetSpec
    from servicehub.publishing.publications import do_submit

    world = hub.world
    names = ("zhangwei", "lina", "zhaolei", "manager")
    inhouse, partner, other, manager = (Listener(hub, u) for u in names)
    try:
        draft = Draft("上海营业厅通知", Category.OTHER, (TargetSpec(world.partner_account_id, as_post=True),))
        with hub.runtime.sessions() as s:  # a partner's: it waits for approval, nothing is sent
            publication_id = do_submit(s, hub.runtime, principal_of(s, world.partner_id), draft, nonce="p").id
            s.commit()
        event = {"type": "publication", "publication_id": publication_id}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (event in manager.events and event in partner.events):
            time.sleep(0.1)
        time.sleep(0.5)
        assert event in manager.events and event in partner.events
        assert [e for e in inhouse.events if e.get("type") == "publication"] == []
        assert [e for e in other.events if e.get("type") == "publication"] == []
    finally:
        for listener in (inhouse, partner, other, manager):
            listener.close()
