"""Reading (and, for the trainer, writing) the shipped sentiment model file.

The file is ``model/sentiment.npz.gz`` inside this package: a gzip-compressed, pickle-free
``.npz`` (vocabulary as NUL-joined UTF-8, float32 weights, JSON metadata), a few MB. It is
read at most once per process (:func:`default_model`), on the first batch that needs it, so
importing the filters costs nothing and a worker that never scores sentiment never loads it.
"""

from __future__ import annotations

import gzip
import io
import json
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from servicehub.filters.sentiment_features import FEATURE_VERSION, SentimentModel, Vectorizer

MODEL_RESOURCE = "model/sentiment.npz.gz"
_SEPARATOR = "\x00"

_lock = threading.Lock()
_cached: SentimentModel | None = None


def join_strings(strings: list[str]) -> npt.NDArray[np.uint8]:
    return np.frombuffer(_SEPARATOR.join(strings).encode("utf-8"), dtype=np.uint8)


def split_strings(blob: npt.NDArray[np.uint8]) -> list[str]:
    text = blob.tobytes().decode("utf-8")
    return text.split(_SEPARATOR) if text else []


def save_model(model: SentimentModel, path: Path) -> None:
    """Write ``model`` to ``path`` (used by the trainer only; byte-identical for equal models)."""
    vocab = sorted(model.vectorizer.vocabulary, key=model.vectorizer.vocabulary.__getitem__)
    emoticons = sorted(model.emoticon_weights)
    meta = {"feature_version": FEATURE_VERSION, "max_n": model.vectorizer.max_n, "info": model.info}
    buffer = io.BytesIO()
    np.savez(
        buffer,
        vocabulary=join_strings(vocab),
        idf=model.vectorizer.idf.astype(np.float32),
        weights=model.weights.astype(np.float32),
        bias=np.array([model.bias], dtype=np.float64),
        emoticons=join_strings(emoticons),
        emoticon_weights=np.array([model.emoticon_weights[e] for e in emoticons], dtype=np.float32),
        meta=np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        out.write(buffer.getvalue())


def load_model_bytes(data: bytes) -> SentimentModel:
    """Build a model from the gzip bytes of a model file; raises ValueError if it is not one."""
    try:
        arrays = np.load(io.BytesIO(gzip.decompress(data)), allow_pickle=False)
    except (OSError, EOFError, ValueError) as exc:
        raise ValueError(f"not a sentiment model file: {exc}") from exc
    meta: dict[str, Any] = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    if meta.get("feature_version") != FEATURE_VERSION:
        raise ValueError(
            f"model was built for feature version {meta.get('feature_version')}, code is at {FEATURE_VERSION}"
        )
    vocab = split_strings(arrays["vocabulary"])
    idf = arrays["idf"].astype(np.float64)
    weights = arrays["weights"].astype(np.float64)
    if not len(vocab) == len(idf) == len(weights):
        raise ValueError("model file arrays disagree in length")
    emoticons = split_strings(arrays["emoticons"])
    vectorizer = Vectorizer(vocabulary={g: i for i, g in enumerate(vocab)}, idf=idf, max_n=int(meta["max_n"]))
    return SentimentModel(
        vectorizer=vectorizer,
        weights=weights,
        bias=float(arrays["bias"][0]),
        emoticon_weights=dict(zip(emoticons, arrays["emoticon_weights"].astype(float).tolist(), strict=True)),
        info={str(k): str(v) for k, v in meta.get("info", {}).items()},
    )


def load_model(path: Path | None = None) -> SentimentModel:
    """Load a model file; without ``path``, the one shipped in this package."""
    if path is not None:
        return load_model_bytes(path.read_bytes())
    return load_model_bytes(resources.files(__package__).joinpath(MODEL_RESOURCE).read_bytes())


def default_model() -> SentimentModel:
    """The shipped model, loaded once per process (thread-safe)."""
    global _cached
    if _cached is None:
        with _lock:
            if _cached is None:
                _cached = load_model()
    return _cached
