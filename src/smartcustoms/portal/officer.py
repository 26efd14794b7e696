"""Officer pages: work queue, consignment, inspection, re-routing, quarantine.

The pages call the services the API routes call, with the API's rules
(``docs/api-officers.md``, ``docs/api-filers.md``):

* the queue and the consignment page are for officers (their offices), analysts and admins
  (every office); another office's queue is ``403``, another office's consignment ``404``
  exactly like an unknown id, and filers and partners get ``403``;
* the inspection and re-routing forms are for officers and admins (analysts read only);
* the quarantine pages are for filers (the entries of their own submissions) and admins,
  like ``GET /api/v1/quarantine``: officers get ``403`` there.

Reads and writes are audited with the API's actions (``queue.read``, ``consignment.read``,
``consignment.explain``, ``risk.inspect``, ``consignment.lane_change``, ``quarantine.*``).
A form with problems is shown again (``422``) with every problem next to its field and the
input kept; nothing is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from smartcustoms.access import Principal, Role
from smartcustoms.api.routers.filings import (
    audit,
    consignment_response,
    filer_problem,
    tenant_of,
)
from smartcustoms.api.routers.officer import (
    MIN_JUSTIFICATION,
    InspectionRequest,
    LaneChangeRequest,
    _audit,
    _decision_fields,
    _visible,
    change_lane,
    queue_offices,
    record_inspection,
)
from smartcustoms.api.routers.quarantine import summary_fields, visible_entry
from smartcustoms.errors import (
    ConflictError,
    InvalidInputError,
    InvalidInspectionResultError,
    Problem,
)
from smartcustoms.intake.quality import explain_reasons
from smartcustoms.platform import SmartCustoms
from smartcustoms.portal.csrf import check_csrf
from smartcustoms.portal.i18n import translations
from smartcustoms.portal.pages import PORTAL_PREFIX, page_platform, page_principal
from smartcustoms.portal.rendering import NAV_PAGES, language_of, render
from smartcustoms.portal.vocabulary import N_
from smartcustoms.risk.columns import Lane
from smartcustoms.store.database import QuarantineEntry
from smartcustoms.store.risk import LANE_SEVERITY, QUEUE_STATUSES
from smartcustoms.targeting.feedback import RESULTS, validate_results
from smartcustoms.tariff import load_nomenclature

__all__ = ["LABELS", "PAGE_SIZE", "router"]

router = APIRouter(prefix=PORTAL_PREFIX, include_in_schema=False)

PAGE_SIZE: Final = 50
"""Rows per page of the work queue and of the quarantine list."""


_READERS: Final = (Role.OFFICER, Role.ANALYST, Role.ADMIN)
_WORKERS: Final = (Role.OFFICER, Role.ADMIN)
_QUARANTINE: Final = (Role.FILER, Role.ADMIN)

for _entry in (
    ("/portal/queue", N_("Work queue"), tuple(r.value for r in _READERS)),
    ("/portal/quarantine", N_("Quarantine"), tuple(r.value for r in _QUARANTINE)),
):
    if _entry not in NAV_PAGES:
        NAV_PAGES.append(_entry)

LABELS: Final = {
    "status": {
        "not_inspected": N_("not inspected yet"),
        "inspected": N_("inspected, any result"),
        "compliant": N_("compliant"),
        "noncompliant": N_("noncompliant"),
        "open": N_("open"),
        "resolved": N_("resolved"),
        "all": N_("all"),
        "release": N_("released"),
        "hold": N_("held"),
    },
    "event": {
        "lodgement": N_("Lodgement"),
        "arrival": N_("Arrival"),
        "unloading": N_("Unloading"),
        "acceptance": N_("Acceptance"),
        "risk_decision": N_("Lane decided"),
        "document_check_start": N_("Document check started"),
        "document_check_end": N_("Document check ended"),
        "physical_inspection_start": N_("Physical inspection started"),
        "physical_inspection_end": N_("Physical inspection ended"),
        "agency_hold": N_("Held by another agency"),
        "agency_release": N_("Released by another agency"),
        "assessment": N_("Duties assessed"),
        "payment": N_("Duties paid"),
        "release": N_("Released"),
        "exit": N_("Exit"),
    },
    "reason": {
        "lane": N_("Lane"),
        "rule": N_("Rule"),
        "model": N_("Model"),
        "feature": N_("Contribution"),
        "value": N_("Value control"),
        "random": N_("Random"),
        "aeo": N_("AEO"),
        "no_model": N_("No model"),
    },
    "basis": {
        "rule": N_("forced by a targeting rule"),
        "score": N_("risk priority within the office's capacity"),
        "random": N_("random pick for exploration"),
        "default": N_("not selected for control"),
    },
}
"""Words the templates show for stored codes (``labels.event[code]``), each translated."""

_MESSAGES: Final = {
    "inspection.result": N_("Choose compliant or noncompliant."),
    "inspection.amount": N_("Enter an amount: a number, not negative, below 10^14."),
    "inspection.inconsistent": N_(
        "A compliant result cannot have revenue recovered or a corrected HS code."
    ),
    "hs.unknown": N_("Not an HS 2022 subheading (6, 8 or 10 digits)."),
    "request.string_pattern_mismatch": N_("Three capital letters (ISO 4217), for example EUR."),
    "request.nul": N_("NUL characters are not allowed in text."),
    "request.missing": N_("Choose one of the values offered."),
    "request.enum": N_("Choose one of the values offered."),
    "request.date": N_("Enter a date as YYYY-MM-DD."),
    "lane.justification": N_("Give a justification of at least %(n)s characters."),
    "lane.unchanged": N_("The consignment is already in this lane."),
    "conflict": N_("Another officer re-routed this consignment meanwhile; reload the page."),
}
"""Plain words, in the reader's language, for the problem codes a form can show."""

_EARLIEST: Final = datetime.min.replace(tzinfo=UTC)


# ---------------------------------------------------------------- access


def _render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    return render(request, template, {"labels": LABELS, **context}, status_code=status_code)


def _principal(request: Request, roles: Iterable[Role]) -> Principal:
    """The logged-in user if its role may use the page (log-in page, else ``403``)."""
    return page_principal(request, roles)


@dataclass(frozen=True, slots=True)
class _FormProblem:
    """A problem as a form shows it: the field it belongs to and words to read."""

    field: str
    code: str
    text: str


def _form_problems(request: Request, problems: Iterable[Problem]) -> list[_FormProblem]:
    """Problems located on form fields, in the request's language where we have the words."""
    gettext = translations(language_of(request)).gettext
    shown = []
    for p in problems:
        field = p.path.rpartition(".")[2] or p.path
        words = _MESSAGES.get(p.code)
        text = p.message
        if words:
            text = gettext(words)
            if "%(n)s" in words:
                text = text % {"n": MIN_JUSTIFICATION}
        shown.append(_FormProblem(field=field, code=p.code, text=text))
    return shown


def _nul_problems(**fields: str) -> list[Problem]:
    """A NUL in a form field is a problem (no database stores it in text)."""
    return [
        Problem("request.nul", name, "NUL characters are not allowed in text")
        for name, value in fields.items()
        if "\x00" in value
    ]


# ---------------------------------------------------------------- work queue


def _page_number(value: str) -> int:
    try:
        return max(1, min(int(value), 2**31 // PAGE_SIZE))
    except ValueError:
        return 1


@router.get("/queue", response_class=HTMLResponse)
def queue(
    request: Request,
    office: str = "",
    lane: Annotated[list[str] | None, Query()] = None,
    day: str = "",
    status: str = "",
    page: str = "1",
) -> Response:
    """The work queue: red first, by priority; filters by office, lane, day and status."""
    principal = _principal(request, _READERS)
    platform = page_platform(request)
    office = office.strip()
    problems: list[Problem] = []
    offices = queue_offices(principal, office or None)
    lanes = [lane_ for lane_ in LANE_SEVERITY if lane_ in set(lane or ())]
    for unknown in sorted(set(lane or ()) - set(LANE_SEVERITY)):
        problems.append(Problem("request.enum", "lane", f"no lane {unknown!r}"))
    selected_day: date | None = None
    if day.strip():
        try:
            selected_day = date.fromisoformat(day.strip())
        except ValueError:
            problems.append(Problem("request.date", "day", f"not a date: {day!r} (YYYY-MM-DD)"))
    if status and status not in QUEUE_STATUSES:
        problems.append(Problem("request.enum", "status", f"no status {status!r}"))
    number = _page_number(page)
    offset = (number - 1) * PAGE_SIZE
    rows: list[dict[str, Any]] = []
    total = 0
    if not problems:
        rows, total = platform.risk_records.queue(
            offices=offices,
            lanes=lanes or None,
            day=selected_day,
            status=status or None,
            limit=PAGE_SIZE,
            offset=offset,
        )
        platform.store.record_audit(
            actor=principal.user_id,
            action="queue.read",
            subject_type="office",
            subject_id=office or None,
            details={
                "offices": sorted(offices) if offices is not None else None,
                "lanes": lanes or None,
                "day": selected_day.isoformat() if selected_day else None,
                "status": status or None,
                "offset": offset,
                "consignments": [r["consignment_id"] for r in rows],
                "via": "portal",
            },
        )
    filters = {"office": office, "lane": lanes, "day": day.strip(), "status": status}
    return _render(
        request,
        "officer_queue.html",
        {
            "rows": rows,
            "total": total,
            "first": offset + 1 if rows else 0,
            "last": offset + len(rows),
            "page": number,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "filters": filters,
            "query": _query_string(filters),
            "my_offices": sorted(principal.offices) if principal.role is Role.OFFICER else None,
            "lanes": LANE_SEVERITY,
            "statuses": QUEUE_STATUSES,
            "errors": _by_field(_form_problems(request, problems)),
            "problems": _form_problems(request, problems),
        },
        status_code=422 if problems else 200,
    )


def _query_string(filters: dict[str, Any]) -> str:
    """The filters as a query string for the pager's links."""
    pairs: list[tuple[str, str]] = []
    for key, value in filters.items():
        if isinstance(value, list):
            pairs.extend((key, v) for v in value)
        elif value:
            pairs.append((key, str(value)))
    return urlencode(pairs)


def _by_field(problems: list[_FormProblem]) -> dict[str, list[_FormProblem]]:
    grouped: dict[str, list[_FormProblem]] = {}
    for p in problems:
        grouped.setdefault(p.field, []).append(p)
    return grouped


# ---------------------------------------------------------------- consignment


def _case_file(platform: SmartCustoms, principal: Principal, consignment_id: str) -> dict[str, Any]:
    """The consignment page's content, read and explained as the two API routes do."""
    row = _visible(platform, principal, consignment_id)
    records = platform.risk_records
    decision = records.decision(consignment_id)
    explained = None
    if decision is not None:
        explained = _decision_fields(platform.targeting.explain(consignment_id))
    assessment = row["assessment"]
    details = json.loads(assessment["details"]) if assessment is not None else {}
    duties = {str(i["item_no"]): i for i in details.get("items", [])}
    inspections = records.inspections(consignment_id)
    lane_changes = records.lane_changes(consignment_id)
    history: list[dict[str, Any]] = [
        {"at": e["occurred_at"], "kind": "event", "what": e["event_type"], "row": e}
        for e in row["events"]
    ]
    history += [{"at": c["changed_at"], "kind": "lane_change", "row": c} for c in lane_changes]
    history += [{"at": i["recorded_at"], "kind": "inspection", "row": i} for i in inspections]
    history.sort(key=lambda h: h["at"] or _EARLIEST)
    reasons = explained["reasons"] if explained is not None else []
    contributions = sorted(
        (r for r in reasons if r.get("kind") == "feature"),
        key=lambda r: -abs(float(r.get("contribution") or 0.0)),
    )
    _audit(platform, principal, "consignment.read", consignment_id, {"via": "portal"})
    if explained is not None:
        _audit(platform, principal, "consignment.explain", consignment_id, {"via": "portal"})
    return {
        "row": row,
        "filing": records.filing(consignment_id),
        "items": [{**item, "duties": duties.get(str(item["item_no"]))} for item in row["items"]],
        "assessment": assessment,
        "quality": explain_reasons(row["dq_reasons"]),
        "decision": explained,
        "reasons": [r for r in reasons if r.get("kind") != "feature"],
        "contributions": contributions,
        "history": history,
        "inspections": inspections,
        "lane_changes": lane_changes,
        "can_act": principal.role in _WORKERS,
        "currency": platform.regime.currency,
    }


def _consignment_page(
    request: Request,
    principal: Principal,
    consignment_id: str,
    *,
    form: str | None = None,
    values: dict[str, str] | None = None,
    problems: list[Problem] | None = None,
    done: str = "",
) -> Response:
    shown = _form_problems(request, problems or [])
    context = _case_file(page_platform(request), principal, consignment_id)
    context.update(
        {
            "consignment_id": consignment_id,
            "form": form,
            "values": values or {},
            "problems": shown,
            "errors": _by_field(shown),
            "done": done,
            "lanes": LANE_SEVERITY,
            "results": RESULTS,
            "min_justification": MIN_JUSTIFICATION,
        }
    )
    return _render(request, "officer_consignment.html", context, status_code=422 if shown else 200)


@router.get("/consignments/{consignment_id}", response_class=HTMLResponse)
def consignment(request: Request, consignment_id: str, done: str = "") -> Response:
    """Goods, duties, the lane decision with its reasons, history, and the officer's forms."""
    principal = _principal(request, _READERS)
    return _consignment_page(
        request, principal, consignment_id, done=done if done in ("inspection", "lane") else ""
    )


@router.get("/consignments/{consignment_id}/inspections")
@router.get("/consignments/{consignment_id}/lane")
def back_to_consignment(consignment_id: str) -> Response:
    """A form's address opened directly (a language switch after an error): the page."""
    return RedirectResponse(f"{PORTAL_PREFIX}/consignments/{consignment_id}", status_code=303)


@router.post("/consignments/{consignment_id}/inspections", response_class=HTMLResponse)
def inspect(
    request: Request,
    consignment_id: str,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    result: Annotated[str, Form(max_length=32)] = "",
    finding: Annotated[str, Form(max_length=10_000)] = "",
    revenue_recovered: Annotated[str, Form(max_length=64)] = "",
    currency: Annotated[str, Form(max_length=16)] = "",
    corrected_hs_code: Annotated[str, Form(max_length=32)] = "",
    corrected_value: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Record a control outcome (``POST /consignments/{id}/inspections``), every problem at once."""
    check_csrf(request.session, csrf_token)
    principal = _principal(request, _WORKERS)
    platform = page_platform(request)
    values = {
        "result": result,
        "finding": finding,
        "revenue_recovered": revenue_recovered.strip(),
        "currency": currency.strip(),
        "corrected_hs_code": corrected_hs_code.strip(),
        "corrected_value": corrected_value.strip(),
    }
    _visible(platform, principal, consignment_id)
    problems = _nul_problems(**values)
    fields: dict[str, Any] = {k: (v or None) for k, v in values.items() if k != "result"}
    fields["result"] = result
    if problems:
        body = None
    else:
        try:
            body = InspectionRequest.model_validate(fields)
        except ValidationError as exc:
            body = None
            problems += [
                Problem(f"request.{err['type']}", ".".join(map(str, err["loc"])), err["msg"])
                for err in exc.errors()
            ]
    try:
        if body is None:  # still report the domain's problems with the rest of the form
            validate_results(
                [{**fields, "consignment_id": consignment_id, "officer": principal.user_id}],
                store=platform.store,
                nomenclature=load_nomenclature(),
            )
        else:
            record_inspection(consignment_id, body, principal, platform)
    except InvalidInspectionResultError as exc:
        problems += exc.problems
    if problems:
        return _consignment_page(
            request, principal, consignment_id, form="inspection", values=values, problems=problems
        )
    return RedirectResponse(
        f"{PORTAL_PREFIX}/consignments/{consignment_id}?done=inspection", status_code=303
    )


@router.post("/consignments/{consignment_id}/lane", response_class=HTMLResponse)
def reroute(
    request: Request,
    consignment_id: str,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    lane: Annotated[str, Form(max_length=16)] = "",
    justification: Annotated[str, Form(max_length=4_000)] = "",
) -> Response:
    """Re-route with a justification (``POST /consignments/{id}/lane``), every problem at once."""
    check_csrf(request.session, csrf_token)
    principal = _principal(request, _WORKERS)
    platform = page_platform(request)
    values = {"lane": lane, "justification": justification}
    _visible(platform, principal, consignment_id)
    problems = _nul_problems(**values)
    if lane not in LANE_SEVERITY:
        code = "request.missing" if not lane else "request.enum"
        problems.append(Problem(code, "lane", "choose red, yellow, blue or green"))
    if problems:
        # the route cannot be asked without a lane; judge the justification by its rule
        if len(justification.replace("\x00", "").strip()) < MIN_JUSTIFICATION:
            problems.append(Problem("lane.justification", "justification", "too short"))
    else:
        try:
            change_lane(
                consignment_id,
                LaneChangeRequest(lane=Lane(lane), justification=justification),
                principal,
                platform,
            )
        except InvalidInputError as exc:
            problems += exc.problems
        except ConflictError as exc:
            problems.append(Problem("conflict", "lane", str(exc)))
    if problems:
        return _consignment_page(
            request, principal, consignment_id, form="lane", values=values, problems=problems
        )
    return RedirectResponse(
        f"{PORTAL_PREFIX}/consignments/{consignment_id}?done=lane", status_code=303
    )


# ---------------------------------------------------------------- quarantine


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine_list(
    request: Request, status: str = "open", code: str = "", page: str = "1"
) -> Response:
    """Quarantined filings, oldest first (a filer: its own submissions only)."""
    principal = _principal(request, _QUARANTINE)
    platform = page_platform(request)
    status = status if status in ("open", "resolved", "all") else "open"
    code = code.strip().replace("\x00", "")[:64]
    number = _page_number(page)
    offset = (number - 1) * PAGE_SIZE
    entries = platform.store.quarantine_entries(
        status=None if status == "all" else status,
        code=code or None,
        limit=PAGE_SIZE + 1,
        offset=offset,
        tenant=tenant_of(principal),
    )
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    audit(
        platform,
        principal,
        "quarantine.list",
        "quarantine",
        None,
        via="portal",
        ids=[e.quarantine_id for e in entries],
    )
    filters = {"status": status, "code": code}
    return _render(
        request,
        "officer_quarantine_list.html",
        {
            "entries": [summary_fields(e) for e in entries],
            "filters": filters,
            "query": _query_string(filters),
            "page": number,
            "more": more,
            "first": offset + 1 if entries else 0,
            "last": offset + len(entries),
        },
    )


def _editable(entry: QuarantineEntry) -> str:
    """The payload to correct: JSON pretty-printed (a resubmission may be), else as received."""
    text = entry.payload.decode("utf-8", errors="replace")
    if entry.fmt in ("json", "jsonl"):
        try:
            return orjson.dumps(orjson.loads(entry.payload), option=orjson.OPT_INDENT_2).decode()
        except orjson.JSONDecodeError:
            return text
    return text


def _quarantine_page(
    request: Request,
    principal: Principal,
    entry: QuarantineEntry,
    *,
    corrected: str | None = None,
    problems: list[Problem] | None = None,
    done: bool = False,
) -> Response:
    platform = page_platform(request)
    consignments = []
    if entry.status == "resolved" and entry.resolved_filing_id:
        ids = platform.store.filing_consignment_ids(entry.resolved_filing_id)
        consignments = [
            consignment_response(o) for o in platform.store.consignment_outcomes(ids).values()
        ]
    form_problems = [filer_problem(p.as_dict()) for p in problems or []]
    return _render(
        request,
        "officer_quarantine.html",
        {
            "entry": summary_fields(entry),
            "line": entry.line,
            "problems": [filer_problem(p.as_dict()) for p in entry.problems],
            "payload": entry.payload.decode("utf-8", errors="replace"),
            "corrected": _editable(entry) if corrected is None else corrected,
            "form_problems": form_problems,
            "done": done,
            "consignments": consignments,
        },
        status_code=422 if form_problems else 200,
    )


@router.get("/quarantine/{quarantine_id}", response_class=HTMLResponse)
def quarantine_entry(request: Request, quarantine_id: str, done: str = "") -> Response:
    """Every problem with its path, the record as received, and a form to correct it."""
    principal = _principal(request, _QUARANTINE)
    entry = visible_entry(page_platform(request), principal, quarantine_id, via="portal")
    return _quarantine_page(request, principal, entry, done=done == "resubmitted")


@router.get("/quarantine/{quarantine_id}/resubmit")
def back_to_entry(quarantine_id: str) -> Response:
    """The form's address opened directly (a language switch after an error): the entry."""
    return RedirectResponse(f"{PORTAL_PREFIX}/quarantine/{quarantine_id}", status_code=303)


@router.post("/quarantine/{quarantine_id}/resubmit", response_class=HTMLResponse)
def quarantine_resubmit(
    request: Request,
    quarantine_id: str,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    corrected: Annotated[str, Form(max_length=5_000_000)] = "",
) -> Response:
    """Send the corrected record through the filing path (``POST /quarantine/{id}/resubmit``).

    Accepted: the entry is resolved and the page says by which filing. Rejected again: the
    page lists every new problem and keeps the text as typed (the entry keeps it too).
    """
    check_csrf(request.session, csrf_token)
    principal = _principal(request, _QUARANTINE)
    platform = page_platform(request)
    tenant = tenant_of(principal)
    entry = visible_entry(platform, principal, quarantine_id, via="portal")
    if "\x00" in corrected:
        problems = _nul_problems(corrected=corrected)
        return _quarantine_page(request, principal, entry, corrected=corrected, problems=problems)
    text = corrected.replace("\r\n", "\n")
    try:
        result = platform.resubmit(
            quarantine_id,
            corrected=text.encode("utf-8") if text.strip() else None,
            actor=principal.user_id,
            tenant=tenant,
        )
    except InvalidInputError as exc:
        problems = list(exc.problems) or [Problem("input.invalid", "corrected", str(exc))]
        return _quarantine_page(request, principal, entry, corrected=corrected, problems=problems)
    if not result.accepted:
        entry = platform.store.quarantine_entry(quarantine_id)
        return _quarantine_page(
            request, principal, entry, corrected=corrected, problems=list(result.problems)
        )
    return RedirectResponse(
        f"{PORTAL_PREFIX}/quarantine/{quarantine_id}?done=resubmitted", status_code=303
    )
