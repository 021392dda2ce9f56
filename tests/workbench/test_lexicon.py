"""Administrators keep the service-term dictionary; every process reads terms whole from the
next batch on, listening tasks and routing rules alike, and forgets a removed one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from servicehub.core.models import AuditEvent, KeywordTerm
from servicehub.core.runtime import Runtime
from servicehub.filters import segmenter
from servicehub.filters.keywords import hears
from servicehub.listener.lexicon import sync_terms
from tests.factories import World
from tests.workbench.conftest import csrf_of, login

TERM = "沃派畅享卡"
TEXT = "我想办沃派畅享卡，请问怎么收费"


@pytest.fixture(autouse=True)
def forget_terms(sqlite_runtime: Runtime) -> Iterator[None]:
    yield
    segmenter.remove_terms([TERM])
    with sqlite_runtime.sessions.begin() as s:
        for term in s.scalars(select(KeywordTerm)):
            s.delete(term)
        sync_terms(s)


def _sync(runtime: Runtime) -> None:
    with runtime.sessions() as s:
        sync_terms(s)


def test_a_term_saved_in_the_workbench_is_read_whole_then_forgotten(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    assert TERM not in segmenter.words(TEXT)
    assert hears("派畅", TEXT)  # a made-up name is split like any text: a piece of it matches
    login(client, "admin")
    page = client.get("/admin/terms").text
    saved = client.post("/admin/terms", data={"terms": f"{TERM}，宽带提速", "csrf_token": csrf_of(page)})
    assert saved.status_code == 303
    _sync(sqlite_runtime)  # what the next intake batch does in every process
    assert TERM in segmenter.words(TEXT) and not hears("派畅", TEXT) and hears(TERM, TEXT)
    page = client.get("/admin/terms").text
    assert TERM in page
    with sqlite_runtime.sessions() as s:
        term = s.scalars(select(KeywordTerm).where(KeywordTerm.term == TERM)).one()
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "lexicon.added")).one()
    removed = client.post(f"/admin/terms/{term.id}/remove", data={"csrf_token": csrf_of(page)})
    assert removed.status_code == 303
    _sync(sqlite_runtime)
    assert TERM not in segmenter.words(TEXT)


def test_a_term_that_cannot_be_kept_whole_is_refused_with_a_reason(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    login(client, "admin")
    page = client.get("/admin/terms").text
    refused = client.post("/admin/terms", data={"terms": "好 的\n宽带提速", "csrf_token": csrf_of(page)})
    assert refused.status_code == 422 and "无法整词识别" in refused.text and "好 的" in refused.text
    with sqlite_runtime.sessions() as s:
        assert s.scalars(select(KeywordTerm)).all() == []  # nothing of a refused save is kept
