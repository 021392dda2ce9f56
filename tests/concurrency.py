"""Running test work in several threads at once: the races the exactly-once code must survive."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def run_at_once(calls: Sequence[Callable[[], T]], timeout: float = 120) -> list[T]:
    """Start every call in a thread of its own and wait for all; their results in call order.

    An exception in any call is raised here, so a failing worker fails the test.
    """
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result(timeout=timeout) for future in futures]
