"""The hand-labelled customer-service messages and their fixed split (offline tools only).

The rows live at the repository root in ``data/service-messages/``: hand-written batches in
``batches/<domain>.txt`` (one compact line per message, see that folder's README) and the
three files the trainer, the bench and the tests read, ``train.jsonl``, ``dev.jsonl`` and
``test.jsonl``. This module turns the batches into the split and checks it:

    python -m servicehub.filters.service_data          # rewrite the three files (deterministic)
    python -m servicehub.filters.service_data --check  # verify them, report near-duplicates

The split is stratified (spam; escalation by sentiment; otherwise sentiment x intent) and
*grouped*: rows whose wording is close (character-bigram Jaccard of their content signature
at or above :data:`NEAR_DUPLICATE`) form one group and land in the same split, so the test
split never scores a near-copy of a training row. Nothing in the runtime chain imports this.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from servicehub.filters.duplicates import char_bigrams, similarity
from servicehub.filters.textnorm import content_signature

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "service-messages"
SPLITS = ("train", "dev", "test")
FRACTIONS = (0.6, 0.2, 0.2)
SEED = 12
NEAR_DUPLICATE = 0.5
"""Bigram Jaccard at or above which two rows count as near-copies of each other."""

SENTIMENTS = ("negative", "neutral", "positive")
INTENTS = ("inquiry", "complaint", "praise", "suggestion", "other")
_SENTIMENT_CODES = dict(zip(("neg", "neu", "pos"), SENTIMENTS, strict=True))
_INTENT_CODES = dict(zip(("inq", "cmp", "prs", "sug", "oth"), INTENTS, strict=True))


@dataclass(frozen=True, slots=True)
class ServiceRow:
    """One labelled message; spam rows carry sentiment ``neutral`` and intent ``other``."""

    id: str
    text: str
    sentiment: str
    intent: str
    spam: bool
    escalation: bool
    domain: str
    style: str


def parse_batch(path: Path) -> list[ServiceRow]:
    """Rows of one batch file: ``<sentiment> <intent> <flags> <text>`` per line.

    ``#`` lines are comments; a ``# --- name ---`` comment names the style of the rows below
    it (a ``# === round ===`` comment starts a mixed round). Flags are ``-`` or any of ``S``
    (spam) and ``E`` (escalation threat).
    """
    domain, style = path.stem, ""
    rows: list[ServiceRow] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(("# ---", "# ===")):
            style = line.strip("# -=")
            continue
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(" ", 3)
        if len(parts) != 4 or parts[0] not in _SENTIMENT_CODES or parts[1] not in _INTENT_CODES:
            raise ValueError(f"{path}:{number}: not '<sentiment> <intent> <flags> <text>': {line!r}")
        if not set(parts[2]) <= {"-", "S", "E"}:
            raise ValueError(f"{path}:{number}: unknown flags {parts[2]!r}")
        rows.append(
            ServiceRow(
                id=f"{domain}-{len(rows) + 1:04d}",
                text=parts[3],
                sentiment=_SENTIMENT_CODES[parts[0]],
                intent=_INTENT_CODES[parts[1]],
                spam="S" in parts[2],
                escalation="E" in parts[2],
                domain=domain,
                style=style,
            )
        )
    return rows


def read_batches(folder: Path = DATA_DIR / "batches") -> list[ServiceRow]:
    return [row for path in sorted(folder.glob("*.txt")) for row in parse_batch(path)]


def read_split(name: str, folder: Path = DATA_DIR) -> list[ServiceRow]:
    """The rows of ``train``, ``dev`` or ``test``."""
    with (folder / f"{name}.jsonl").open(encoding="utf-8") as handle:
        return [ServiceRow(**json.loads(line)) for line in handle if line.strip()]


def stratum(row: ServiceRow) -> str:
    if row.spam:
        return "spam"
    if row.escalation:
        return f"escalation/{row.sentiment}"
    return f"{row.sentiment}/{row.intent}"


def _groups(rows: Sequence[ServiceRow]) -> list[list[int]]:
    """Indices of rows joined by near-duplicate wording (union-find), in first-row order."""
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    grams = [char_bigrams(content_signature(r.text)) for r in rows]
    for i in range(len(rows)):
        for j in range(i):
            if similarity(grams[i], grams[j]) >= NEAR_DUPLICATE:
                parent[find(i)] = find(j)
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(rows)):
        members[find(i)].append(i)
    return sorted(members.values())


def split_rows(rows: Sequence[ServiceRow], seed: int = SEED) -> dict[str, list[ServiceRow]]:
    """Stratified, grouped split: each stratum's groups go, shuffled, to the most-behind split."""
    by_stratum: dict[str, list[list[int]]] = defaultdict(list)
    for group in _groups(rows):
        key = Counter(stratum(rows[i]) for i in group).most_common(1)[0][0]
        by_stratum[key].append(group)
    rng = random.Random(seed)
    chosen: dict[int, str] = {}
    for key in sorted(by_stratum):
        groups = by_stratum[key]
        rng.shuffle(groups)
        total = sum(len(g) for g in groups)
        filled = dict.fromkeys(SPLITS, 0)
        for group in groups:
            name = max(SPLITS, key=lambda s: FRACTIONS[SPLITS.index(s)] * total - filled[s])
            filled[name] += len(group)
            chosen.update(dict.fromkeys(group, name))
    return {name: [r for i, r in enumerate(rows) if chosen[i] == name] for name in SPLITS}


def near_duplicates(
    a: Iterable[ServiceRow], b: Iterable[ServiceRow], threshold: float = NEAR_DUPLICATE
) -> list[tuple[float, ServiceRow, ServiceRow]]:
    """Pairs (one from each side) whose wording is at least ``threshold`` alike, closest first."""
    left = [(r, char_bigrams(content_signature(r.text))) for r in a]
    right = [(r, char_bigrams(content_signature(r.text))) for r in b]
    found = [(score, x, y) for x, gx in left for y, gy in right if (score := similarity(gx, gy)) >= threshold]
    return sorted(found, key=lambda f: -f[0])


def write_split(parts: dict[str, list[ServiceRow]], folder: Path = DATA_DIR) -> None:
    for name, rows in parts.items():
        lines = (json.dumps(asdict(r), ensure_ascii=False, sort_keys=True) for r in rows)
        (folder / f"{name}.jsonl").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def describe(parts: dict[str, list[ServiceRow]]) -> str:
    lines = []
    for name, rows in parts.items():
        kept = [r for r in rows if not r.spam]
        sentiments = Counter(r.sentiment for r in kept)
        intents = Counter(r.intent for r in kept)
        lines.append(
            f"{name}: {len(rows)} rows, spam {len(rows) - len(kept)}, "
            f"escalation {sum(r.escalation for r in kept)}; "
            + ", ".join(f"{s} {sentiments[s]}" for s in SENTIMENTS)
            + "; "
            + ", ".join(f"{i} {intents[i]}" for i in INTENTS)
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="verify the committed split, write nothing")
    args = parser.parse_args(argv)
    parts = split_rows(read_batches())
    if args.check:
        committed = {name: read_split(name) for name in SPLITS}
        if committed != parts:
            print("the committed split differs from the batches: rerun without --check", file=sys.stderr)
            return 1
    else:
        write_split(parts)
    print(describe(parts))
    problems = 0
    for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
        pairs = near_duplicates(parts[a], parts[b])
        problems += len(pairs)
        for score, x, y in pairs:
            print(f"near-duplicate {a}/{b} {score:.2f}: {x.id} {x.text!r} ~ {y.id} {y.text!r}")
    print(f"near-duplicates across splits (bigram Jaccard >= {NEAR_DUPLICATE}): {problems}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())


@dataclass(frozen=True, slots=True)
class ClassScore:
    precision: float
    recall: float
    f1: float
    support: int


def class_scores(
    gold: Sequence[str], predicted: Sequence[str], classes: Sequence[str]
) -> dict[str, ClassScore]:
    """Precision, recall and F1 per class (0.0 where undefined)."""
    scores = {}
    for c in classes:
        tp = sum(g == c and p == c for g, p in zip(gold, predicted, strict=True))
        said = sum(p == c for p in predicted)
        support = sum(g == c for g in gold)
        precision = tp / said if said else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[c] = ClassScore(precision, recall, f1, support)
    return scores


def macro_f1(gold: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> float:
    return sum(s.f1 for s in class_scores(gold, predicted, classes).values()) / len(classes)


def accuracy(gold: Sequence[object], predicted: Sequence[object]) -> float:
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold) if gold else 0.0
