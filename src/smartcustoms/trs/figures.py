"""The study's tables, each computed from the checked timeline table.

Every function takes the timeline table (:mod:`.timelines`, restricted to the study's period
and filters) and returns a small frame. Release times are those of the consignments the
figures rest on (``exclusion`` null); breakdowns also count the excluded ones of each group.
Statistics follow :mod:`.stats` (linear-interpolation percentiles), durations in seconds.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import polars as pl

from smartcustoms.model.events import EventType
from smartcustoms.trs.columns import (
    CONSIGNMENT_ID,
    EXCLUSION,
    MILESTONES,
    N_EVENTS,
    OFFICE,
    RELEASE_S,
    STAGES,
    Check,
    Dimension,
    Exclusion,
    Span,
    flag_column,
    stage_column,
)
from smartcustoms.trs.sequence import stage_table, walk
from smartcustoms.trs.stats import STATS_SCHEMA, sorted_stat_exprs, stat_exprs
from smartcustoms.trs.timelines import UNKNOWN, span_expr

__all__ = [
    "HISTOGRAM_EDGES_H",
    "QUALITY_COLUMNS",
    "breakdown",
    "histogram",
    "included",
    "outliers",
    "patterns",
    "quality",
    "ranked",
    "sequence",
    "spans",
    "weekly",
]

HISTOGRAM_EDGES_H: Final = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 24.0, 48.0, 72.0, 168.0)
"""Lower edges (hours) of the release-time distribution's bins; the last bin is open."""

QUALITY_COLUMNS: Final = (
    "consignments",
    "events",
    *(c.value for c in Check),
    Exclusion.NO_RELEASE.value,
    Exclusion.NO_ARRIVAL.value,
    "excluded",
    "included",
)
"""Columns of the per-office quality table after ``office``.

``events``, ``duplicate`` and ``invalid_event`` count events; every other column counts
consignments: with at least one finding of that check, with that exclusion reason, left out
for any reason (``excluded``: out of order, future, no release, no arrival) or kept.
"""

_INCLUDED = pl.col(EXCLUSION).is_null()


def included(table: pl.LazyFrame) -> pl.LazyFrame:
    """The consignments the figures rest on, with ``release_s`` (arrival -> release)."""
    return table.filter(_INCLUDED).with_columns(span_expr(Span.ARRIVAL_RELEASE).alias(RELEASE_S))


def ranked(table: pl.LazyFrame) -> pl.DataFrame:
    """The included consignments sorted by release time: what the other figures read.

    Sorted once, so that every breakdown reads its percentiles at their positions
    (:func:`~.stats.sorted_stat_exprs`) instead of sorting each group again.
    """
    wanted = [CONSIGNMENT_ID, *(d.value for d in Dimension), *(m.value for m in MILESTONES)]
    return included(table).select(*wanted, RELEASE_S).sort(RELEASE_S, CONSIGNMENT_ID).collect()


def _grouped(frame: pl.LazyFrame, by: list[str]) -> pl.LazyFrame:
    """Release-time statistics per group of ``by`` over rows sorted by release time."""
    return frame.group_by(by).agg(sorted_stat_exprs(RELEASE_S)).sort(by)


def spans(inc: pl.LazyFrame) -> pl.DataFrame:
    """Statistics of each headline interval (:class:`~.columns.Span`), one row each.

    Args:
        inc: The included consignments (:func:`ranked`).

    Returns:
        One row per span; ``count`` is the number of included consignments with both
        milestones of the span.
    """
    rows = [
        inc.select(pl.lit(span.value).alias("span"), *stat_exprs(span_expr(span))) for span in Span
    ]
    return pl.concat(pl.collect_all(rows))


def sequence(inc: pl.LazyFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Intervals between consecutive milestones, and the stages, overall and per lane.

    Args:
        inc: The included consignments (:func:`ranked`).

    Returns:
        ``(intervals, stages, stages_by_lane)``:

        * ``intervals`` - one row per pair (``from``, ``to``) of milestones that follow each
          other in time within a consignment (equal times in the canonical order), with
          statistics; listed by ``to`` then ``from`` in the canonical order;
        * ``stages`` - ``stage``, ``responsibility``, ``mean_s`` (a consignment without the
          stage counts as 0, so the stages' means add up to the mean release time),
          ``share`` of the mean release time, ``count`` of consignments;
        * ``stages_by_lane`` - the same with ``lane`` first.
    """
    rows = inc.select(Dimension.LANE.value, *(m.value for m in MILESTONES)).collect()
    lanes = rows.get_column(Dimension.LANE.value)
    names = lanes.unique().sort()
    codes = lanes.cast(pl.Enum(names)).to_physical().cast(pl.Int64).to_numpy()
    result = walk(rows, codes, max(len(names), 1))
    milestone = {i: m.value for i, m in enumerate(MILESTONES)}
    intervals = (
        result.gaps.lazy()
        .group_by("prev", "to")
        .agg(stat_exprs(pl.col("gap_s")))
        .sort("to", "prev")
        .with_columns(
            pl.col("prev").replace_strict(milestone, return_dtype=pl.String).alias("from"),
            pl.col("to").replace_strict(milestone, return_dtype=pl.String),
        )
        .select("from", "to", *STATS_SCHEMA.names())
        .collect()
    )
    sums = pl.DataFrame(
        {
            "lane": np.repeat(names.to_numpy(), result.stage_sums.shape[1])
            if len(names)
            else np.array([], dtype=object),
            "to": np.tile(np.arange(result.stage_sums.shape[1]), len(names)).astype(np.int8),
            "stage_s": result.stage_sums[: len(names)].ravel(),
        },
        schema={"lane": pl.String(), "to": pl.Int8(), "stage_s": pl.Float64()},
    )
    per_lane = (
        rows.group_by(Dimension.LANE.value)
        .agg(pl.len().cast(pl.UInt32).alias("count"))
        .rename({Dimension.LANE.value: "lane"})
    )
    by_lane = _stage_means(sums, per_lane, ["lane"])
    overall = _stage_means(
        sums.group_by("to").agg(pl.col("stage_s").sum()),
        pl.DataFrame({"count": [rows.height]}, schema={"count": pl.UInt32()}),
        [],
    )
    return intervals, overall, by_lane


def _stage_means(sums: pl.DataFrame, counts: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Mean seconds of every stage per group: the sums divided by the group's consignments."""
    rank = {s: MILESTONES.index(EventType(s.value)) for s in STAGES}
    grid = pl.DataFrame(
        {
            "stage": [s.value for s in STAGES],
            "responsibility": [r.value for r in STAGES.values()],
            "to": [rank[s] for s in STAGES],
            "_order": list(range(len(STAGES))),
        },
        schema={
            "stage": pl.String(),
            "responsibility": pl.String(),
            "to": pl.Int8(),
            "_order": pl.Int64(),
        },
    )
    counts = counts.with_columns(pl.col("count").cast(pl.UInt32))
    base = counts.join(grid, how="cross") if keys else grid.join(counts, how="cross")
    means = (
        base.join(sums, on=[*keys, "to"], how="left")
        .with_columns(
            pl.when(pl.col("count") > 0)
            .then(pl.col("stage_s").fill_null(0.0) / pl.col("count"))
            .alias("mean_s")
        )
        .sort(*keys, "_order")
    )
    return _with_share(means, "mean_s", keys).select(
        *keys, "stage", "responsibility", "mean_s", "share", "count"
    )


def _with_share(frame: pl.DataFrame, value: str, keys: list[str]) -> pl.DataFrame:
    """Add ``share``: ``value`` over its group's total (null when the total is 0).

    Divided in Python: Polars divides by a broadcast scalar as a multiplication by its
    inverse, which can differ in the last bit from one query plan to another.
    """
    groups = frame.select(keys).rows() if keys else [()] * frame.height
    values = frame.get_column(value).to_list()
    totals: dict[tuple[Any, ...], float] = {}
    for group, v in zip(groups, values, strict=True):
        totals[group] = totals.get(group, 0.0) + (v or 0.0)
    shares = [
        v / totals[g] if v is not None and totals[g] else None
        for g, v in zip(groups, values, strict=True)
    ]
    return frame.with_columns(pl.Series("share", shares, dtype=pl.Float64))


def breakdown(table: pl.LazyFrame, inc: pl.LazyFrame, dimension: Dimension) -> pl.DataFrame:
    """Release-time statistics per value of ``dimension``, with ``excluded`` per value.

    Args:
        table: Every consignment of the study (for the excluded ones).
        inc: The included consignments (:func:`ranked`).
        dimension: What to break down by.

    Returns:
        The dimension's values as ``value``, :data:`~.stats.STATISTICS` of the included
        consignments, ``excluded`` (consignments of that value left out) and ``share`` (of
        the included consignments), values in reading order.
    """
    key = pl.col(dimension.value).alias("value")
    stats, left_out = pl.collect_all(
        [
            _grouped(inc.with_columns(key), ["value"]),
            table.group_by(key).agg((~_INCLUDED).sum().cast(pl.UInt32).alias("excluded")),
        ]
    )
    frame = left_out.join(stats, on="value", how="left").with_columns(pl.col("count").fill_null(0))
    ordered = sorted(frame.get_column("value").to_list(), key=_value_order)
    frame = frame.join(
        pl.DataFrame(
            {"value": ordered, "_order": range(len(ordered))},
            schema={"value": pl.String(), "_order": pl.Int64()},
        ),
        on="value",
    ).sort("_order")
    columns = ["value", *STATS_SCHEMA.names(), "excluded"]
    return _with_share(frame.select(columns), "count", [])


_ROMAN: Final = {"I": 1, "V": 5, "X": 10, "L": 50}


def _value_order(value: str) -> tuple[int, int, str]:
    """Values in reading order: HS sections by number, ``unknown`` last, the rest by name."""
    if value == UNKNOWN:
        return (2, 0, value)
    if value and set(value) <= set(_ROMAN):
        numbers = [_ROMAN[c] for c in value]
        total = sum(-n if n < m else n for n, m in zip(numbers, [*numbers[1:], 0], strict=True))
        return (0, total, value)
    return (1, 0, value)


def _local_arrival(timezone: str) -> pl.Expr:
    return pl.col(EventType.ARRIVAL.value).dt.convert_time_zone(timezone)


def patterns(inc: pl.LazyFrame, timezone: str) -> tuple[pl.DataFrame, ...]:
    """Release time by local hour of arrival, by weekday, and by weekday x hour.

    Args:
        inc: The included consignments (:func:`ranked`).
        timezone: Where hours and weekdays are counted.

    Returns:
        ``(hourly, weekday, heatmap)``: ``hour`` (0-23) + statistics; ``weekday`` (1 Monday
        to 7 Sunday) + statistics; ``weekday``, ``hour``, ``count``, ``median_s`` and
        ``mean_s`` for every cell that has consignments.
    """
    local = inc.with_columns(
        _local_arrival(timezone).dt.hour().cast(pl.Int8).alias("hour"),
        _local_arrival(timezone).dt.weekday().cast(pl.Int8).alias("weekday"),
    )
    hourly = _grouped(local, ["hour"])
    weekday = _grouped(local, ["weekday"])
    heatmap = _grouped(local, ["weekday", "hour"]).select(
        "weekday", "hour", "count", "median_s", "mean_s"
    )
    return tuple(pl.collect_all([hourly, weekday, heatmap]))


def weekly(inc: pl.LazyFrame, timezone: str) -> pl.DataFrame:
    """Release time per week of arrival (weeks start on Monday, local time).

    ``inc`` is the included consignments (:func:`ranked`).

    Columns ``week`` (the Monday), statistics, and ``median_change``/``mean_change``: the
    relative change from the previous week listed (null for the first).
    """
    local = inc.with_columns(_local_arrival(timezone).dt.truncate("1w").dt.date().alias("week"))
    return (
        _grouped(local, ["week"])
        .with_columns(
            _change(pl.col("median_s")).alias("median_change"),
            _change(pl.col("mean_s")).alias("mean_change"),
        )
        .collect()
    )


def _change(value: pl.Expr) -> pl.Expr:
    """Relative change from the previous row (null when that was 0 or missing)."""
    before = value.shift(1)
    return pl.when(before != 0).then(value / before - 1)


def histogram(inc: pl.LazyFrame) -> pl.DataFrame:
    """How many included consignments (:func:`ranked`) fall in each release-time bin.

    Columns ``lower_h``, ``upper_h`` (null for the open last bin), ``count``; every bin is
    listed, empty ones with 0.
    """
    edges = list(HISTOGRAM_EDGES_H)
    hours = pl.col(RELEASE_S) / 3600
    index = pl.lit(0, pl.Int32)
    for i, edge in enumerate(edges[1:], start=1):
        index = pl.when(hours >= edge).then(pl.lit(i, pl.Int32)).otherwise(index)
    counts = (
        inc.group_by(index.alias("bin")).agg(pl.len().cast(pl.UInt32).alias("count"))
    ).collect()
    found = dict(zip(counts["bin"].to_list(), counts["count"].to_list(), strict=True))
    return pl.DataFrame(
        {
            "lower_h": edges,
            "upper_h": [*edges[1:], None],
            "count": [found.get(i, 0) for i in range(len(edges))],
        },
        schema={"lower_h": pl.Float64(), "upper_h": pl.Float64(), "count": pl.UInt32()},
    )


def outliers(
    inc: pl.LazyFrame, *, fence: float, limit: int
) -> tuple[pl.DataFrame, float | None, int]:
    """Included consignments whose release time is beyond Tukey's fence ``Q3 + fence x IQR``.

    Quartiles are linear-interpolation percentiles of the included release times. Outliers
    stay in every figure; they are listed so that each can be looked into.

    Returns:
        The ``limit`` longest outliers (``consignment_id``, ``office``, ``lane``, arrival,
        release, ``release_s``, ``longest_stage`` and its ``longest_stage_s``), the threshold
        in seconds (``None`` without consignments) and how many consignments exceed it.
    """
    q = inc.select(
        pl.col(RELEASE_S).quantile(0.25, "linear").alias("q1"),
        pl.col(RELEASE_S).quantile(0.75, "linear").alias("q3"),
    ).collect()
    q1, q3 = q["q1"][0], q["q3"][0]
    empty = pl.DataFrame(
        schema={
            CONSIGNMENT_ID: pl.String(),
            OFFICE: pl.String(),
            Dimension.LANE.value: pl.String(),
            EventType.ARRIVAL.value: pl.Datetime("us", "UTC"),
            EventType.RELEASE.value: pl.Datetime("us", "UTC"),
            RELEASE_S: pl.Float64(),
            "longest_stage": pl.String(),
            "longest_stage_s": pl.Float64(),
        }
    )
    if q1 is None or q3 is None or not math.isfinite(q3):
        return empty, None, 0
    threshold = float(q3 + fence * (q3 - q1))
    beyond = inc.filter(pl.col(RELEASE_S) > threshold)
    count = int(beyond.select(pl.len()).collect().item())
    names = {i: s.value for i, s in enumerate(STAGES)}
    stage_cols = [stage_column(s) for s in STAGES]
    listed = beyond.sort(RELEASE_S, CONSIGNMENT_ID, descending=[True, False]).head(limit).collect()
    top = (
        pl.concat([listed, stage_table(listed)], how="horizontal")
        .with_columns(pl.concat_list(stage_cols).alias("_stages"))
        .select(
            CONSIGNMENT_ID,
            pl.col(Dimension.OFFICE.value).alias(OFFICE),
            Dimension.LANE.value,
            EventType.ARRIVAL.value,
            EventType.RELEASE.value,
            RELEASE_S,
            pl.col("_stages")
            .list.arg_max()
            .replace_strict(names, return_dtype=pl.String)
            .alias("longest_stage"),
            pl.col("_stages").list.max().alias("longest_stage_s"),
        )
    )
    return (top if top.height else empty), threshold, count


def quality(table: pl.LazyFrame) -> pl.DataFrame:
    """The data-quality counters per office, then a total row (``office`` = ``all``).

    See :data:`QUALITY_COLUMNS` for what each column counts.
    """
    event_counts = (Check.DUPLICATE, Check.INVALID_EVENT)
    aggs: list[pl.Expr] = [
        pl.len().cast(pl.Int64).alias("consignments"),
        pl.col(N_EVENTS).cast(pl.Int64).sum().alias("events"),
    ]
    for check in Check:
        col = pl.col(flag_column(check))
        aggs.append(
            (
                col.cast(pl.Int64).sum()
                if check in event_counts
                else (col > 0).sum().cast(pl.Int64)
            ).alias(check.value)
        )
    for reason in (Exclusion.NO_RELEASE, Exclusion.NO_ARRIVAL):
        aggs.append((pl.col(EXCLUSION) == reason.value).sum().cast(pl.Int64).alias(reason.value))
    aggs.append((~_INCLUDED).sum().cast(pl.Int64).alias("excluded"))
    aggs.append(_INCLUDED.sum().cast(pl.Int64).alias("included"))
    per_office = table.group_by(pl.col(Dimension.OFFICE.value).alias("office")).agg(aggs)
    total = table.select(pl.lit("all").alias("office"), *aggs)
    frame = pl.concat(pl.collect_all([per_office.sort("office"), total]))
    return frame.select("office", *QUALITY_COLUMNS)
