"""Listening over real HTTP against the simulator: bursts, expired tokens, re-authorization."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from servicehub.core.db import utcnow
from servicehub.core.models import Account, Health, Message, PollCursor
from servicehub.core.tasks import SyncRunner
from servicehub.listener.poller import due_cursors, poll_cursor
from tests.factories import PASSWORD
from tests.live import LiveHub, live_hub

UID = "1902538057"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[LiveHub]:
    with live_hub(tmp_path, SyncRunner(), weibo={"page_size": "20"}) as h:
        yield h


def _mentions_cursor(hub: LiveHub) -> int:
    with hub.runtime.sessions() as s:
        return s.scalars(
            select(PollCursor.id).where(
                PollCursor.account_id == hub.world.inhouse_account_id, PollCursor.source == "mentions"
            )
        ).one()


def _stored(hub: LiveHub) -> list[str]:
    with hub.runtime.sessions() as s:
        return sorted(s.scalars(select(Message.platform_id).where(Message.kind == "mention")))


def test_a_burst_of_three_pages_between_polls_arrives_complete_without_duplicates(hub: LiveHub) -> None:
    cursor = _mentions_cursor(hub)
    hub.sim_call("POST", "/_sim/mentions", account_uid=UID, text="第一条：信号不好")
    assert poll_cursor(hub.runtime, cursor).stored == 1
    burst = hub.sim_call(
        "POST", "/_sim/burst", account_uid=UID, n=60, kind="mention", text="第{i}位客户：宽带故障报修"
    )
    outcome = poll_cursor(hub.runtime, cursor)
    assert (outcome.fetched, outcome.stored) == (60, 60)
    assert set(burst["ids"]) <= set(_stored(hub))
    assert poll_cursor(hub.runtime, cursor).stored == 0
    with hub.runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 61


def _reauthorize_in_the_workbench(hub: LiveHub) -> str:
    with httpx.Client(base_url=hub.web_url, follow_redirects=False, timeout=10) as web:
        token = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/login").text)
        assert token
        web.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token.group(1)})
        accounts = web.get("/accounts").text
        assert "需要重新授权" in accounts and "/oauth/weibo/start" in accounts
        to_platform = web.get("/oauth/weibo/start?kind=official")
        assert to_platform.status_code == 303
        chooser = httpx.get(to_platform.headers["location"])  # the platform's consent page
        link = re.search(r'href="([^"]*uid=' + UID + r'[^"]*)"', chooser.text)
        assert link, chooser.text
        back = httpx.get(hub.sim.base_url + unescape(link.group(1)), follow_redirects=False)
        assert back.status_code == 302 and back.headers["location"].startswith(hub.web_url)
        done = web.get(back.headers["location"].removeprefix(hub.web_url))
        assert done.status_code == 303, done.text
        return done.headers["location"]


def test_expired_token_pauses_the_account_and_reauthorization_resumes_with_nothing_lost(hub: LiveHub) -> None:
    cursor = _mentions_cursor(hub)
    first = hub.sim_call("POST", "/_sim/mentions", account_uid=UID, text="授权过期前的消息")
    assert poll_cursor(hub.runtime, cursor).stored == 1
    hub.sim_call("POST", "/_sim/faults", expire_account=UID)
    during = [
        hub.sim_call("POST", "/_sim/mentions", account_uid=UID, text=f"授权过期期间的消息{i}")["id"]
        for i in range(3)
    ]
    failed = poll_cursor(hub.runtime, cursor)
    assert "21327" in failed.error or "expired" in failed.error
    with hub.runtime.sessions() as s:
        account = s.get(Account, hub.world.inhouse_account_id)
        assert account is not None and account.health == Health.NEEDS_REAUTH
        s.execute(update(PollCursor).values(next_poll_at=utcnow()))
        s.commit()
        due = due_cursors(s, utcnow())
        mine = set(
            s.scalars(select(PollCursor.id).where(PollCursor.account_id == hub.world.inhouse_account_id))
        )
        assert not (set(due) & mine), "a paused account must not be polled"
    where = _reauthorize_in_the_workbench(hub)
    assert where.startswith("/accounts?notice=reauthorized")
    with hub.runtime.sessions() as s:
        account = s.get(Account, hub.world.inhouse_account_id)
        assert account is not None and account.health == Health.OK
    assert poll_cursor(hub.runtime, cursor).stored == 3
    assert _stored(hub) == sorted([first["id"], *during])


def test_a_burst_beyond_the_page_cap_is_fetched_over_several_polls_without_a_gap(tmp_path: Path) -> None:
    with live_hub(
        tmp_path, SyncRunner(), serve_web=False, weibo={"page_size": "20", "max_pages": "2"}
    ) as hub:
        cursor = _mentions_cursor(hub)
        hub.sim_call("POST", "/_sim/mentions", account_uid=UID, text="游标起点")
        assert poll_cursor(hub.runtime, cursor).stored == 1
        burst = hub.sim_call(
            "POST", "/_sim/burst", account_uid=UID, n=100, kind="mention", text="第{i}位：网络故障"
        )
        stored = [poll_cursor(hub.runtime, cursor).stored]  # 40 newest; the rest is a remembered gap
        late = hub.sim_call("POST", "/_sim/mentions", account_uid=UID, text="缺口补齐期间的新消息")
        for _ in range(5):
            stored.append(poll_cursor(hub.runtime, cursor).stored)
        assert stored[:4] == [40, 40, 20, 1] and sum(stored) == 101
        assert set(burst["ids"]) | {late["id"]} <= set(_stored(hub))
        with hub.runtime.sessions() as s:
            state = s.get(PollCursor, cursor)
            assert state is not None and state.gap_max_id is None and state.cursor == late["id"]
