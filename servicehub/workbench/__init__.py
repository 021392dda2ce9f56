"""The workbench: Starlette edge of the hub (pages, JSON API, live updates, push receivers).

Row ids in paths use the ``id`` convertor, registered here before any route is built: it
matches exactly the numbers 0 .. 2**31 - 1 that fit the tables' INTEGER ids. A larger number
matches no route and answers 404 exactly like a missing row, instead of reaching PostgreSQL
as an out-of-range value (a 500).
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

MAX_ID = 2**31 - 1


def _at_most(limit: str) -> str:
    """A regular expression for the decimal numbers from 0 to ``limit`` (no leading zeros past one)."""
    shorter = f"[0-9]{{1,{len(limit) - 1}}}"
    same_length = [
        limit[:i] + (f"[0-{int(d) - 1}]" if d != "1" else "0") + f"[0-9]{{{len(limit) - i - 1}}}"
        for i, d in enumerate(limit)
        if d != "0"
    ]
    return "|".join([shorter, *same_length, limit])


class IdConvertor(Convertor[int]):
    regex = f"(?:{_at_most(str(MAX_ID))})"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())
