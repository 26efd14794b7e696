"""Grouped string pools: pick one string per row from the row's own group, vectorised."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["StringPools"]


@dataclass(frozen=True)
class StringPools:
    """Several lists of strings flattened into one Series with offsets.

    ``pools.take(group, bits)`` returns, for each row, ``groups[group[row]][bits[row] % n]``
    without a Python loop: one modulo, one gather.
    """

    values: pl.Series
    start: npt.NDArray[np.int64]
    count: npt.NDArray[np.int64]

    @classmethod
    def of(cls, groups: Sequence[Sequence[str]]) -> StringPools:
        """Build pools from lists of strings (every list must be non-empty)."""
        counts = np.array([len(g) for g in groups], dtype=np.int64)
        if (counts == 0).any():
            raise ValueError("every string pool needs at least one value")
        flat = [s for g in groups for s in g]
        start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        return cls(pl.Series("values", flat, pl.String), start, counts)

    def pick(self, group: npt.ArrayLike, bits: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """Flat indices of the chosen strings."""
        g = np.asarray(group, dtype=np.int64)
        offset = (bits % self.count[g].astype(np.uint64)).astype(np.int64)
        picked: npt.NDArray[np.int64] = self.start[g] + offset
        return picked

    def take(self, group: npt.ArrayLike, bits: npt.NDArray[np.uint64]) -> pl.Series:
        """The chosen strings."""
        return self.values.gather(self.pick(group, bits))
