"""Reading (and, for the trainer, writing) the shipped service model file.

``model/service.npz.gz`` sits beside the binary model: a gzip-compressed, pickle-free ``.npz``
(vocabulary as NUL-joined UTF-8, float32 weights, JSON metadata naming the dense cues and
class order). It is read at most once per process, on the first batch that needs it. The
file refuses to load against code whose cues differ from the ones it was trained on.
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

from servicehub.filters.lexicon import LEXICON_VERSION
from servicehub.filters.sentiment_features import Vectorizer
from servicehub.filters.sentiment_store import join_strings, split_strings
from servicehub.filters.service_model import (
    DENSE_NAMES,
    INTENTS,
    SENTIMENTS,
    SERVICE_FEATURE_VERSION,
    Head,
    ServiceModel,
)

MODEL_RESOURCE = "model/service.npz.gz"

_lock = threading.Lock()
_cached: ServiceModel | None = None


def save_service_model(model: ServiceModel, path: Path) -> None:
    """Write ``model`` to ``path`` (trainer only; byte-identical for equal models)."""
    vocab = sorted(model.vectorizer.vocabulary, key=model.vectorizer.vocabulary.__getitem__)
    meta = {
        "feature_version": SERVICE_FEATURE_VERSION,
        "lexicon_version": LEXICON_VERSION,
        "dense_names": list(DENSE_NAMES),
        "sentiment_classes": list(model.sentiment.classes),
        "intent_classes": list(model.intent.classes),
        "max_n": model.vectorizer.max_n,
        "info": model.info,
    }
    arrays: dict[str, Any] = {
        "vocabulary": join_strings(vocab),
        "idf": model.vectorizer.idf.astype(np.float32),
        "dense_mean": model.dense_mean.astype(np.float32),
        "dense_scale": model.dense_scale.astype(np.float32),
        "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8),
    }
    for name, head in (("sentiment", model.sentiment), ("intent", model.intent)):
        arrays[f"{name}_weights"] = head.weights.astype(np.float32)
        arrays[f"{name}_dense"] = head.dense.astype(np.float32)
        arrays[f"{name}_bias"] = head.bias.astype(np.float64)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        out.write(buffer.getvalue())


def load_service_model_bytes(data: bytes) -> ServiceModel:
    """Build a model from the gzip bytes of a model file; raises ValueError if it does not fit."""
    try:
        arrays = np.load(io.BytesIO(gzip.decompress(data)), allow_pickle=False)
        meta: dict[str, Any] = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    except (OSError, EOFError, ValueError, KeyError) as exc:
        raise ValueError(f"not a service model file: {exc}") from exc
    expected = {
        "feature_version": SERVICE_FEATURE_VERSION,
        "lexicon_version": LEXICON_VERSION,
        "dense_names": list(DENSE_NAMES),
        "sentiment_classes": list(SENTIMENTS),
        "intent_classes": list(INTENTS),
    }
    for key, value in expected.items():
        if meta.get(key) != value:
            raise ValueError(f"service model was built for {key} {meta.get(key)!r}, code has {value!r}")
    vocab = split_strings(arrays["vocabulary"])
    vectorizer = Vectorizer(
        vocabulary={g: i for i, g in enumerate(vocab)},
        idf=arrays["idf"].astype(np.float64),
        max_n=int(meta["max_n"]),
    )
    heads = {
        name: Head(
            classes=tuple(meta[f"{name}_classes"]),
            weights=arrays[f"{name}_weights"].astype(np.float64),
            dense=arrays[f"{name}_dense"].astype(np.float64),
            bias=arrays[f"{name}_bias"].astype(np.float64),
        )
        for name in ("sentiment", "intent")
    }
    for head in heads.values():
        if head.weights.shape != (len(vocab), len(head.classes)) or head.dense.shape[0] != len(DENSE_NAMES):
            raise ValueError("service model file arrays disagree in shape")
    return ServiceModel(
        vectorizer=vectorizer,
        dense_mean=arrays["dense_mean"].astype(np.float64),
        dense_scale=arrays["dense_scale"].astype(np.float64),
        sentiment=heads["sentiment"],
        intent=heads["intent"],
        info={str(k): str(v) for k, v in meta.get("info", {}).items()},
    )


def load_service_model(path: Path | None = None) -> ServiceModel:
    """Load a model file; without ``path``, the one shipped in this package."""
    if path is not None:
        return load_service_model_bytes(path.read_bytes())
    return load_service_model_bytes(resources.files(__package__).joinpath(MODEL_RESOURCE).read_bytes())


def default_service_model() -> ServiceModel:
    """The shipped service model, loaded once per process (thread-safe)."""
    global _cached
    if _cached is None:
        with _lock:
            if _cached is None:
                _cached = load_service_model()
    return _cached
