"""Durations as mergeable histograms, so medians and p90s come from daily rollups.

A percentile cannot be summed, but a histogram can: each rollup row keeps how many
requests took each duration, and a chart adds the rows it covers and reads the percentile
off the sum. A histogram is stored as the hex text of its non-empty ``(bin, count)``
pairs (little-endian uint16, uint32), so the rows of a chart are added in one vectorized
step (:func:`grouped`) and the text works the same in every database.

Durations are whole minutes. Below two hours every minute is a bin of its own; above, a
bin spans 5 % of its start (2 h 00, 2 h 06, 2 h 12 ...), so a reported median or
p90 is the exact figure below two hours and its bin's start (at most 5 % low) above.

Percentiles are nearest-rank: the p-quantile of n values is the ceil(p*n)-th smallest, i.e.
PostgreSQL's ``percentile_disc(p)``; the lower median for an even count.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

EXACT_BELOW = 120
GROWTH = 1.05
LONGEST = 366 * 24 * 60  # a year: longer durations share the last bin


def _bounds() -> list[int]:
    bounds = list(range(EXACT_BELOW))
    value = EXACT_BELOW
    while value <= LONGEST:
        bounds.append(value)
        value = max(value + 1, math.ceil(value * GROWTH))
    return bounds


BOUNDS: list[int] = _bounds()
BINS = len(BOUNDS)
_PAIR = np.dtype([("bin", "<u2"), ("count", "<u4")])


def bin_of(minutes: int) -> int:
    return max(0, bisect_right(BOUNDS, max(0, minutes)) - 1)


def floor_to_bin(minutes: int) -> int:
    """What a duration reads as at this histogram's resolution (the start of its bin)."""
    return BOUNDS[bin_of(minutes)]


def empty() -> npt.NDArray[np.int64]:
    return np.zeros(BINS, dtype=np.int64)


def of(values: Iterable[int]) -> npt.NDArray[np.int64]:
    counts = empty()
    for value in values:
        counts[bin_of(value)] += 1
    return counts


PAIR_HEX = 2 * _PAIR.itemsize  # hex characters per stored pair


def pack(counts: npt.NDArray[np.int64]) -> str:
    """The non-empty bins as hex text of little-endian (uint16 bin, uint32 count) pairs."""
    (nonzero,) = np.nonzero(counts)
    pairs = np.empty(len(nonzero), dtype=_PAIR)
    pairs["bin"] = nonzero
    pairs["count"] = counts[nonzero]
    return pairs.tobytes().hex()


@dataclass(frozen=True)
class Decoded:
    """Many packed histograms unpacked at once: each pair's source row, bin and count."""

    rows: npt.NDArray[np.int64]
    bins: npt.NDArray[np.int64]
    counts: npt.NDArray[np.float64]

    @classmethod
    def of(cls, packed: Sequence[str | None]) -> Decoded:
        texts = [p or "" for p in packed]
        lengths = np.fromiter((len(t) // PAIR_HEX for t in texts), dtype=np.int64, count=len(texts))
        pairs = np.frombuffer(bytes.fromhex("".join(texts)), dtype=_PAIR)
        return cls(
            np.repeat(np.arange(len(texts), dtype=np.int64), lengths),
            pairs["bin"].astype(np.int64),
            pairs["count"].astype(np.float64),
        )

    def grouped(self, groups: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.int64]:
        """Row ``g`` of the result: the sum of the histograms of the source rows in group ``g``."""
        if not len(self.bins):
            return np.zeros((n, BINS), dtype=np.int64)
        slots = groups[self.rows] * BINS + self.bins
        flat = np.bincount(slots, weights=self.counts, minlength=n * BINS)
        return np.rint(flat).astype(np.int64).reshape(n, BINS)


def grouped(packed: Sequence[str | None], groups: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.int64]:
    """Row ``g`` of the result: the sum of the packed histograms whose group is ``g``."""
    return Decoded.of(packed).grouped(groups, n)


def merged(packed: Sequence[str | None]) -> npt.NDArray[np.int64]:
    total: npt.NDArray[np.int64] = grouped(packed, np.zeros(len(packed), dtype=np.int64), 1)[0]
    return total


def percentile(counts: npt.NDArray[np.int64], p: float) -> int | None:
    """The nearest-rank ``p``-quantile in minutes (its bin's start); None when empty."""
    n = int(counts.sum())
    if n == 0:
        return None
    rank = max(1, math.ceil(p * n - 1e-9))
    index = int(np.searchsorted(np.cumsum(counts), rank))
    return BOUNDS[index]


def nearest_rank(values: list[int], p: float) -> int | None:
    """The same percentile computed from the values themselves (tests and the bench's raw side)."""
    if not values:
        return None
    ordered = sorted(values)
    return floor_to_bin(ordered[max(1, math.ceil(p * len(ordered) - 1e-9)) - 1])
