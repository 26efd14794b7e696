"""The Time Release Study for analysts and management (WCO TRS; WTO TFA Art. 7.6).

``GET /api/v1/trs/study`` runs the study on the store's lifecycle events for a period and
filters and returns every figure as JSON (the same document as ``smartcustoms trs report
--json``); ``GET /api/v1/trs/report`` returns the self-contained HTML report. Analysts and
admins see every office; officers see their own offices only (a filter on another office is
refused, as the queue does).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from smartcustoms.access import Principal, Role
from smartcustoms.api.security import PlatformDep, require
from smartcustoms.errors import InvalidStudyError, PermissionDeniedError, Problem
from smartcustoms.platform import SmartCustoms
from smartcustoms.store.trs import TrsRecords
from smartcustoms.trs import Basis, Dimension, Study, StudyParams, study_from_source
from smartcustoms.trs.html import render_html

__all__ = ["StudyQuery", "router", "run_for"]

router = APIRouter(prefix="/trs", tags=["trs"])

Reader = Annotated[Principal, Depends(require(Role.OFFICER, Role.ANALYST, Role.ADMIN))]
_FILTER = Query(max_length=50)


class StudyQuery:
    """The study's query parameters (shared by the JSON and HTML routes and the portal)."""

    def __init__(
        self,
        start: Annotated[
            datetime | None, Query(alias="from", description="Start (default: 7 days ago).")
        ] = None,
        end: Annotated[
            datetime | None, Query(alias="to", description="End (default: now).")
        ] = None,
        basis: Basis = Basis.ARRIVAL,
        timezone: Annotated[str, Query(max_length=64)] = "UTC",
        office: Annotated[list[str], _FILTER] = [],  # noqa: B006 - FastAPI copies it
        lane: Annotated[list[str], _FILTER] = [],  # noqa: B006
        transport_mode: Annotated[list[str], _FILTER] = [],  # noqa: B006
        aeo: Annotated[list[str], _FILTER] = [],  # noqa: B006
    ) -> None:
        self.start, self.end, self.basis, self.timezone = start, end, basis, timezone
        self.filters = {
            Dimension.OFFICE: office,
            Dimension.LANE: lane,
            Dimension.TRANSPORT_MODE: transport_mode,
            Dimension.AEO: aeo,
        }


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def run_for(platform: SmartCustoms, principal: Principal, query: StudyQuery) -> Study:
    """Run the study ``query`` describes, within what ``principal`` may see.

    Raises:
        PermissionDeniedError: An officer filtering on an office not theirs.
        InvalidStudyError: Every problem of the parameters.
    """
    filters = {k: frozenset(v) for k, v in query.filters.items() if v}
    if principal.role is Role.OFFICER:
        mine = frozenset(principal.offices)
        asked = filters.get(Dimension.OFFICE)
        if asked is not None and not asked <= mine:
            raise PermissionDeniedError("officers study their own offices only")
        filters[Dimension.OFFICE] = asked or mine
    end = _aware(query.end) or datetime.now(UTC)
    start = _aware(query.start) or end - timedelta(days=7)
    if end - start > timedelta(days=400):
        problem = Problem(
            "trs.params", "from", "a study through the service covers 400 days at most"
        )
        raise InvalidStudyError("the period is too long for the service", (problem,))
    params = StudyParams(
        start=start, end=end, basis=query.basis, filters=filters, timezone=query.timezone
    )
    return study_from_source(TrsRecords(platform.store), params)


@router.get("/study", summary="The Time Release Study of a period (every figure)")
async def study(
    principal: Reader, platform: PlatformDep, query: Annotated[StudyQuery, Depends()]
) -> dict[str, Any]:
    """Release times, intervals, stages, breakdowns, patterns, outliers and data quality."""
    result = await run_in_threadpool(run_for, platform, principal, query)
    return result.as_dict()


@router.get("/report", response_class=HTMLResponse, summary="The study as an HTML report")
async def report(
    principal: Reader, platform: PlatformDep, query: Annotated[StudyQuery, Depends()]
) -> HTMLResponse:
    """A self-contained HTML document with the charts and tables (English)."""
    result = await run_in_threadpool(run_for, platform, principal, query)
    return HTMLResponse(render_html(result))
