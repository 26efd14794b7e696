"""From lifecycle events to the timeline table: one row per consignment, checked.

Three steps, each a function over lazy frames:

1. :func:`pivot_events` - one timestamp column per milestone (the earliest report of each),
   with the counts the data-quality report needs (events, duplicates, conflicting repeats,
   events that are not milestones); the one step that reads every event, streamed.
2. :func:`check_timelines` - the required orders (:data:`~.columns.PRECEDENCE`): a small
   disagreement is corrected as clock skew, a larger one excludes the consignment; milestones
   after the as-of time; missing and unpaired milestones; the exclusion reason.
3. :func:`with_dimensions` - the breakdown dimensions, from the events and from the optional
   consignment attributes (:data:`~.columns.ATTRIBUTE_SCHEMA`, read by the pivot).

:func:`span_expr` computes headline durations from the table on demand, and
:mod:`.sequence` the intervals between consecutive milestones, so the table itself stays
narrow (15 timestamps and a few labels per consignment) for tens of millions of consignments.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Final

import polars as pl

from smartcustoms.model.columns import TIMESTAMP
from smartcustoms.model.events import EventType
from smartcustoms.tariff import load_nomenclature
from smartcustoms.trs.columns import (
    AEO_STATUS,
    ATTRIBUTE_SCHEMA,
    CONSIGNMENT_ID,
    EXCLUSION,
    HS_CODE,
    LANE,
    MILESTONES,
    N_EVENTS,
    OFFICE,
    PRECEDENCE,
    SPANS,
    TRANSPORT_MODE,
    Check,
    Dimension,
    Exclusion,
    Span,
    flag_column,
)

__all__ = [
    "UNKNOWN",
    "check_timelines",
    "hs_sections",
    "pivot_events",
    "span_expr",
    "with_dimensions",
]

UNKNOWN: Final = "unknown"
"""The value of a dimension that the data do not tell."""

_KIND = "_kind"
_MAX = "_max_"
_ENUM = pl.Enum([m.value for m in MILESTONES])
_RANK = {m: i for i, m in enumerate(MILESTONES)}
_US = 1_000_000
_AEO = {"national": "aeo", "mra": "mra", "none": "non_aeo"}


_FACTS: Final = tuple(c for c in ATTRIBUTE_SCHEMA.names() if c != CONSIGNMENT_ID)
_IS_FACT = "_is_fact"


def _slim(events: pl.LazyFrame) -> pl.LazyFrame:
    """The columns the pivot reads; event types as small integers, offices categorical."""
    names = events.collect_schema().names()
    office = pl.col(OFFICE).cast(pl.String) if OFFICE in names else pl.lit(None, pl.String)
    return events.select(
        pl.col(CONSIGNMENT_ID),
        pl.col("event_type").cast(_ENUM, strict=False).to_physical().alias(_KIND),
        pl.col("occurred_at"),
        office.cast(pl.Categorical).alias(OFFICE),
    )


def _rows(events: pl.LazyFrame, attributes: pl.LazyFrame | None) -> pl.LazyFrame:
    """Events, and the attributes as rows of their own (marked), for one pass over both."""
    slim = _slim(events).with_columns(
        *(pl.lit(None, pl.Categorical).alias(c) for c in _FACTS), pl.lit(False).alias(_IS_FACT)
    )
    if attributes is None:
        return slim
    have = attributes.collect_schema().names()
    facts = attributes.select(
        pl.col(CONSIGNMENT_ID).cast(pl.String),
        pl.lit(None, pl.UInt8).alias(_KIND),
        pl.lit(None, TIMESTAMP).alias("occurred_at"),
        pl.lit(None, pl.Categorical).alias(OFFICE),
        *(
            (pl.col(c).cast(pl.String) if c in have else pl.lit(None, pl.String))
            .cast(pl.Categorical)
            .alias(c)
            for c in _FACTS
        ),
        pl.lit(True).alias(_IS_FACT),
    )
    return pl.concat([slim, facts], how="vertical_relaxed")


def pivot_events(events: pl.LazyFrame, attributes: pl.LazyFrame | None = None) -> pl.DataFrame:
    """One row per consignment with the earliest time of each milestone, and its facts.

    Runs on Polars' streaming engine, so the events are never all in memory at once. The
    attributes are read in the same pass, as rows of their own grouped with the events, which
    costs much less than joining ten million rows afterwards. Repeats (a milestone reported
    again at another time) are looked for in a second pass over the events of the
    consignments with duplicate reports only, which usually are few or none.

    Args:
        events: ``consignment_id``, ``event_type``, ``occurred_at`` (UTC datetime) and,
            when known, ``office`` (other columns are ignored).
        attributes: Consignment facts (:data:`~.columns.ATTRIBUTE_SCHEMA`, any subset of
            its columns beside the id). One row per consignment is expected; with several,
            each column takes its smallest value.

    Returns:
        ``consignment_id``, ``office``, one column per milestone (named after its event type,
        null when never reported), the attribute columns (null when unknown), ``n_events``
        and the counts ``dq_duplicate``, ``dq_repeated``, ``dq_invalid_event`` (see
        :class:`~.columns.Check`). Consignments with attributes but no event are left out.
        Row order is not defined.
    """
    kind, at, event = pl.col(_KIND), pl.col("occurred_at"), ~pl.col(_IS_FACT)
    arrival = _RANK[EventType.ARRIVAL]
    aggs: list[pl.Expr] = [event.sum().cast(pl.UInt32).alias(N_EVENTS)]
    aggs += [
        pl.when(kind == rank).then(at).min().alias(m.value) for rank, m in enumerate(MILESTONES)
    ]
    aggs += [
        ((kind.is_null() | at.is_null()) & event)
        .sum()
        .cast(pl.UInt32)
        .alias(flag_column(Check.INVALID_EVENT)),
        # categorical min is lexical: the smallest office name, whatever the event order
        pl.coalesce(pl.when(kind == arrival).then(pl.col(OFFICE)).min(), pl.col(OFFICE).min())
        .cast(pl.String)
        .alias(OFFICE),
        *(pl.col(c).min().cast(pl.String).alias(c) for c in _FACTS),
    ]
    present = pl.sum_horizontal(pl.col(m.value).is_not_null() for m in MILESTONES)
    table = (
        _rows(events, attributes)
        .group_by(CONSIGNMENT_ID)
        .agg(aggs)
        .filter(pl.col(N_EVENTS) > 0)
        .with_columns(
            (
                pl.col(N_EVENTS).cast(pl.Int64)
                - pl.col(flag_column(Check.INVALID_EVENT)).cast(pl.Int64)
                - present
            )
            .cast(pl.UInt32)
            .alias(flag_column(Check.DUPLICATE))
        )
        .collect(engine="streaming")
    )
    return _with_repeats(events, table)


def _with_repeats(events: pl.LazyFrame, table: pl.DataFrame) -> pl.DataFrame:
    """Add ``dq_repeated``, from the latest report of each milestone of the duplicated."""
    duplicated = table.filter(pl.col(flag_column(Check.DUPLICATE)) > 0).select(
        CONSIGNMENT_ID, *(m.value for m in MILESTONES)
    )
    repeated = pl.lit(0, pl.UInt32).alias(flag_column(Check.REPEATED))
    if duplicated.is_empty():
        return table.with_columns(repeated)
    kind, at = pl.col(_KIND), pl.col("occurred_at")
    latest = (
        _slim(events)
        .join(duplicated.lazy().select(CONSIGNMENT_ID), on=CONSIGNMENT_ID, how="semi")
        .group_by(CONSIGNMENT_ID)
        .agg(
            pl.when(kind == rank).then(at).max().alias(_MAX + m.value)
            for rank, m in enumerate(MILESTONES)
        )
        .join(duplicated.lazy(), on=CONSIGNMENT_ID)
        .select(
            CONSIGNMENT_ID,
            pl.sum_horizontal(
                (pl.col(_MAX + m.value) != pl.col(m.value)).fill_null(False) for m in MILESTONES
            )
            .cast(pl.UInt32)
            .alias(flag_column(Check.REPEATED)),
        )
        .collect()
    )
    return table.join(latest, on=CONSIGNMENT_ID, how="left").with_columns(
        pl.col(flag_column(Check.REPEATED)).fill_null(0)
    )


def check_timelines(
    table: pl.LazyFrame, *, tolerance: timedelta, as_of: datetime | None
) -> pl.LazyFrame:
    """Check the required orders, correct clock skew, and say which consignments are excluded.

    For each pair ``(a, b)`` of :data:`~.columns.PRECEDENCE` with both milestones reported:
    ``b`` earlier than ``a`` by at most ``tolerance`` is clock skew (``b`` is moved to ``a``'s
    time, ``dq_clock_skew`` counts it); earlier by more is ``dq_out_of_order``. Milestones
    after ``as_of + tolerance`` count in ``dq_future``. For released consignments,
    ``dq_missing`` counts a missing lodgement and acceptance, ``dq_unpaired`` the checks,
    inspections and holds started but not ended or the reverse.

    Args:
        table: The output of :func:`pivot_events`.
        tolerance: Largest disagreement between clocks taken as skew, not as an error.
        as_of: When the data were taken (``None``: no check of future times).

    Returns:
        ``table`` with corrected milestone times, the flags above and ``exclusion`` (an
        :class:`~.columns.Exclusion` value, null for consignments the figures rest on).
    """
    zero = pl.lit(0, pl.UInt32)
    frame = table.with_columns(
        zero.alias(flag_column(Check.CLOCK_SKEW)), zero.alias(flag_column(Check.OUT_OF_ORDER))
    )
    limit = pl.lit(-tolerance)
    for a, b in PRECEDENCE:
        gap = pl.col(b.value) - pl.col(a.value)
        skew = ((gap < pl.lit(timedelta(0))) & (gap >= limit)).fill_null(False)
        broken = (gap < limit).fill_null(False)
        frame = frame.with_columns(
            pl.when(skew).then(pl.col(a.value)).otherwise(pl.col(b.value)).alias(b.value),
            pl.col(flag_column(Check.CLOCK_SKEW)) + skew.cast(pl.UInt32),
            pl.col(flag_column(Check.OUT_OF_ORDER)) + broken.cast(pl.UInt32),
        )
    if as_of is None:
        future: pl.Expr = zero
    else:
        late = pl.lit(as_of + tolerance).dt.convert_time_zone("UTC")
        future = pl.sum_horizontal((pl.col(m.value) > late).fill_null(False) for m in MILESTONES)
    released = pl.col(EventType.RELEASE.value).is_not_null()

    def has(m: EventType) -> pl.Expr:
        return pl.col(m.value).is_not_null()

    missing = pl.sum_horizontal(~has(EventType.LODGEMENT), ~has(EventType.ACCEPTANCE))
    unpaired = pl.sum_horizontal(
        has(start) ^ has(end)
        for start, end in (
            (EventType.DOCUMENT_CHECK_START, EventType.DOCUMENT_CHECK_END),
            (EventType.PHYSICAL_INSPECTION_START, EventType.PHYSICAL_INSPECTION_END),
            (EventType.AGENCY_HOLD, EventType.AGENCY_RELEASE),
        )
    )
    frame = frame.with_columns(
        future.cast(pl.UInt32).alias(flag_column(Check.FUTURE)),
        pl.when(released)
        .then(missing)
        .otherwise(0)
        .cast(pl.UInt32)
        .alias(flag_column(Check.MISSING)),
        pl.when(released)
        .then(unpaired)
        .otherwise(0)
        .cast(pl.UInt32)
        .alias(flag_column(Check.UNPAIRED)),
    )
    exclusion = (
        pl.when(pl.col(flag_column(Check.OUT_OF_ORDER)) > 0)
        .then(pl.lit(Exclusion.OUT_OF_ORDER.value))
        .when(pl.col(flag_column(Check.FUTURE)) > 0)
        .then(pl.lit(Exclusion.FUTURE.value))
        .when(~released)
        .then(pl.lit(Exclusion.NO_RELEASE.value))
        .when(~has(EventType.ARRIVAL))
        .then(pl.lit(Exclusion.NO_ARRIVAL.value))
    )
    return frame.with_columns(exclusion.alias(EXCLUSION))


@cache
def hs_sections() -> dict[str, str]:
    """HS 2022 chapter (2 digits) -> section (Roman numeral), from the shipped nomenclature."""
    frame = load_nomenclature().frame.filter(pl.col("level") == 2)
    return dict(zip(frame["hscode"].to_list(), frame["section"].to_list(), strict=True))


def with_dimensions(table: pl.LazyFrame) -> pl.LazyFrame:
    """Add one column per :class:`~.columns.Dimension`, never null (``unknown`` instead).

    Args:
        table: A timeline table (:func:`check_timelines`) with the attribute columns of
            :func:`pivot_events`.

    Returns:
        ``table`` with ``lane``, ``transport_mode``, ``office``, ``aeo``, ``pre_arrival``,
        ``agency`` and ``hs_section`` as text labels (``aeo_status`` and ``hs_code`` dropped).
    """
    joined = table

    def has(m: EventType) -> pl.Expr:
        return pl.col(m.value).is_not_null()

    inspected = has(EventType.PHYSICAL_INSPECTION_START) | has(EventType.PHYSICAL_INSPECTION_END)
    checked = has(EventType.DOCUMENT_CHECK_START) | has(EventType.DOCUMENT_CHECK_END)
    derived_lane = pl.when(inspected).then(pl.lit("red")).when(checked).then(pl.lit("yellow"))
    lodged, arrived = pl.col(EventType.LODGEMENT.value), pl.col(EventType.ARRIVAL.value)
    return joined.with_columns(
        pl.coalesce(pl.col(LANE), derived_lane.otherwise(pl.lit("green"))).alias(Dimension.LANE),
        pl.col(TRANSPORT_MODE).fill_null(UNKNOWN).alias(Dimension.TRANSPORT_MODE),
        pl.col(OFFICE).fill_null(UNKNOWN).alias(Dimension.OFFICE),
        pl.col(AEO_STATUS)
        .replace_strict(
            {"national": "aeo", "mra": "mra", "none": "non_aeo"},
            default=UNKNOWN,
            return_dtype=pl.String,
        )
        .alias(Dimension.AEO),
        pl.when(lodged.is_null() | arrived.is_null())
        .then(pl.lit(UNKNOWN))
        .when(lodged < arrived)
        .then(pl.lit("pre_arrival"))
        .otherwise(pl.lit("post_arrival"))
        .alias(Dimension.PRE_ARRIVAL),
        pl.when(has(EventType.AGENCY_HOLD) | has(EventType.AGENCY_RELEASE))
        .then(pl.lit("agency"))
        .otherwise(pl.lit("no_agency"))
        .alias(Dimension.AGENCY),
        pl.col(HS_CODE)
        .str.slice(0, 2)
        .replace_strict(hs_sections(), default=UNKNOWN, return_dtype=pl.String)
        .alias(Dimension.HS_SECTION),
    ).drop(AEO_STATUS, HS_CODE)


def _micros(m: EventType) -> pl.Expr:
    return pl.col(m.value).dt.epoch("us")


def span_expr(span: Span) -> pl.Expr:
    """Seconds of a headline interval (null when either milestone is missing)."""
    a, b = SPANS[span]
    return ((_micros(b) - _micros(a)) / _US).alias(f"{span.value}_s")
