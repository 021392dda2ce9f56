"""Train the shipped service model (offline; needs scikit-learn and scipy, runtime does not).

    python -m servicehub.filters.train_service --out servicehub/filters/model/service.npz.gz

Steps, all deterministic (fixed split, lbfgs, sorted vocabularies, mtime-free gzip):

1. read the non-spam rows of ``train`` and ``dev`` (:mod:`servicehub.filters.service_data`);
   spam never reaches the model in the chain, so it is not trained on;
2. for each setting on the grid (n-gram length and min_df, weight of the dense cue block,
   regularization C, class weighting) fit both heads on ``train`` and score them on ``dev``:
   the sentiment head by macro-F1 (ties: negative recall), the intent head by accuracy;
3. refit each head on ``train`` + ``dev`` with its chosen setting and write the model.

The ``test`` split is not read here: the bench and the accuracy test score it.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from servicehub.filters.sentiment_features import FloatArray, Vectorizer
from servicehub.filters.sentiment_store import default_model
from servicehub.filters.service_data import DATA_DIR, ServiceRow, accuracy, class_scores, macro_f1, read_split
from servicehub.filters.service_model import DENSE_NAMES, INTENTS, SENTIMENTS, Head, ServiceModel
from servicehub.filters.train_sentiment import build_vectorizer


@dataclass(frozen=True)
class Setting:
    max_n: int
    min_df: int
    alpha: float
    """Weight of the standardized dense cues against the L2-normalized n-gram block."""
    c: float
    balanced: bool


def standardizer(raw: FloatArray) -> tuple[FloatArray, FloatArray]:
    mean = raw.mean(axis=0)
    std = raw.std(axis=0)
    return mean, 1.0 / np.where(std > 1e-9, std, 1.0)


def raw_dense(texts: Sequence[str]) -> FloatArray:
    """Unstandardized dense cues (a model with zero mean and unit scale passes them through)."""
    probe = ServiceModel(
        vectorizer=Vectorizer({}, np.zeros(0), 3),
        dense_mean=np.zeros(len(DENSE_NAMES)),
        dense_scale=np.ones(len(DENSE_NAMES)),
        sentiment=Head(SENTIMENTS, np.zeros((0, 3)), np.zeros((len(DENSE_NAMES), 3)), np.zeros(3)),
        intent=Head(INTENTS, np.zeros((0, 5)), np.zeros((len(DENSE_NAMES), 5)), np.zeros(5)),
        info={},
    )
    return probe.inputs(texts, default_model()).dense


def design(vec: Vectorizer, texts: Sequence[str], dense: FloatArray, alpha: float) -> Any:
    from scipy import sparse

    x = vec.transform(texts)
    grams = sparse.csr_matrix((x.values, (x.rows, x.cols)), shape=(x.n_rows, len(vec.idf)))
    return sparse.hstack([grams, sparse.csr_matrix(dense * alpha)]).tocsr()


def fit_head(x: Any, labels: Sequence[str], classes: tuple[str, ...], setting: Setting, width: int) -> Head:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(
        C=setting.c, max_iter=5000, solver="lbfgs", class_weight="balanced" if setting.balanced else None
    )
    clf.fit(x, [classes.index(label) for label in labels])
    coef = np.zeros((x.shape[1], len(classes)))
    bias = np.zeros(len(classes))
    for row, cls in enumerate(clf.classes_):
        coef[:, cls] = clf.coef_[row]
        bias[cls] = clf.intercept_[row]
    missing = set(range(len(classes))) - {int(c) for c in clf.classes_}
    bias[list(missing)] = -30.0  # a class absent from training is never predicted
    return Head(classes, coef[:width], coef[width:] * setting.alpha, bias)


class Fitter:
    """Fits heads for one (max_n, min_df) vocabulary on ``fit`` rows, predicts ``score`` rows."""

    def __init__(
        self, fit: Sequence[ServiceRow], score: Sequence[ServiceRow], max_n: int, min_df: int
    ) -> None:
        self.vec = build_vectorizer([r.text for r in fit], max_n, min_df)
        raw_fit, raw_score = raw_dense([r.text for r in fit]), raw_dense([r.text for r in score])
        self.mean, self.scale = standardizer(raw_fit)
        self.z_fit = (raw_fit - self.mean) * self.scale
        self.z_score = (raw_score - self.mean) * self.scale
        self.fit_rows, self.score_rows = fit, score

    def head(self, kind: str, setting: Setting) -> tuple[Head, list[str]]:
        classes = SENTIMENTS if kind == "sentiment" else INTENTS
        x = design(self.vec, [r.text for r in self.fit_rows], self.z_fit, setting.alpha)
        head = fit_head(x, [getattr(r, kind) for r in self.fit_rows], classes, setting, len(self.vec.idf))
        if not self.score_rows:
            return head, []
        xs = self.vec.transform([r.text for r in self.score_rows])
        p = head.probabilities(xs, self.z_score)
        return head, [classes[i] for i in np.argmax(p, axis=1)]


def sentiment_key(gold: Sequence[str], predicted: Sequence[str]) -> tuple[float, float]:
    scores = class_scores(gold, predicted, SENTIMENTS)
    return macro_f1(gold, predicted, SENTIMENTS), scores["negative"].recall


def choose(
    train: Sequence[ServiceRow], dev: Sequence[ServiceRow], grid: dict[str, Sequence[Any]]
) -> dict[str, Setting]:
    best: dict[str, tuple[tuple[float, ...], Setting]] = {}
    for max_n, min_df in itertools.product(grid["max_n"], grid["min_df"]):
        fitter = Fitter(train, dev, max_n, min_df)
        for alpha, c, balanced in itertools.product(grid["alpha"], grid["c"], grid["balanced"]):
            setting = Setting(max_n, min_df, alpha, c, balanced)
            _, said = fitter.head("sentiment", setting)
            key_s: tuple[float, ...] = sentiment_key([r.sentiment for r in dev], said)
            _, meant = fitter.head("intent", setting)
            key_i = (
                accuracy([r.intent for r in dev], meant),
                macro_f1([r.intent for r in dev], meant, INTENTS),
            )
            log(
                f"{setting}: dev sentiment macro-F1 {key_s[0]:.4f}, negative recall {key_s[1]:.4f}; "
                f"intent accuracy {key_i[0]:.4f}"
            )
            for kind, key in (("sentiment", key_s), ("intent", key_i)):
                if kind not in best or key > best[kind][0]:
                    best[kind] = (key, setting)
    for kind, (key, setting) in best.items():
        log(f"chosen {kind}: {setting} (dev {key})")
    return {kind: setting for kind, (_, setting) in best.items()}


def report(name: str, rows: Sequence[ServiceRow], said: Sequence[str], meant: Sequence[str]) -> None:
    gold = [r.sentiment for r in rows]
    scores = class_scores(gold, said, SENTIMENTS)
    log(
        f"{name}: sentiment macro-F1 {macro_f1(gold, said, SENTIMENTS):.4f} "
        + " ".join(f"{c} P {s.precision:.3f} R {s.recall:.3f}" for c, s in scores.items())
        + f"; intent accuracy {accuracy([r.intent for r in rows], meant):.4f}"
    )


def train(grid: dict[str, Sequence[Any]]) -> ServiceModel:
    train_rows = [r for r in read_split("train") if not r.spam]
    dev_rows = [r for r in read_split("dev") if not r.spam]
    log(f"rows: train {len(train_rows)}, dev {len(dev_rows)} (spam left out)")
    chosen = choose(train_rows, dev_rows, grid)
    # Both heads share one vocabulary and standardization: the sentiment head's (it matters more).
    s, i = chosen["sentiment"], chosen["intent"]
    shared = Setting(s.max_n, s.min_df, i.alpha, i.c, i.balanced)
    fitter = Fitter(train_rows, dev_rows, s.max_n, s.min_df)
    report("dev (fit on train)", dev_rows, fitter.head("sentiment", s)[1], fitter.head("intent", shared)[1])
    everything = train_rows + dev_rows
    final = Fitter(everything, [], s.max_n, s.min_df)
    sentiment_head, _ = final.head("sentiment", s)
    intent_head, _ = final.head("intent", shared)
    info = {
        "trained_on": "data/service-messages train+dev "
        + " ".join(f"{n} sha256:{_sha256(DATA_DIR / f'{n}.jsonl')}" for n in ("train", "dev")),
        "training_rows": str(len(everything)),
        "sentiment_setting": str(s),
        "intent_setting": str(shared),
    }
    return ServiceModel(final.vec, final.mean, final.scale, sentiment_head, intent_head, info)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    from servicehub.filters.service_store import save_service_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="model file to write (.npz.gz)")
    parser.add_argument("--max-n", type=int, nargs="+", default=[3])
    parser.add_argument("--min-df", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--alpha", type=float, nargs="+", default=[0.1, 0.25, 0.5])
    parser.add_argument("--c", type=float, nargs="+", default=[4.0, 16.0, 64.0])
    parser.add_argument("--balanced", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args(argv)
    grid = {
        "max_n": args.max_n,
        "min_df": args.min_df,
        "alpha": args.alpha,
        "c": args.c,
        "balanced": [bool(b) for b in args.balanced],
    }
    model = train(grid)
    save_service_model(model, args.out)
    log(f"wrote {args.out} ({args.out.stat().st_size} bytes, {len(model.vectorizer.idf)} n-grams)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
