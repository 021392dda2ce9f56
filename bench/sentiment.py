"""Sentiment: the hub's shipped model against plain ``SnowNLP(text).sentiments``.

    .venv/bin/python bench/sentiment.py [--data ../shared/data/sentiment] [--snownlp-sample N]

Both are scored on the same held-out rows (the fixed 20 % split the trainer never sees):
Weibo posts as published, the same posts with ``[xx]`` emoticons stripped, and food-delivery
reviews. Each contender runs in its own subprocess pinned to one core, so its peak RSS
(``resource.getrusage``) and texts/second are its own. Throughput is measured on the
held-out Weibo posts as published, after the model is loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.harness import cpu_model  # noqa: E402
from servicehub.filters.sentiment_data import WAIMAI_FILE, WEIBO_FILE, read_labelled, split  # noqa: E402
from servicehub.filters.textnorm import strip_emoticons  # noqa: E402

Scorer = Callable[[Sequence[str]], list[float]]
SETS = ("weibo as published", "weibo, emoticons stripped", "food-delivery reviews")


def held_out(data: Path, sample: int) -> dict[str, tuple[list[str], list[int]]]:
    _, weibo = split(read_labelled(data / WEIBO_FILE))
    _, waimai = split(read_labelled(data / WAIMAI_FILE))
    if sample:
        weibo, waimai = weibo[:sample], waimai[:sample]
    return {
        SETS[0]: ([r.text for r in weibo], [r.label for r in weibo]),
        SETS[1]: ([strip_emoticons(r.text) for r in weibo], [r.label for r in weibo]),
        SETS[2]: ([r.text for r in waimai], [r.label for r in waimai]),
    }


def pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(
    name: str, load: Callable[[], Scorer], sets: dict[str, tuple[list[str], list[int]]]
) -> dict[str, Any]:
    """Load the scorer, time its throughput on the published Weibo posts, score every set."""
    pin_to_one_core()
    start = time.perf_counter()
    score = load()
    loaded = time.perf_counter() - start
    texts = sets[SETS[0]][0]
    score(texts[:50])  # warm-up: first-call caches, lazy imports
    start = time.perf_counter()
    first = score(texts)
    elapsed = time.perf_counter() - start
    result: dict[str, Any] = {"name": name, "load_seconds": loaded, "texts_per_second": len(texts) / elapsed}
    accuracies = {}
    for set_name, (set_texts, labels) in sets.items():
        p = first if set_name == SETS[0] else score(set_texts)
        accuracies[set_name] = (
            sum((s >= 0.5) == (y == 1) for s, y in zip(p, labels, strict=True)) / len(labels),
            len(labels),
        )
    result["accuracy"] = accuracies
    result["max_rss_mb"] = max_rss_mb()
    return result


def ours(read_emoticons: bool, batch: int) -> Scorer:
    from servicehub.filters.sentiment_store import default_model

    model = default_model()

    def score(texts: Sequence[str]) -> list[float]:
        out: list[float] = []
        for i in range(0, len(texts), batch):
            out.extend(model.predict_proba(texts[i : i + batch], read_emoticons=read_emoticons).tolist())
        return out

    return score


def full_chain(batch: int) -> Scorer:
    """All five filters with three listening rules; the sentiment of kept rows (0.5 if dropped)."""
    from datetime import UTC, datetime, timedelta

    from servicehub.filters import FilterChain, FilterInput, FilterSettings, ListeningRule

    rules = [ListeningRule(1, "宽带", ("宽带", "断网")), ListeningRule(2, "话费", ("话费", "扣费")),
             ListeningRule(3, "联通", ("联通",), ("acc2",))]  # fmt: skip
    chain = FilterChain(FilterSettings.from_mapping({}), rules)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)

    def score(texts: Sequence[str]) -> list[float]:
        items = [
            FilterInput("weibo", "mention", str(i), "acc1", f"u{i % 997}", t, t0 + timedelta(seconds=i))
            for i, t in enumerate(texts)
        ]
        out: list[float] = []
        for i in range(0, len(items), batch):
            verdicts = chain.run_batch(items[i : i + batch])
            out.extend(0.5 if v.sentiment is None else v.sentiment for v in verdicts)
        return out

    return score


def snownlp() -> Scorer:
    from snownlp import SnowNLP

    def score(texts: Sequence[str]) -> list[float]:
        return [float(SnowNLP(t).sentiments) if t.strip() else 0.5 for t in texts]

    return score


CONTENDERS: dict[str, Callable[[], Scorer]] = {
    "ours (model reads emoticons), batches of 200": lambda: ours(True, 200),
    "ours (text only, emoticons ignored), batches of 200": lambda: ours(False, 200),
    "ours, one text per call": lambda: ours(True, 1),
    "full FilterChain (5 filters, 3 rules), batches of 200": lambda: full_chain(200),
    "SnowNLP(text).sentiments": snownlp,
}


def machine() -> str:
    import numpy

    cpu = cpu_model()

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"machine: {cpu}; {os.cpu_count()} logical cores ({usable} usable); {platform.platform()}\n"
        f"python {platform.python_version()} ({sys.executable}); numpy {numpy.__version__}"
    )


def worker(args: argparse.Namespace) -> None:
    sets = held_out(args.data, args.snownlp_sample if args.worker.startswith("SnowNLP") else 0)
    print(json.dumps(measure(args.worker, CONTENDERS[args.worker], sets)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data" / "sentiment")
    parser.add_argument(
        "--snownlp-sample", type=int, default=0, help="score only the first N rows of each set"
    )
    parser.add_argument("--only", action="append", help="run only contenders whose name starts with this")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return 0
    data = args.data.resolve()
    print(machine())
    sets = held_out(data, 0)
    print(f"data: {data}; held-out rows: " + ", ".join(f"{k} {len(v[1])}" for k, v in sets.items()))
    if args.snownlp_sample:
        print(f"SnowNLP is scored on the first {args.snownlp_sample} held-out rows of each set only")
    else:
        print("every contender is scored on all held-out rows")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    results = []
    for name in CONTENDERS:
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        command = [sys.executable, __file__, "--worker", name, "--data", str(data)]
        command += ["--snownlp-sample", str(args.snownlp_sample)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"{name}: failed\n{done.stderr}", file=sys.stderr)
            return 1
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    report(results)
    return 0


def report(results: list[dict[str, Any]]) -> None:
    base = next((r for r in results if r["name"] == "SnowNLP(text).sentiments"), None)
    for r in results:
        print()
        print(r["name"])
        speed = f"{r['texts_per_second']:,.0f} texts/s on one core"
        if base is not None and r is not base:
            speed += f" ({r['texts_per_second'] / base['texts_per_second']:.0f}x SnowNLP)"
        print(f"  {speed}; load {r['load_seconds']:.2f} s; max RSS {r['max_rss_mb']:.0f} MB")
        for name in SETS:
            value, n = r["accuracy"][name]
            print(f"  accuracy, {name + ':':27} {value:.4f}  (n={n})")
    print()
    print("accuracy: share of rows where (score >= 0.5) equals the label. The full-chain row drops empty")
    print("and spam rows (scored 0.5 there); it is listed for its speed. Weibo labels were derived from")
    print("emoticons, so a scorer that reads them is near-perfect on 'weibo as published'; 'emoticons")
    print("stripped' says what the text model learned.")


if __name__ == "__main__":
    raise SystemExit(main())
