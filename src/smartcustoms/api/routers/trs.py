"""Release times: the Time Release Study for analysts, management and officers.

* ``GET /trs/study`` - every figure of a study (period, filters, checks);
* ``GET /trs/release-time`` - the average release time as WTO TFA Art. 7.6 asks to publish it;
* ``GET /trs/quality`` - the data-quality counters and the exclusions.

Analysts and admins read every office. Officers read their offices: without ``office`` the
study covers their offices, and asking for another office is ``403 auth.forbidden`` (as for
officers' queues). Durations are seconds; see ``docs/trs.md`` for the method.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from smartcustoms.access import Principal, Role
from smartcustoms.api.security import PlatformDep, require
from smartcustoms.errors import PermissionDeniedError
from smartcustoms.store.trs import TrsRecords
from smartcustoms.trs import Basis, Dimension, Study, StudyParams, study_from_source

__all__ = [
    "BreakdownRow",
    "ReleaseTime",
    "StatsRow",
    "TrsQuality",
    "TrsStudy",
    "router",
    "study_params",
]

router = APIRouter(prefix="/trs", tags=["trs"])

Reader = Annotated[Principal, Depends(require(Role.ANALYST, Role.ADMIN, Role.OFFICER))]
Values = Annotated[list[str] | None, Query(max_length=50)]


class StatsRow(BaseModel):
    """Statistics of one figure: how many consignments, mean, median, p90, p95, max (s)."""

    count: int
    mean_s: float | None
    median_s: float | None
    p90_s: float | None
    p95_s: float | None
    max_s: float | None


class SpanRow(StatsRow):
    """A headline interval (``arrival_release``, ``acceptance_release``, ...)."""

    span: str


class IntervalRow(StatsRow):
    """An interval between two consecutive milestones."""

    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str


class StageRow(BaseModel):
    """Mean seconds of one stage of the release time (``lane`` in the per-lane table)."""

    lane: str | None = None
    stage: str
    responsibility: str
    mean_s: float | None
    share: float | None
    count: int


class BreakdownRow(StatsRow):
    """Release time for one value of a dimension."""

    value: str
    excluded: int
    share: float | None


class HourRow(StatsRow):
    """Release time by local hour of arrival."""

    hour: int


class WeekdayRow(StatsRow):
    """Release time by local weekday of arrival (1 Monday)."""

    weekday: int


class HeatCell(BaseModel):
    """One weekday x hour cell."""

    weekday: int
    hour: int
    count: int
    median_s: float | None
    mean_s: float | None


class WeekRow(StatsRow):
    """Release time by week of arrival, with the change from the week before."""

    week: date
    median_change: float | None
    mean_change: float | None


class HistogramBin(BaseModel):
    """Consignments whose release time falls in ``[lower_h, upper_h)`` hours."""

    lower_h: float
    upper_h: float | None
    count: int


class OutlierRow(BaseModel):
    """A release time beyond the fence, with the stage that took longest."""

    consignment_id: str
    office: str
    lane: str
    arrival: datetime
    release: datetime
    release_s: float
    longest_stage: str
    longest_stage_s: float | None


class Outliers(BaseModel):
    """The fence, how many are beyond it, and the longest."""

    threshold_s: float | None
    count: int
    listed: list[OutlierRow]


class QualityRow(BaseModel):
    """Data-quality counters of one office (``all``: every office)."""

    office: str
    consignments: int
    events: int
    duplicate: int
    repeated: int
    invalid_event: int
    missing: int
    unpaired: int
    clock_skew: int
    out_of_order: int
    future: int
    no_release: int
    no_arrival: int
    excluded: int
    included: int


class Consignments(BaseModel):
    """How many consignments the study covers, rests on, and left out (by reason)."""

    total: int
    included: int
    excluded: dict[str, int]


class ByGroup(BaseModel):
    """Mean release time of one group, hours, and how many consignments."""

    mean_hours: float | None
    consignments: int


class ReleaseTime(BaseModel):
    """The average release time of the period, as WTO TFA Art. 7.6 asks to publish it."""

    start: datetime | None
    end: datetime | None
    mean_hours: float | None
    median_hours: float | None
    consignments: int
    excluded: dict[str, int]
    by_transport_mode: dict[str, ByGroup]
    by_office: dict[str, ByGroup]


class Params(BaseModel):
    """What was studied."""

    start: datetime | None
    end: datetime | None
    basis: str
    filters: dict[str, list[str]]
    timezone: str
    tolerance_s: float
    as_of: datetime | None
    outlier_fence: float


class TrsQuality(BaseModel):
    """Data quality per office, the exclusions, and events without a consignment."""

    params: Params
    consignments: Consignments
    quality: list[QualityRow]
    unattributed_events: int


class TrsStudy(TrsQuality):
    """Every figure of the study."""

    publication: ReleaseTime
    spans: list[SpanRow]
    intervals: list[IntervalRow]
    stages: list[StageRow]
    stages_by_lane: list[StageRow]
    breakdowns: dict[str, list[BreakdownRow]]
    hourly: list[HourRow]
    weekday: list[WeekdayRow]
    heatmap: list[HeatCell]
    weekly: list[WeekRow]
    histogram: list[HistogramBin]
    outliers: Outliers


def study_params(
    principal: Principal,
    *,
    start: datetime | None,
    end: datetime | None,
    basis: Basis,
    timezone: str,
    tolerance_minutes: float,
    outliers: int,
    as_of: datetime,
    filters: dict[Dimension, list[str] | None],
) -> StudyParams:
    """Study parameters for ``principal``: an officer's offices bound what it may see.

    Raises:
        PermissionDeniedError: An officer asked for an office it does not work.
    """
    chosen = {d: frozenset(v) for d, v in filters.items() if v}
    if principal.role is Role.OFFICER:
        asked = chosen.get(Dimension.OFFICE)
        if asked is not None and not asked <= principal.offices:
            raise PermissionDeniedError(
                f"officer {principal.user_id} works {', '.join(sorted(principal.offices))}, "
                f"not {', '.join(sorted(asked - principal.offices))}"
            )
        chosen[Dimension.OFFICE] = asked or principal.offices
    return StudyParams(
        start=start,
        end=end,
        basis=basis,
        filters=chosen,
        timezone=timezone,
        tolerance=timedelta(minutes=tolerance_minutes),
        as_of=as_of,
        outlier_limit=outliers,
    )


def _study(
    platform: PlatformDep,
    principal: Reader,
    start: Annotated[datetime | None, Query(description="Start (ISO 8601, inclusive).")] = None,
    end: Annotated[datetime | None, Query(description="End (ISO 8601, exclusive).")] = None,
    basis: Annotated[Basis, Query(description="Place consignments by arrival or release.")] = (
        Basis.ARRIVAL
    ),
    office: Values = None,
    lane: Values = None,
    transport_mode: Values = None,
    aeo: Values = None,
    pre_arrival: Values = None,
    agency: Values = None,
    hs_section: Values = None,
    tz: Annotated[str, Query(max_length=64, description="IANA time zone.")] = "UTC",
    tolerance_minutes: Annotated[float, Query(ge=0, le=1440)] = 5.0,
    outliers: Annotated[int, Query(ge=0, le=1000)] = 25,
) -> Study:
    """Run the study the query asks for, on the store."""
    params = study_params(
        principal,
        start=start,
        end=end,
        basis=basis,
        timezone=tz,
        tolerance_minutes=tolerance_minutes,
        outliers=outliers,
        as_of=datetime.now(UTC),
        filters={
            Dimension.OFFICE: office,
            Dimension.LANE: lane,
            Dimension.TRANSPORT_MODE: transport_mode,
            Dimension.AEO: aeo,
            Dimension.PRE_ARRIVAL: pre_arrival,
            Dimension.AGENCY: agency,
            Dimension.HS_SECTION: hs_section,
        },
    )
    return study_from_source(TrsRecords(platform.store), params)


StudyDep = Annotated[Study, Depends(_study)]


@router.get("/study", summary="Every release-time figure for a period and filter")
def get_study(study: StudyDep) -> TrsStudy:
    """Release time, intervals, stages, breakdowns, patterns, trend, outliers and quality."""
    return TrsStudy.model_validate(study.as_dict())


@router.get("/release-time", summary="The average release time (WTO TFA Art. 7.6)")
def get_release_time(study: StudyDep) -> ReleaseTime:
    """The mean arrival -> release time, what it rests on, and per mode and office."""
    return ReleaseTime.model_validate(study.publication().as_dict())


@router.get("/quality", summary="Lifecycle-event data quality per office")
def get_quality(study: StudyDep) -> TrsQuality:
    """Every data-quality counter per office, and the consignments excluded by reason."""
    return TrsQuality.model_validate(study.as_dict())
