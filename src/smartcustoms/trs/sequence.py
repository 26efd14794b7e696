"""Consecutive milestones: each consignment's milestones in time order, and the stages.

Each milestone time becomes one integer key, ``microseconds x 16 + canonical rank``, so that
sorting a consignment's keys orders its milestones by time and equal times by the canonical
order (:data:`~.columns.MILESTONES`). Sorting the 15 keys of every row at once (NumPy, in
chunks of rows) gives every pair of consecutive milestones: the **intervals**.

Arrival and release are milestones of the sorted row themselves, so a gap lies either wholly
inside the arrival -> release window (it comes after arrival and no later than release in the
row) or wholly outside it. The gaps inside are the **stages**, each named after the milestone
that ends it; over a consignment they add up to its release time exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from smartcustoms.model.events import EventType
from smartcustoms.trs.columns import MILESTONES, STAGES, stage_column

__all__ = ["CHUNK_ROWS", "GAP_SCHEMA", "Walk", "stage_table", "walk"]

CHUNK_ROWS: Final = 1_000_000
"""Rows sorted at once (bounds the memory of the NumPy pass)."""

GAP_SCHEMA: Final = pl.Schema([("prev", pl.Int8()), ("to", pl.Int8()), ("gap_s", pl.Float64())])
"""One pair of consecutive milestones: canonical ranks of the earlier (``prev``) and later
(``to``) milestone and the seconds between them."""

_MISSING: Final = np.iinfo(np.int64).max
_WIDTH: Final = len(MILESTONES)
_SLOTS: Final = 16
"""Rank slots: the 15 milestones, and slot 15 where missing keys (``_MISSING % 16``) land."""
_US: Final = 1_000_000


@dataclass(frozen=True)
class _Chunk:
    """The consecutive pairs of a chunk of rows, as ``14 x rows`` arrays.

    The first axis is the position in the sorted row, the second the row.
    """

    prev: npt.NDArray[np.int64]
    to: npt.NDArray[np.int64]
    gap_us: npt.NDArray[np.int64]
    valid: npt.NDArray[np.bool_]
    inside: npt.NDArray[np.bool_]


def _chunk(part: pl.DataFrame) -> _Chunk:
    keys = (
        part.select(
            (pl.col(m.value).dt.epoch("us") * 16 + rank).fill_null(_MISSING)
            for rank, m in enumerate(MILESTONES)
        )
        .to_numpy()
        .astype(np.int64, copy=False)
    )
    # copies: the sort below is in place
    arrival = keys[:, MILESTONES.index(EventType.ARRIVAL)].copy()
    release = keys[:, MILESTONES.index(EventType.RELEASE)].copy()
    keys.sort(axis=1)
    # where arrival and release sit in the sorted row (missing: past the end)
    pos_arrival = np.where(arrival == _MISSING, _WIDTH, (keys < arrival[:, None]).sum(axis=1))
    pos_release = np.where(release == _MISSING, _WIDTH, (keys < release[:, None]).sum(axis=1))
    # one contiguous row per position: element-wise work below is much faster that way
    by_position = np.ascontiguousarray(keys.T)
    earlier, later = by_position[:-1], by_position[1:]
    position = np.arange(_WIDTH - 1)[:, None]
    return _Chunk(
        # keys are time * 16 + rank: & 15 is the rank, >> 4 the time (floor, also before 1970)
        prev=earlier & 15,
        to=later & 15,
        gap_us=(later >> 4) - (earlier >> 4),
        valid=later != _MISSING,
        inside=(position >= pos_arrival[None, :]) & (position < pos_release[None, :]),
    )


@dataclass(frozen=True)
class Walk:
    """What one pass over the sorted milestones of many consignments yields.

    Attributes:
        gaps: Every pair of consecutive milestones (:data:`GAP_SCHEMA`).
        stage_sums: ``groups x 16`` seconds summed per group and ending milestone rank (the
            stages; column 15 unused).
    """

    gaps: pl.DataFrame
    stage_sums: npt.NDArray[np.float64]


def walk(
    frame: pl.DataFrame,
    groups: npt.NDArray[np.int64] | None = None,
    n_groups: int = 1,
    chunk_rows: int = CHUNK_ROWS,
) -> Walk:
    """Sort every row's milestones; collect the gaps and sum the stages per group.

    Args:
        frame: Timeline rows (one timestamp column per milestone).
        groups: Group code (``0 <= code < n_groups``) of each row; all rows in group 0 when
            omitted.
        n_groups: Number of groups.
        chunk_rows: Rows sorted at once.
    """
    gaps: list[pl.DataFrame] = []
    sums = np.zeros(n_groups * _SLOTS, dtype=np.float64)
    for lo in range(0, frame.height, chunk_rows):
        c = _chunk(frame.slice(lo, chunk_rows))
        gaps.append(
            pl.DataFrame(
                {
                    "prev": c.prev[c.valid].astype(np.int8),
                    "to": c.to[c.valid].astype(np.int8),
                    "gap_s": c.gap_us[c.valid] / _US,
                },
                schema=GAP_SCHEMA,
            )
        )
        rows = c.valid.shape[1]
        code = np.zeros(rows, dtype=np.int64) if groups is None else groups[lo : lo + rows]
        counted = c.valid & c.inside
        slot = (code[None, :] * _SLOTS + c.to)[counted]
        sums += np.bincount(slot, weights=c.gap_us[counted] / _US, minlength=n_groups * _SLOTS)
    merged = pl.concat(gaps) if gaps else pl.DataFrame(schema=GAP_SCHEMA)
    return Walk(gaps=merged, stage_sums=sums.reshape(n_groups, _SLOTS))


def stage_table(frame: pl.DataFrame) -> pl.DataFrame:
    """Seconds of every stage for each row of ``frame`` (``stage_<milestone>_s`` columns).

    A stage a consignment did not go through is 0; all are null when arrival or release is
    missing.
    """
    parts: list[npt.NDArray[np.float64]] = []
    for lo in range(0, frame.height, CHUNK_ROWS):
        part = frame.slice(lo, CHUNK_ROWS)
        c = _chunk(part)
        out = np.zeros((_SLOTS, part.height), dtype=np.float64)
        np.put_along_axis(out, c.to, np.where(c.valid & c.inside, c.gap_us / _US, 0.0), axis=0)
        window = part.select(
            pl.col(EventType.ARRIVAL.value).is_not_null()
            & pl.col(EventType.RELEASE.value).is_not_null()
        ).to_series()
        out[:, ~window.to_numpy()] = np.nan
        parts.append(out)
    table = np.concatenate(parts, axis=1) if parts else np.zeros((_SLOTS, 0))
    return pl.DataFrame(
        {stage_column(s): table[MILESTONES.index(EventType(s.value))] for s in STAGES},
        schema={stage_column(s): pl.Float64() for s in STAGES},
    ).with_columns(pl.all().fill_nan(None))
