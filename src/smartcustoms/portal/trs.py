"""Release times in the portal: the Time Release Study page and the dashboard's tiles.

* ``/portal/trs`` - the study for a period (the last 28 days by default), an office and a
  lane: the headline average release time, the charts (distribution, stages by lane, week
  on week, hour x weekday) with their numbers in tables, every breakdown, the outliers and
  the data quality, in the reader's language. Analysts and admins see every office, officers
  their own (another office is ``403``, as in the API).
* :func:`release_tiles` - the dashboard's release-time figures for a day, from the same study.

The sections are rendered by :func:`smartcustoms.trs.html.render_sections` with the portal's
gettext, so the page and the ``trs report --html`` file show the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Final

import polars as pl
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from smartcustoms.access import Principal, Role
from smartcustoms.api.routers.trs import study_params
from smartcustoms.model.events import EventType
from smartcustoms.platform import SmartCustoms
from smartcustoms.portal.i18n import translations
from smartcustoms.portal.pages import PORTAL_PREFIX, page_platform, page_principal
from smartcustoms.portal.rendering import NAV_PAGES, language_of, render
from smartcustoms.portal.vocabulary import N_
from smartcustoms.store.trs import TrsRecords
from smartcustoms.trs import Basis, Dimension, Span, StudyParams, study_from_source
from smartcustoms.trs.columns import EXCLUSION
from smartcustoms.trs.html import render_sections

__all__ = ["DEFAULT_DAYS", "ReleaseTiles", "release_tiles", "router"]

router = APIRouter(prefix=PORTAL_PREFIX, include_in_schema=False)

DEFAULT_DAYS: Final = 28
"""Days the page studies when no period is given (ending today)."""

_READERS: Final = (Role.OFFICER, Role.ANALYST, Role.ADMIN)
_LANES: Final = ("red", "yellow", "blue", "green")

_NAV = ("/portal/trs", N_("Release times"), tuple(r.value for r in _READERS))
if _NAV not in NAV_PAGES:
    NAV_PAGES.append(_NAV)


def _reader(request: Request) -> Principal:
    return page_principal(request, _READERS)


@router.get("/trs", response_class=HTMLResponse)
def trs_page(
    request: Request,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    basis: Basis = Basis.ARRIVAL,
    office: Annotated[str, Query(max_length=64)] = "",
    lane: Annotated[str, Query(max_length=8)] = "",
    tz: Annotated[str, Query(max_length=64)] = "UTC",
) -> Response:
    """The Time Release Study of a period, office and lane (officers: their offices)."""
    principal = _reader(request)
    last = end or datetime.now(UTC).date()
    first = start or last - timedelta(days=DEFAULT_DAYS - 1)
    params = study_params(
        principal,
        start=datetime.combine(first, time(0), tzinfo=UTC),
        end=datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC),
        basis=basis,
        timezone=tz,
        tolerance_minutes=5.0,
        outliers=25,
        as_of=datetime.now(UTC),
        filters={
            Dimension.OFFICE: [office.strip()] if office.strip() else None,
            Dimension.LANE: [lane] if lane in _LANES else None,
        },
    )
    study = study_from_source(TrsRecords(page_platform(request).store), params)
    tr = translations(language_of(request))
    return render(
        request,
        "trs.html",
        {
            # render_sections escapes every value from the data itself
            "sections": Markup(render_sections(study, translate=tr.gettext)),
            "form": {
                "from": first.isoformat(),
                "to": last.isoformat(),
                "basis": basis.value,
                "office": office.strip(),
                "lane": lane if lane in _LANES else "",
                "tz": tz,
            },
            "lanes": _LANES,
            "offices": sorted(principal.offices) if principal.role is Role.OFFICER else None,
        },
    )


@dataclass(frozen=True, slots=True)
class ReleaseTiles:
    """The dashboard's release-time figures of one day (consignments released that day).

    Attributes:
        releases: Consignments released that day.
        measured: Of those, with a complete, consistent timeline (arrival to release).
        mean_hours: Their average release time, arrival to release (WTO TFA Art. 7.6).
        median_hours: Their median release time.
        left_out: Released that day but left out (no arrival, out of order, in the future).
    """

    releases: int
    measured: int
    mean_hours: float | None
    median_hours: float | None
    left_out: int


def release_tiles(
    platform: SmartCustoms, day: date, *, offices: frozenset[str] | None = None
) -> ReleaseTiles:
    """The release-time figures of ``day`` (UTC) from the Time Release Study."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    params = StudyParams(
        start=start,
        end=start + timedelta(days=1),
        basis=Basis.RELEASE,
        filters={Dimension.OFFICE: offices} if offices is not None else {},
        as_of=datetime.now(UTC),
        outlier_limit=0,
    )
    study = study_from_source(TrsRecords(platform.store), params)
    row = study.span(Span.ARRIVAL_RELEASE)
    released = pl.col(EventType.RELEASE.value)
    today = study.timelines.filter((released >= params.start) & (released < params.end))
    left_out = today.filter(pl.col(EXCLUSION).is_not_null()).height
    return ReleaseTiles(
        releases=today.height,
        measured=row["count"],
        mean_hours=None if row["mean_s"] is None else round(row["mean_s"] / 3600, 2),
        median_hours=None if row["median_s"] is None else round(row["median_s"] / 3600, 2),
        left_out=left_out,
    )
