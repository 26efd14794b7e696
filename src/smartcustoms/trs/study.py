"""The Time Release Study: every figure for a period and filter, from lifecycle events.

:func:`run_study` is the whole method in one call: events (and optional consignment
attributes) in, a :class:`Study` out. The steps follow the WCO *Guide to Measure the Time
Required for the Release of Goods* (TRS guide): verify the data (:mod:`.timelines`: required
orders, clock skew, duplicates, missing milestones, every finding counted per office), keep
the consignments whose timeline is complete and consistent, then analyse - release time from
arrival to release, each interval between consecutive milestones, the part of the release
time each stage takes and who is responsible for it, segmentation by lane, mode of transport,
office, AEO status, pre-arrival lodgement, other-agency involvement and HS section, patterns
by hour and weekday, the weekly trend and the outliers. ``docs/trs.md`` maps each figure to
the guide and to the average release time of WTO TFA Art. 7.6.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import polars as pl

from smartcustoms.errors import InvalidStudyError, Problem
from smartcustoms.model.events import EventType
from smartcustoms.trs import figures
from smartcustoms.trs.columns import (
    CONSIGNMENT_ID,
    EXCLUSION,
    MILESTONES,
    N_EVENTS,
    REFERENCE_AT,
    Dimension,
    Exclusion,
    Span,
)
from smartcustoms.trs.ports import EventSource
from smartcustoms.trs.timelines import UNKNOWN, check_timelines, pivot_events, with_dimensions

__all__ = ["Basis", "ReleaseTimeFigure", "Study", "StudyParams", "run_study", "study_from_source"]


class Basis(StrEnum):
    """Which milestone places a consignment in the study period."""

    ARRIVAL = "arrival"
    """Consignments that arrived in the period (the TRS default)."""
    RELEASE = "release"
    """Consignments released in the period (what a daily dashboard shows)."""


@dataclass(frozen=True)
class StudyParams:
    """What to study.

    Attributes:
        start: First instant of the period (inclusive; ``None``: from the beginning).
        end: End of the period (exclusive; ``None``: to the end).
        basis: Whether arrival or release places a consignment in the period; one without
            that milestone is placed by its earliest event.
        filters: Only consignments whose dimension value is one of those given.
        timezone: IANA time zone of the hour, weekday and week figures.
        tolerance: Largest disagreement between clocks corrected as skew.
        as_of: When the data were taken; milestones later than that (plus the tolerance)
            exclude their consignment. ``None`` skips the check.
        outlier_fence: Outliers are release times above ``Q3 + fence x IQR``.
        outlier_limit: How many outliers are listed (all are counted).
    """

    start: datetime | None = None
    end: datetime | None = None
    basis: Basis = Basis.ARRIVAL
    filters: Mapping[Dimension, frozenset[str]] = field(default_factory=dict)
    timezone: str = "UTC"
    tolerance: timedelta = timedelta(minutes=5)
    as_of: datetime | None = None
    outlier_fence: float = 3.0
    outlier_limit: int = 25

    def problems(self) -> list[Problem]:
        """Everything wrong with these parameters (empty when they can be used)."""
        out: list[Problem] = []
        for name in ("start", "end", "as_of"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                out.append(Problem("trs.params", name, f"{name} must be timezone-aware"))
        aware = all(v is not None and v.tzinfo for v in (self.start, self.end))
        if aware and self.end <= self.start:  # type: ignore[operator]
            out.append(Problem("trs.params", "end", "the period ends before it starts"))
        if self.tolerance < timedelta(0):
            out.append(Problem("trs.params", "tolerance", "the tolerance cannot be negative"))
        if not self.outlier_fence >= 0:
            out.append(Problem("trs.params", "outlier_fence", "the fence cannot be negative"))
        if self.outlier_limit < 0:
            out.append(Problem("trs.params", "outlier_limit", "the limit cannot be negative"))
        try:
            pl.Series([datetime(2026, 1, 1)]).dt.replace_time_zone(self.timezone)
        except Exception:  # polars raises its own ComputeError for unknown zones
            out.append(Problem("trs.params", "timezone", f"unknown time zone {self.timezone!r}"))
        return out


@dataclass(frozen=True)
class ReleaseTimeFigure:
    """The average release time in the form WTO TFA Art. 7.6 asks Members to publish.

    Attributes:
        start: Start of the period (``None``: all data).
        end: End of the period (exclusive).
        mean_hours: Average (mean) arrival -> release time, hours.
        median_hours: Median, hours (the same population).
        consignments: How many consignments the average rests on.
        excluded: Consignments of the period left out, by reason.
        by_transport_mode: Mean hours and count per mode of transport.
        by_office: Mean hours and count per office.
    """

    start: datetime | None
    end: datetime | None
    mean_hours: float | None
    median_hours: float | None
    consignments: int
    excluded: dict[str, int]
    by_transport_mode: dict[str, tuple[float | None, int]]
    by_office: dict[str, tuple[float | None, int]]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "mean_hours": self.mean_hours,
            "median_hours": self.median_hours,
            "consignments": self.consignments,
            "excluded": self.excluded,
            "by_transport_mode": {
                k: {"mean_hours": m, "consignments": n}
                for k, (m, n) in self.by_transport_mode.items()
            },
            "by_office": {
                k: {"mean_hours": m, "consignments": n} for k, (m, n) in self.by_office.items()
            },
        }


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


@dataclass(frozen=True)
class Study:
    """Every figure of one study.

    Durations are seconds (``*_s``); statistics follow :mod:`.stats`.

    Attributes:
        params: What was studied.
        total: Consignments in the period and filters.
        included: Consignments the figures rest on.
        excluded: Consignments left out, by :class:`~.columns.Exclusion` reason (all listed).
        spans: Headline intervals (:class:`~.columns.Span`) with their statistics.
        intervals: Every interval between consecutive milestones (``from``, ``to``).
        stages: Mean seconds of each stage in the release time, and who is responsible.
        stages_by_lane: The same per lane.
        breakdowns: Release-time statistics per value of each dimension.
        hourly: By local hour of arrival.
        weekday: By local weekday of arrival (1 Monday).
        heatmap: By weekday x hour (count, median, mean).
        weekly: By week of arrival, with the change from the previous week.
        histogram: Distribution of release times (bins in hours).
        outliers: The longest release times beyond the fence, with their consignments.
        outlier_threshold_s: The fence (``None`` without consignments).
        outlier_count: How many consignments are beyond it.
        quality: Data-quality counters per office and in total.
        unattributed_events: Events without a consignment id (ignored, counted here).
        timelines: The checked timeline table (one row per consignment of the study).
    """

    params: StudyParams
    total: int
    included: int
    excluded: dict[str, int]
    spans: pl.DataFrame
    intervals: pl.DataFrame
    stages: pl.DataFrame
    stages_by_lane: pl.DataFrame
    breakdowns: dict[Dimension, pl.DataFrame]
    hourly: pl.DataFrame
    weekday: pl.DataFrame
    heatmap: pl.DataFrame
    weekly: pl.DataFrame
    histogram: pl.DataFrame
    outliers: pl.DataFrame
    outlier_threshold_s: float | None
    outlier_count: int
    quality: pl.DataFrame
    unattributed_events: int
    timelines: pl.DataFrame = field(repr=False)

    def span(self, span: Span) -> dict[str, Any]:
        """The statistics row of one headline interval."""
        return self.spans.filter(pl.col("span") == span.value).to_dicts()[0]

    def publication(self) -> ReleaseTimeFigure:
        """The average release time of the period, as WTO TFA Art. 7.6 asks to publish it."""
        row = self.span(Span.ARRIVAL_RELEASE)

        def per(dimension: Dimension) -> dict[str, tuple[float | None, int]]:
            return {
                str(r["value"]): (_hours(r["mean_s"]), int(r["count"]))
                for r in self.breakdowns[dimension].iter_rows(named=True)
                if r["count"]
            }

        return ReleaseTimeFigure(
            start=self.params.start,
            end=self.params.end,
            mean_hours=_hours(row["mean_s"]),
            median_hours=_hours(row["median_s"]),
            consignments=int(row["count"]),
            excluded=dict(self.excluded),
            by_transport_mode=per(Dimension.TRANSPORT_MODE),
            by_office=per(Dimension.OFFICE),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form of every figure (the timeline table left out)."""
        p = self.params
        return {
            "params": {
                "start": p.start.isoformat() if p.start else None,
                "end": p.end.isoformat() if p.end else None,
                "basis": p.basis.value,
                "filters": {d.value: sorted(v) for d, v in p.filters.items()},
                "timezone": p.timezone,
                "tolerance_s": p.tolerance.total_seconds(),
                "as_of": p.as_of.isoformat() if p.as_of else None,
                "outlier_fence": p.outlier_fence,
            },
            "consignments": {
                "total": self.total,
                "included": self.included,
                "excluded": self.excluded,
            },
            "publication": self.publication().as_dict(),
            "spans": _records(self.spans),
            "intervals": _records(self.intervals),
            "stages": _records(self.stages),
            "stages_by_lane": _records(self.stages_by_lane),
            "breakdowns": {d.value: _records(f) for d, f in self.breakdowns.items()},
            "hourly": _records(self.hourly),
            "weekday": _records(self.weekday),
            "heatmap": _records(self.heatmap),
            "weekly": _records(self.weekly),
            "histogram": _records(self.histogram),
            "outliers": {
                "threshold_s": self.outlier_threshold_s,
                "count": self.outlier_count,
                "listed": _records(self.outliers),
            },
            "quality": _records(self.quality),
            "unattributed_events": self.unattributed_events,
        }


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    out = frame.to_dicts()
    for row in out:
        for key, value in row.items():
            if hasattr(value, "isoformat"):
                row[key] = value.isoformat()
    return out


def _scope(table: pl.LazyFrame, params: StudyParams) -> pl.LazyFrame:
    """Place each consignment in time and keep those of the period and filters."""
    anchor = EventType.ARRIVAL if params.basis is Basis.ARRIVAL else EventType.RELEASE
    earliest = pl.min_horizontal(pl.col(m.value) for m in MILESTONES)
    frame = table.with_columns(pl.coalesce(pl.col(anchor.value), earliest).alias(REFERENCE_AT))
    if params.start is not None:
        frame = frame.filter(pl.col(REFERENCE_AT) >= params.start)
    if params.end is not None:
        frame = frame.filter(pl.col(REFERENCE_AT) < params.end)
    for dimension, values in params.filters.items():
        frame = frame.filter(pl.col(dimension.value).is_in(sorted(values)))
    return frame


def run_study(
    events: pl.LazyFrame | pl.DataFrame,
    attributes: pl.LazyFrame | pl.DataFrame | None = None,
    params: StudyParams | None = None,
) -> Study:
    """Run the whole study over ``events``.

    Args:
        events: Lifecycle events (:data:`~smartcustoms.model.events.EVENT_SCHEMA`; ``source``
            is not needed). Events without a consignment id are counted
            (:attr:`Study.unattributed_events`) and otherwise ignored.
        attributes: Consignment facts for the breakdowns (:data:`~.columns.ATTRIBUTE_SCHEMA`).
        params: Period, filters and checks (defaults: all data, arrival basis, UTC).

    Returns:
        The study. Its figures do not depend on the order of the events.

    Raises:
        InvalidStudyError: The parameters are unusable (every problem listed).
    """
    params = params or StudyParams()
    problems = params.problems()
    if problems:
        raise InvalidStudyError("the study cannot run with these parameters", tuple(problems))
    facts = None if attributes is None else attributes.lazy()
    checked = check_timelines(
        pivot_events(events.lazy(), facts).lazy(), tolerance=params.tolerance, as_of=params.as_of
    )
    every = with_dimensions(checked).collect()
    del checked  # the pivot's frame: the figures below need the memory
    known = pl.col(CONSIGNMENT_ID).is_not_null() & (pl.col(CONSIGNMENT_ID) != "")
    unattributed = int(every.filter(~known).get_column(N_EVENTS).sum())
    table = _scope(every.lazy().filter(known), params).collect()
    del every
    return _figures(table, params, unattributed)


def _figures(table: pl.DataFrame, params: StudyParams, unattributed: int) -> Study:
    lazy = table.lazy()
    inc = figures.ranked(lazy).lazy()
    reasons = table.get_column(EXCLUSION).value_counts()
    found = dict(zip(reasons[EXCLUSION].to_list(), reasons["count"].to_list(), strict=True))
    excluded = {r.value: int(found.get(r.value, 0)) for r in Exclusion}
    hourly, weekday, heatmap = figures.patterns(inc, params.timezone)
    intervals, stages, stages_by_lane = figures.sequence(inc)
    top, threshold, beyond = figures.outliers(
        inc, fence=params.outlier_fence, limit=params.outlier_limit
    )
    return Study(
        params=params,
        total=table.height,
        included=table.height - sum(excluded.values()),
        excluded=excluded,
        spans=figures.spans(inc),
        intervals=intervals,
        stages=stages,
        stages_by_lane=stages_by_lane,
        breakdowns={d: figures.breakdown(lazy, inc, d) for d in Dimension},
        hourly=hourly,
        weekday=weekday,
        heatmap=heatmap,
        weekly=figures.weekly(inc, params.timezone),
        histogram=figures.histogram(inc),
        outliers=top,
        outlier_threshold_s=threshold,
        outlier_count=beyond,
        quality=figures.quality(lazy),
        unattributed_events=unattributed,
        timelines=table,
    )


def study_from_source(source: EventSource, params: StudyParams | None = None) -> Study:
    """Run the study on the events and attributes of a store (or any :class:`EventSource`).

    The source is asked for the events of the consignments with an event in the period (a
    superset of the study's consignments, which :func:`run_study` then places exactly) and
    of the offices filtered on.
    """
    params = params or StudyParams()
    problems = params.problems()
    if problems:
        raise InvalidStudyError("the study cannot run with these parameters", tuple(problems))
    offices = params.filters.get(Dimension.OFFICE)
    if offices is not None and UNKNOWN in offices:
        offices = None  # consignments of no known office have no office to look for
    events = source.lifecycle_events(start=params.start, end=params.end, offices=offices)
    attributes = source.consignment_attributes(start=params.start, end=params.end, offices=offices)
    return run_study(events, attributes, params)
