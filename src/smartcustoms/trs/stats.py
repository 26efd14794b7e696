"""The summary statistics of every figure: count, mean, median, p90, p95, max.

**Percentiles** are computed by linear interpolation between closest ranks (Hyndman and Fan's
definition 7, the default of NumPy, R and spreadsheet ``PERCENTILE.INC``): for ``n`` sorted
values ``x[0] <= ... <= x[n-1]`` the ``p``-quantile is at position ``h = (n - 1) p``,
``x[floor(h)] + (h - floor(h)) (x[floor(h) + 1] - x[floor(h)])``. The median is the
0.5-quantile under the same definition (the mean of the two middle values when ``n`` is even).
Every table of the study uses this one definition.

Statistics skip nulls: ``count`` is the number of values a figure rests on.
"""

from __future__ import annotations

from typing import Final

import polars as pl

__all__ = [
    "STATISTICS",
    "STATS_SCHEMA",
    "percentile",
    "sorted_stat_exprs",
    "stat_exprs",
    "summarise",
]

STATISTICS: Final = ("count", "mean_s", "median_s", "p90_s", "p95_s", "max_s")
"""Columns of every statistics row (durations in seconds; ``count`` an integer)."""

STATS_SCHEMA: Final = pl.Schema(
    [
        ("count", pl.UInt32()),
        ("mean_s", pl.Float64()),
        ("median_s", pl.Float64()),
        ("p90_s", pl.Float64()),
        ("p95_s", pl.Float64()),
        ("max_s", pl.Float64()),
    ]
)


def stat_exprs(value: pl.Expr) -> list[pl.Expr]:
    """Aggregations giving the :data:`STATISTICS` of ``value`` (Float64 seconds)."""
    return [
        value.count().cast(pl.UInt32).alias("count"),
        value.mean().alias("mean_s"),
        value.quantile(0.5, "linear").alias("median_s"),
        value.quantile(0.9, "linear").alias("p90_s"),
        value.quantile(0.95, "linear").alias("p95_s"),
        value.max().cast(pl.Float64).alias("max_s"),
    ]


def _sorted_quantile(value: pl.Expr, p: float) -> pl.Expr:
    """The ``p``-quantile of ``value`` already sorted ascending, by the definition above."""
    h = (pl.len().cast(pl.Float64) - 1) * p
    low, high = h.floor(), h.ceil()
    x_low = value.gather(low.cast(pl.UInt32)).first()
    x_high = value.gather(high.cast(pl.UInt32)).first()
    return x_low + (h - low) * (x_high - x_low)


def sorted_stat_exprs(value: str) -> list[pl.Expr]:
    """:func:`stat_exprs` for a column without nulls, sorted ascending within each group.

    Percentiles are then read at their positions instead of sorting every group again:
    sort the rows once, and every breakdown of them costs about as much as a mean. Polars
    keeps the order of rows within each group of a ``group_by``. Groups must not be empty.
    """
    col = pl.col(value)
    return [
        pl.len().cast(pl.UInt32).alias("count"),
        col.mean().alias("mean_s"),
        _sorted_quantile(col, 0.5).alias("median_s"),
        _sorted_quantile(col, 0.9).alias("p90_s"),
        _sorted_quantile(col, 0.95).alias("p95_s"),
        col.last().cast(pl.Float64).alias("max_s"),
    ]


def summarise(frame: pl.LazyFrame, value: str, by: list[str] | None = None) -> pl.LazyFrame:
    """Statistics of column ``value`` over ``frame``, per group of ``by`` (sorted) or overall.

    Args:
        frame: Rows to summarise.
        value: A Float64 column of seconds; nulls are skipped.
        by: Grouping columns; ``None`` gives one row for the whole frame.

    Returns:
        ``by`` columns then :data:`STATISTICS`; an empty frame gives one row with count 0
        (overall) or no rows (grouped).
    """
    exprs = stat_exprs(pl.col(value))
    if not by:
        return frame.select(exprs)
    return frame.group_by(by).agg(exprs).sort(by, nulls_last=True)


def percentile(values: list[float], p: float) -> float | None:
    """The ``p``-quantile of ``values`` by linear interpolation (reference implementation).

    Used by tests and small callers; :func:`stat_exprs` computes the same in Polars.
    """
    if not values:
        return None
    ordered = sorted(values)
    h = (len(ordered) - 1) * p
    low = int(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])
