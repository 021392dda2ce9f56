"""Train the shipped sentiment model (offline; needs scikit-learn and scipy, runtime does not).

    python -m servicehub.filters.train_sentiment --data /work/shared/data/sentiment \\
        --out servicehub/filters/model/sentiment.npz.gz

Steps, all deterministic (hash splits, lbfgs, sorted vocabularies, mtime-free gzip):

1. read Weibo posts and food-delivery reviews, drop the fixed held-out 20 % of each
   (:mod:`servicehub.filters.sentiment_data`); the model never sees those rows;
2. build the character n-gram vocabulary and IDF from the training rows, with emoticons
   removed (:func:`~servicehub.filters.sentiment_features.prepare`) so the text weights must
   learn from words -- the Weibo labels were derived from emoticons;
3. pick the regularization C, and whether to scale features by their naive-Bayes
   log-count ratio, on a validation slice of the training rows; then refit the logistic
   regression on all training rows of both corpora (one model for both domains, review
   rows weighted 2x: they are few and closest to service complaints);
4. fit the emoticon block: one weight per frequent ``[xx]`` code, learned on top of
   out-of-fold text scores, so emoticons add what the words did not already say.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from servicehub.filters.sentiment_data import (
    WAIMAI_FILE,
    WEIBO_FILE,
    Labelled,
    fold_of,
    is_validation,
    read_labelled,
    split,
)
from servicehub.filters.sentiment_features import (
    FloatArray,
    SentimentModel,
    Vectorizer,
    char_ngrams,
    emoticon_names,
    prepare,
)
from servicehub.filters.sentiment_store import save_model


def build_vectorizer(texts: Sequence[str], max_n: int, min_df: int) -> Vectorizer:
    """Vocabulary of n-grams in at least ``min_df`` texts, with smoothed IDF (as sklearn's)."""
    df: Counter[str] = Counter()
    for text in texts:
        df.update(set(char_ngrams(prepare(text), max_n)))
    grams = sorted(g for g, c in df.items() if c >= min_df)
    n = len(texts)
    idf = np.array([np.log((1 + n) / (1 + df[g])) + 1.0 for g in grams], dtype=np.float64)
    return Vectorizer(vocabulary={g: i for i, g in enumerate(grams)}, idf=idf, max_n=max_n)


def design_matrix(vectorizer: Vectorizer, texts: Sequence[str]) -> Any:
    from scipy import sparse

    x = vectorizer.transform(texts)
    return sparse.csr_matrix((x.values, (x.rows, x.cols)), shape=(x.n_rows, len(vectorizer.idf)))


def nb_scale(x: Any, y: FloatArray) -> FloatArray:
    """sqrt(|log-count ratio|) per feature (NB-SVM style), from document presence per class.

    Fitting on ``x * scale`` and shipping ``coef * scale`` leaves the runtime untouched; it
    only relaxes the penalty on n-grams whose presence already separates the classes.
    """
    present = (x > 0).astype(np.float64)
    pos = 1.0 + np.asarray(present[y == 1].sum(axis=0)).ravel()
    neg = 1.0 + np.asarray(present[y == 0].sum(axis=0)).ravel()
    return np.asarray(np.sqrt(np.abs(np.log((pos / pos.sum()) / (neg / neg.sum())))), dtype=np.float64)


def fit_text(
    x: Any, y: FloatArray, c: float, weight: FloatArray, scale: FloatArray | None
) -> tuple[FloatArray, float]:
    """Logistic regression weights over the vectorizer's columns (scale folded back in)."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, max_iter=5000, solver="lbfgs")
    clf.fit(x if scale is None else x.multiply(scale).tocsr(), y, sample_weight=weight)
    coef = np.asarray(clf.coef_[0], dtype=np.float64)
    return (coef if scale is None else coef * scale), float(clf.intercept_[0])


def fit_emoticons(
    rows: Sequence[Labelled], offsets: FloatArray, min_count: int, l2: float
) -> dict[str, float]:
    """Logistic regression on emoticon presence with the text logit as a fixed offset."""
    from scipy.optimize import minimize

    counts: Counter[str] = Counter(e for r in rows for e in set(emoticon_names(r.text)))
    names = sorted(e for e, c in counts.items() if c >= min_count)
    if not names:
        return {}
    index = {e: i for i, e in enumerate(names)}
    e = np.zeros((len(rows), len(names)), dtype=np.float64)
    for row, r in enumerate(rows):
        for name in set(emoticon_names(r.text)):
            if name in index:
                e[row, index[name]] = 1.0
    sign = np.array([1.0 if r.label else -1.0 for r in rows])

    def loss(w: FloatArray) -> tuple[float, FloatArray]:
        margin = sign * (offsets + e @ w)
        value = float(np.logaddexp(0.0, -margin).sum() + 0.5 * l2 * w @ w)
        grad = -(e.T @ (sign / (1.0 + np.exp(margin)))) + l2 * w
        return value, grad

    result = minimize(loss, np.zeros(len(names)), jac=True, method="L-BFGS-B")
    return {name: float(w) for name, w in zip(names, result.x, strict=True)}


def accuracy(model: SentimentModel, rows: Sequence[Labelled], *, read_emoticons: bool) -> float:
    if not rows:
        return float("nan")
    p = model.predict_proba([r.text for r in rows], read_emoticons=read_emoticons)
    return float(np.mean((p >= 0.5) == np.array([r.label == 1 for r in rows])))


def _labels(rows: Sequence[Labelled]) -> FloatArray:
    return np.array([float(r.label) for r in rows])


def _weights(rows: Sequence[Labelled], waimai: set[int], waimai_weight: float) -> FloatArray:
    return np.array([waimai_weight if id(r) in waimai else 1.0 for r in rows])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def train(data: Path, max_n: int, min_df: int, grid: Sequence[float], waimai_weight: float) -> SentimentModel:
    weibo_train, _ = split(read_labelled(data / WEIBO_FILE))
    waimai_train, _ = split(read_labelled(data / WAIMAI_FILE))
    rows = weibo_train + waimai_train
    waimai_ids = {id(r) for r in waimai_train}
    fit_rows = [r for r in rows if not is_validation(r.text)]
    val_weibo = [r for r in weibo_train if is_validation(r.text)]
    val_waimai = [r for r in waimai_train if is_validation(r.text)]
    log(f"training rows: weibo {len(weibo_train)}, waimai {len(waimai_train)}; tuning on {len(fit_rows)}")

    vec = build_vectorizer([r.text for r in fit_rows], max_n, min_df)
    x_fit = design_matrix(vec, [r.text for r in fit_rows])
    y_fit = _labels(fit_rows)
    best: tuple[float, bool, float] | None = None
    for use_nb in (False, True):
        scale = nb_scale(x_fit, y_fit) if use_nb else None
        for c in grid:
            w, b = fit_text(x_fit, y_fit, c, _weights(fit_rows, waimai_ids, waimai_weight), scale)
            trial = SentimentModel(vec, w, b, {}, {})
            weibo = accuracy(trial, val_weibo, read_emoticons=False)
            waimai = accuracy(trial, val_waimai, read_emoticons=False)
            log(f"C={c} nb_scale={use_nb}: validation weibo (no emoticons) {weibo:.4f}, waimai {waimai:.4f}")
            if best is None or (weibo + waimai) / 2 > best[2]:
                best = (c, use_nb, (weibo + waimai) / 2)
    assert best is not None
    c, use_nb, _ = best

    vec = build_vectorizer([r.text for r in rows], max_n, min_df)
    x = design_matrix(vec, [r.text for r in rows])
    y, weight = _labels(rows), _weights(rows, waimai_ids, waimai_weight)
    scale = nb_scale(x, y) if use_nb else None
    w, b = fit_text(x, y, c, weight, scale)
    log(f"final text model: C={c}, nb_scale={use_nb}, {len(vec.idf)} n-grams")

    folds = 5
    fold = np.array([fold_of(r.text, folds) for r in rows])
    offsets = np.zeros(len(rows))
    for k in range(folds):
        wk, bk = fit_text(x[fold != k], y[fold != k], c, weight[fold != k], scale)
        offsets[fold == k] = x[fold == k] @ wk + bk
    emoticons = fit_emoticons(rows, offsets, min_count=3, l2=1.0)
    log(f"emoticon block: {len(emoticons)} codes")

    info = {
        "trained_on": ", ".join(
            f"{name} sha256:{_sha256(data / name)}" for name in (WEIBO_FILE, WAIMAI_FILE)
        ),
        "training_rows": str(len(rows)),
        "C": str(c),
        "nb_scale": str(use_nb),
        "max_n": str(max_n),
        "min_df": str(min_df),
        "waimai_weight": str(waimai_weight),
    }
    return SentimentModel(vec, w, b, emoticons, info)


def prune(model: SentimentModel, keep_above: float) -> SentimentModel:
    """Drop n-grams whose largest possible contribution |w * idf| is negligible."""
    vec = model.vectorizer
    grams = sorted(vec.vocabulary, key=vec.vocabulary.__getitem__)
    keep = np.flatnonzero(np.abs(model.weights * vec.idf) > keep_above)
    vocab = {grams[i]: j for j, i in enumerate(keep)}
    pruned = Vectorizer(vocabulary=vocab, idf=vec.idf[keep], max_n=vec.max_n)
    # Pruning changes row norms slightly; keep_above is chosen small enough not to matter.
    return SentimentModel(pruned, model.weights[keep], model.bias, model.emoticon_weights, model.info)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with the labelled CSV files")
    parser.add_argument("--out", type=Path, required=True, help="model file to write (.npz.gz)")
    parser.add_argument("--max-n", type=int, default=3, help="longest character n-gram")
    parser.add_argument("--min-df", type=int, default=2, help="n-grams seen in fewer texts are dropped")
    parser.add_argument("--grid", type=float, nargs="+", default=[1.0, 2.0, 4.0], help="C values to try")
    parser.add_argument("--waimai-weight", type=float, default=2.0, help="sample weight of review rows")
    parser.add_argument("--prune", type=float, default=0.0, help="drop n-grams with |w*idf| at or below")
    args = parser.parse_args(argv)
    model = train(args.data, args.max_n, args.min_df, args.grid, args.waimai_weight)
    if args.prune > 0:
        model = prune(model, args.prune)
    save_model(model, args.out)
    log(f"wrote {args.out} ({args.out.stat().st_size} bytes, {len(model.weights)} n-grams)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
