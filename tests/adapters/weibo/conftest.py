"""Fixtures for the Weibo adapter tests; the helpers live in ``support``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from servicehub.adapters.weibo.client import WeiboAdapter
from tests.adapters.weibo.support import FakeWeibo, make_adapter


@pytest.fixture
def fake() -> FakeWeibo:
    return FakeWeibo()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def adapter(fake: FakeWeibo, sleeps: list[float]) -> Iterator[WeiboAdapter]:
    with make_adapter(fake, sleeps) as weibo:
        yield weibo
