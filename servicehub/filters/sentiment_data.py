"""The labelled sentiment corpora and their fixed held-out split (offline tools only).

The trainer, the bench and the accuracy test must agree on which rows are held out, or a
"held-out" figure silently includes training rows. The split is a hash of the text with
emoticons removed and spacing normalized, so two posts that differ only in ``[哈哈]`` versus
``[泪]`` always land on the same side. Nothing in the runtime chain imports this module.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from servicehub.filters.textnorm import normalize, strip_emoticons

WEIBO_FILE = "weibo_senti_train.csv"
WAIMAI_FILE = "waimai_train.csv"
HELD_OUT_PERCENT = 20
VALIDATION_PERCENT = 20


@dataclass(frozen=True, slots=True)
class Labelled:
    label: int
    """1 positive, 0 negative."""
    text: str


def _digest(text: str) -> str:
    return hashlib.md5(normalize(strip_emoticons(text)).encode("utf-8"), usedforsecurity=False).hexdigest()


def is_held_out(text: str) -> bool:
    """True for the fixed 20 % test rows; never train (or tune) on these."""
    return int(_digest(text)[:8], 16) % 100 < HELD_OUT_PERCENT


def is_validation(text: str) -> bool:
    """True for the 20 % of *training* rows the trainer tunes on (independent of the test hash)."""
    return int(_digest(text)[8:16], 16) % 100 < VALIDATION_PERCENT


def fold_of(text: str, folds: int) -> int:
    """A fixed cross-validation fold for a training row."""
    return int(_digest(text)[16:24], 16) % folds


def read_labelled(path: Path) -> list[Labelled]:
    """Rows of a ``label,text`` CSV file."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [Labelled(int(row["label"]), row["text"]) for row in csv.DictReader(handle)]


def split(rows: list[Labelled]) -> tuple[list[Labelled], list[Labelled]]:
    """(training rows, held-out rows)."""
    train = [r for r in rows if not is_held_out(r.text)]
    test = [r for r in rows if is_held_out(r.text)]
    return train, test
