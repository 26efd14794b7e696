"""The Time Release Study page: release times of a period, with charts, in three languages.

``/portal/trs`` runs the study the API's ``GET /api/v1/trs/study`` runs (same parameters,
same gate: analysts and admins see every office, officers their own) and shows the report's
sections - headline (the WTO TFA Art. 7.6 figure), distribution, stages, breakdowns, hour x
weekday heatmap, weekly trend, outliers and data quality - drawn as inline SVG with the same
numbers in tables, in the user's language. The report can be downloaded as one HTML file.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from smartcustoms.access import Principal, Role
from smartcustoms.api.routers.trs import StudyQuery, run_for
from smartcustoms.errors import AuthenticationError, PermissionDeniedError
from smartcustoms.platform import SmartCustoms
from smartcustoms.portal.i18n import translations
from smartcustoms.portal.pages import PORTAL_PREFIX, current_principal
from smartcustoms.portal.rendering import NAV_PAGES, language_of, render
from smartcustoms.portal.vocabulary import N_
from smartcustoms.trs import Basis
from smartcustoms.trs.html import STYLE, render_html, render_sections

__all__ = ["router"]

router = APIRouter(prefix=PORTAL_PREFIX, include_in_schema=False)

_READERS: Final = (Role.OFFICER, Role.ANALYST, Role.ADMIN)
_DEFAULT_DAYS: Final = 28

_entry = ("/portal/trs", N_("Release times"), tuple(r.value for r in _READERS))
if _entry not in NAV_PAGES:
    NAV_PAGES.append(_entry)


def _reader(request: Request) -> Principal:
    principal = current_principal(request)
    if principal is None:
        raise AuthenticationError("log in to see this page")
    if principal.role not in _READERS:
        raise PermissionDeniedError(
            f"role {principal.role} may not use this page (needs officer, analyst or admin)"
        )
    return principal


def _query(first: date | None, last: date | None, basis: Basis, office: str | None) -> StudyQuery:
    today = datetime.now(UTC).date()
    last = last or today
    first = first or last - timedelta(days=_DEFAULT_DAYS - 1)
    return StudyQuery(
        start=datetime.combine(first, time(), UTC),
        end=datetime.combine(last + timedelta(days=1), time(), UTC),
        basis=basis,
        office=[office] if office else [],
    )


@router.get("/trs", response_class=HTMLResponse)
async def trs_page(
    request: Request,
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
    basis: Basis = Basis.ARRIVAL,
    office: Annotated[str | None, Query(max_length=64)] = None,
    download: bool = False,
) -> Response:
    """The study of a period (default: the last 28 days by arrival), in the user's language."""
    principal = _reader(request)
    platform: SmartCustoms = request.app.state.platform
    query = _query(first, last, basis, office or None)
    study = await run_in_threadpool(run_for, platform, principal, query)
    lang = language_of(request)
    gettext = translations(lang).gettext
    if download:
        return HTMLResponse(
            render_html(study, translate=gettext, lang=lang),
            headers={"Content-Disposition": 'attachment; filename="time-release-study.html"'},
        )
    assert query.start is not None
    assert query.end is not None
    return render(
        request,
        "trs.html",
        {
            "sections": Markup(render_sections(study, translate=gettext)),
            "style": Markup(STYLE),
            "first": query.start.date().isoformat(),
            "last": (query.end.date() - timedelta(days=1)).isoformat(),
            "basis": basis.value,
            "office": office or "",
            "offices": principal.offices if principal.role is Role.OFFICER else (),
        },
    )
