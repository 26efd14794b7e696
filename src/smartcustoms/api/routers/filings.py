"""Filers: submit one filing and read the customs response of a consignment.

This module is also the filer API's shared vocabulary: the response bodies, the tenant rule
and the not-found-alike visibility check, the filer's view of problems and consignments.
Bulk files and their jobs are in :mod:`.jobs`, quarantined filings in :mod:`.quarantine`.

Every submission goes through the same clearance path as ``smartcustoms clear``
(:meth:`~smartcustoms.clearance.Clearance.clear_batch`); single filings are cleared together
with those that arrive while a batch is in progress (:class:`~smartcustoms.clearance.batcher.
DecisionBatcher`, one per application), each keeping its own result and tenant, with
the caller's filer id as the *tenant*: a record filed under another filer id is rejected
(``filing.filer_mismatch``) and kept in quarantine like any rejected filing, and the quarantine
entries of a submission belong to the filer who sent it. Administrators may use every route
and see every tenant; their submissions are not tied to a tenant.

Tenant isolation: another filer's consignment, quarantine entry or job is answered with the
same 404 as an unknown id (:func:`visible_record`), so ids never leak. What a filer learns
about a consignment is its CUSRSP-like response (:class:`ConsignmentResponse`): status, lane,
duties, data quality and reasons in lane words only. Targeting rules, model scores, feature
contributions, watch lists and whether a control was drawn at random or by risk are never
shown: risk criteria are confidential, and telling a filer which of its consignments were
targeted would let it probe them. Every read and write lands in the audit log. See
``docs/api-filers.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, Final, Literal, TypeVar

import orjson
import polars as pl
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from starlette.routing import Route

from smartcustoms.access import Principal, Role
from smartcustoms.api.decider import RemoteDecisions
from smartcustoms.api.problems import PROBLEM_MEDIA_TYPE, ProblemResponse, problem_body
from smartcustoms.api.security import (
    API_KEY_HEADER,
    BEARER,
    PlatformDep,
    RoleGate,
    get_principal,
    refuse_nul,
    require,
)
from smartcustoms.clearance.batcher import DecisionBatcher
from smartcustoms.clearance.summary import DUPLICATE, QUARANTINED
from smartcustoms.errors import (
    ConsignmentNotFoundError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    TooLargeError,
)
from smartcustoms.intake import explain_reasons
from smartcustoms.model import Filing
from smartcustoms.platform import SmartCustoms
from smartcustoms.store.database import ConsignmentOutcome

__all__ = [
    "REJECTED_RESPONSES",
    "ConsignmentResponse",
    "DataQuality",
    "Duties",
    "FilerOrAdmin",
    "FilerReason",
    "FilingAccepted",
    "FilingProblem",
    "FilingRejection",
    "QualityWarning",
    "ResultLine",
    "audit",
    "consignment_response",
    "decide_filing",
    "filer_problem",
    "filing_body",
    "read_filing",
    "refuse_nul_body",
    "rejection",
    "result_lines",
    "router",
    "submit_filing_route",
    "tenant_of",
    "visible_record",
]

router = APIRouter(tags=["filers"])

FilerOrAdmin = Annotated[Principal, Depends(require(Role.FILER, Role.ADMIN))]
"""The caller of a filer route: a filer, or an administrator (who sees every tenant)."""

Status = Literal["release", "hold", "reject"]
LaneName = Literal["red", "yellow", "blue", "green"]

_T = TypeVar("_T")

_LANE_WORDS: Final[dict[str, tuple[Status, str]]] = {
    "green": ("release", "released: not selected for control"),
    "blue": ("release", "released: the consignment may be audited after release"),
    "yellow": ("hold", "held for a documentary check"),
    "red": ("hold", "held for a physical inspection"),
}
_OWNER_SUFFIX: Final = re.compile(r" under filing .*$")


# ------------------------------------------------------------------------------ bodies


class Duties(BaseModel):
    """Duties and taxes assessed, exact decimal amounts in ``currency``."""

    currency: str
    duty: Decimal
    vat: Decimal
    excise: Decimal
    total_payable: Decimal = Field(
        description="Payable at the border (VAT collected at sale excluded)."
    )


class FilerReason(BaseModel):
    """Why a consignment has its status, in words a filer may read."""

    code: str = Field(description="Stable code: `lane.green`, `lane.red`, `released`, ...")
    text: str


class QualityWarning(BaseModel):
    """One data-quality remark: the filing was accepted, but it could be better."""

    code: str
    path: str
    message: str


class DataQuality(BaseModel):
    """Data-quality score (0-100) and what lowered it."""

    score: int | None
    warnings: list[QualityWarning]


class ConsignmentResponse(BaseModel):
    """The customs response for one consignment, shaped like a WCO CUSRSP answer."""

    consignment_id: str
    filing_id: str
    status: Status = Field(
        description="`release` (green, blue, or released after control) or `hold`."
    )
    lane: LaneName | None
    duties: Duties | None
    reasons: list[FilerReason]
    data_quality: DataQuality


class FilingProblem(BaseModel):
    """One problem of a filing, located precisely enough to fix it."""

    code: str
    path: str
    message: str
    severity: Literal["error", "warning"] = "error"


class FilingAccepted(BaseModel):
    """A filing accepted (201), or found already on file with the same content (200)."""

    filing_id: str
    duplicate: bool = Field(
        description="The same filing was already on file: nothing new was stored."
    )
    consignments: list[ConsignmentResponse]
    warnings: list[FilingProblem] = Field(description="Warnings of this submission (not stored).")


class FilingRejection(BaseModel):
    """A rejected filing: problem details with every problem and the quarantine entry."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    problems: list[FilingProblem]
    quarantine_id: str | None = Field(
        description="Where the filing is kept: correct it with POST /quarantine/{id}/resubmit."
    )


class ResubmitAccepted(BaseModel):
    """A corrected filing accepted: the quarantine entry is resolved."""

    quarantine_id: str
    filing_id: str | None
    duplicate: bool
    consignments: list[ConsignmentResponse]


class ResultLine(BaseModel):
    """One line of a bulk job's result (per consignment, or per record with no consignment)."""

    record: int
    line: int | None
    filing_id: str | None
    consignment_id: str | None
    outcome: Literal["accepted", "duplicate", "quarantined"]
    status: Status
    quarantine_id: str | None
    problems: list[FilingProblem]
    response: ConsignmentResponse | None


# ------------------------------------------------------------------------------ helpers


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its ``$defs`` inlined (no references outside the operation)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    inlined: dict[str, Any] = walk(schema)
    return inlined


def filing_body(description: str) -> dict[str, Any]:
    """OpenAPI ``requestBody`` of a route taking one filing (the schema inlined)."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": _inline_refs(Filing.model_json_schema())}},
        }
    }


def tenant_of(principal: Principal) -> str | None:
    """The filer id whose data the caller may touch; ``None`` (every tenant) for admins.

    Raises:
        PermissionDeniedError: A filer user without a filer id (it could touch nothing).
    """
    if principal.role is Role.ADMIN:
        return None
    if principal.filer_id is None:
        raise PermissionDeniedError(
            f"user {principal.user_id} is a filer without a filer id; ask an administrator"
        )
    return principal.filer_id


def audit(
    platform: SmartCustoms,
    principal: Principal,
    action: str,
    subject_type: str,
    subject_id: str | None,
    *,
    via: str = "api",
    **details: Any,
) -> None:
    """Record what ``principal`` did through the API (or ``via`` the portal) in the audit log."""
    platform.store.record_audit(
        actor=principal.user_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details={"via": via, **details},
    )


def visible_record(
    platform: SmartCustoms,
    principal: Principal,
    subject_type: str,
    subject_id: str,
    *,
    load: Callable[[str], _T | None],
    owner: Callable[[_T], str | None],
    missing: Callable[[str], NotFoundError],
    via: str = "api",
) -> _T:
    """The record ``subject_id`` if the caller may see it, else the 404 of an unknown id.

    One rule for consignments, quarantine entries and jobs: another tenant's record is
    answered exactly like an id that does not exist (same error, same detail text), so ids
    never leak. The read is audited either way (``<subject_type>.read``, with ``found``).

    Args:
        platform: The platform.
        principal: The caller.
        subject_type: ``consignment``, ``quarantine``, ``job``: names the audit action.
        subject_id: The id asked for.
        load: Reads the record (``None`` or a :class:`NotFoundError` when unknown).
        owner: The tenant a record belongs to.
        missing: Builds the not-found error from its detail text.
        via: The channel, for the audit log (``api`` or ``portal``).

    Raises:
        NotFoundError: Unknown, or another tenant's (the error ``missing`` builds).
    """
    tenant = tenant_of(principal)
    try:
        record = load(subject_id)
    except NotFoundError:
        record = None
    visible = record is not None and (tenant is None or owner(record) == tenant)
    audit(
        platform,
        principal,
        f"{subject_type}.read",
        subject_type,
        subject_id,
        via=via,
        found=visible,
    )
    if record is None or not visible:
        raise missing(subject_id)
    return record


def filer_problem(problem: dict[str, Any], severity: str = "error") -> FilingProblem:
    """A problem as a filer sees it: which other filing owns a consignment id is not said."""
    message = str(problem.get("message", ""))
    if problem.get("code") == "consignment.duplicate":
        message = _OWNER_SUFFIX.sub(" under another filing", message)
    sev = str(problem.get("severity", severity))
    return FilingProblem(
        code=str(problem["code"]),
        path=str(problem.get("path", "")),
        message=message,
        severity="warning" if sev == "warning" else "error",
    )


def _amount(value: Decimal | None) -> Decimal:
    return Decimal("0.0000") if value is None else value


def consignment_response(outcome: ConsignmentOutcome) -> ConsignmentResponse:
    """The filer's view of where a consignment stands."""
    lane = outcome.lane if outcome.lane in _LANE_WORDS else None
    status: Status = "hold"
    reasons: list[FilerReason] = []
    if lane is not None:
        status, words = _LANE_WORDS[lane]
        reasons.append(FilerReason(code=f"lane.{lane}", text=words))
    else:
        reasons.append(FilerReason(code="lane.pending", text="no control decision yet"))
    if outcome.is_released and status == "hold":
        status = "release"
        reasons.append(FilerReason(code="released", text="released after control"))
    duties = None
    if outcome.currency is not None:
        duties = Duties(
            currency=outcome.currency,
            duty=_amount(outcome.duty),
            vat=_amount(outcome.vat),
            excise=_amount(outcome.excise),
            total_payable=_amount(outcome.total_payable),
        )
    return ConsignmentResponse(
        consignment_id=outcome.consignment_id,
        filing_id=outcome.filing_id,
        status=status,
        lane=lane,
        duties=duties,
        reasons=reasons,
        data_quality=DataQuality(
            score=outcome.dq_score,
            warnings=[
                QualityWarning(code=str(r["code"]), path=str(r["path"]), message=str(r["message"]))
                for r in explain_reasons(outcome.dq_reasons)
            ],
        ),
    )


def result_lines(
    platform: SmartCustoms,
    results: pl.DataFrame | Sequence[Mapping[str, Any]],
    outcomes: dict[str, ConsignmentOutcome] | None = None,
) -> list[ResultLine]:
    """Filer result lines for clearance result rows (:data:`RESULT_SCHEMA`, frame or dicts).

    Responses describe the consignments as they stand on file (``outcomes``, read from the
    store when not given), so an accepted and a duplicate consignment are described the
    same way; risk columns of the rows are never passed on.
    """
    rows = list(results.iter_rows(named=True)) if isinstance(results, pl.DataFrame) else results
    if outcomes is None:
        stored = [
            r["consignment_id"] for r in rows if r["status"] != QUARANTINED and r["consignment_id"]
        ]
        outcomes = platform.store.consignment_outcomes(stored)
    out = []
    for r in rows:
        problems = [filer_problem(p) for p in json.loads(r["problems"] or "[]")]
        problems += [filer_problem(p, "warning") for p in json.loads(r["warnings"] or "[]")]
        found = outcomes.get(r["consignment_id"] or "") if r["status"] != QUARANTINED else None
        response = consignment_response(found) if found is not None else None
        out.append(
            ResultLine(
                record=r["record"],
                line=r["line"],
                filing_id=r["filing_id"],
                consignment_id=r["consignment_id"],
                outcome=r["status"],
                status=response.status if response else "reject",
                quarantine_id=r["quarantine_id"],
                problems=problems,
                response=response,
            )
        )
    return out


def rejection(
    request: Request, quarantine_id: str | None, problems: list[FilingProblem], detail: str
) -> ProblemResponse:
    """422 ``filing.invalid`` problem details naming the quarantine entry that keeps it."""
    body = problem_body(
        code="filing.invalid",
        title="Invalid filing",
        status=422,
        detail=detail,
        instance=request.url.path,
        problems=[p.model_dump() for p in problems],
    )
    body["quarantine_id"] = quarantine_id
    return ProblemResponse(body, status_code=422)


async def read_filing(request: Request, platform: SmartCustoms) -> bytes:
    """The request's body, one filing: refused (413) past ``max_filing_bytes``."""
    limit = platform.settings.max_filing_bytes
    declared = request.headers.get("content-length", "")
    too_large = TooLargeError(
        f"the filing is larger than {limit} bytes (SMARTCUSTOMS_MAX_FILING_BYTES): "
        "send large volumes as a bulk file (POST /api/v1/filings/bulk)"
    )
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    parts = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        parts.append(chunk)
    return b"".join(parts)


def refuse_nul_body(body: bytes) -> None:
    """Refuse U+0000 in a filing: PostgreSQL text cannot hold it, and no field needs it."""
    if b"\x00" in body or b"\\u0000" in body:
        raise InvalidInputError("the filing holds a NUL character (U+0000), which no field allows")


def _detect_json(body: bytes) -> str:
    """``postal`` or ``json`` for a one-filing body (several filings are refused)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "json"  # kept whole in quarantine as json.malformed
    if isinstance(doc, list) or (isinstance(doc, dict) and isinstance(doc.get("filings"), list)):
        raise InvalidInputError(
            "POST /filings takes exactly one filing; send several as a bulk file "
            "(POST /filings/bulk)"
        )
    if isinstance(doc, dict) and "item_id" in doc and "contents" in doc:
        return "postal"
    return "json"


REJECTED_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    422: {
        "model": FilingRejection,
        "description": "The filing was rejected (every problem listed) and kept in quarantine.",
        "content": {PROBLEM_MEDIA_TYPE: {}},
    }
}


# ------------------------------------------------------------------------------ routes


@router.post(
    "/filings",
    summary="Submit one filing",
    status_code=201,
    response_model=FilingAccepted,
    responses={
        200: {"model": FilingAccepted, "description": "Already on file (duplicate)."},
        **REJECTED_RESPONSES,
    },
    openapi_extra=filing_body(
        "One filing on WCO Data Model terms (docs/file-formats.md); a postal item "
        "(ITMATT/CN23-like, with `item_id` and `contents`) is read as postal item data."
    ),
)
async def submit_filing(
    request: Request, principal: FilerOrAdmin, platform: PlatformDep
) -> Response:
    """Clear one filing now and answer with the customs response per consignment.

    201 when accepted, 200 when the same filing is already on file (an idempotent re-send:
    nothing new is stored), 422 problem details with every problem and the
    ``quarantine_id`` when rejected.
    """
    # Requests are served by submit_filing_route (the same steps without FastAPI's
    # dependency solver); this route documents them, and serves them when that one is not
    # installed.
    return await decide_filing(request, principal, platform)


async def decide_filing(request: Request, principal: Principal, platform: SmartCustoms) -> Response:
    """``POST /filings`` once the caller is known and admitted: decide, then answer."""
    tenant = tenant_of(principal)
    body = await read_filing(request, platform)
    if not body.strip():
        raise InvalidInputError("the request has no body: send one filing as JSON")
    refuse_nul_body(body)
    fmt = _detect_json(body)
    decisions: DecisionBatcher | RemoteDecisions = request.app.state.decisions
    decided = await decisions.decide(
        body, fmt=fmt, tenant=tenant, actor=principal.user_id
    )  # cleared with the filings that arrived meanwhile, audited there
    lines = result_lines(platform, decided.rows, decided.outcomes)
    first = lines[0]
    rejected = first.outcome == QUARANTINED
    duplicate = all(line.outcome == DUPLICATE for line in lines)
    if rejected:
        errors = [p for p in first.problems if p.severity == "error"]
        return rejection(
            request,
            first.quarantine_id,
            first.problems,
            f"the filing has {len(errors)} error(s), every one listed; it is kept in quarantine "
            f"as {first.quarantine_id}: correct it and send it to "
            f"POST /api/v1/quarantine/{first.quarantine_id}/resubmit",
        )
    accepted = FilingAccepted(
        filing_id=first.filing_id or "",
        duplicate=duplicate,
        consignments=[line.response for line in lines if line.response is not None],
        warnings=[p for p in first.problems if p.severity == "warning"],
    )
    return Response(
        accepted.model_dump_json(by_alias=True),
        status_code=200 if duplicate else 201,
        media_type="application/json",
    )


def submit_filing_endpoint() -> Callable[[Request], Awaitable[Response]]:
    """``POST /filings`` as a plain endpoint, for speed (the busiest route of the service).

    It runs the very dependencies FastAPI would run for :func:`submit_filing`
    (:func:`~smartcustoms.api.security.refuse_nul`, the two API-key schemes,
    :func:`~smartcustoms.api.security.get_principal` and the route's
    :class:`~smartcustoms.api.security.RoleGate`), in the same order, then
    :func:`decide_filing`. What it saves is FastAPI's per-request dependency solving and
    response validation, the largest single item in a profile of the loaded server. The
    FastAPI route stays registered, so the OpenAPI document, the authorization matrix and
    the admitted roles (read from :data:`FilerOrAdmin`) are declared once. The application
    answers this route ahead of its middleware stack (``smartcustoms.api.app``).
    """
    gate = _gate_of(FilerOrAdmin)

    async def endpoint(request: Request) -> Response:
        await refuse_nul(request)
        platform: SmartCustoms = request.app.state.platform
        principal = await get_principal(
            request, platform, await BEARER(request), await API_KEY_HEADER(request)
        )
        return await decide_filing(request, await gate(principal), platform)

    return endpoint


def submit_filing_route(path: str) -> Route:
    """:func:`submit_filing_endpoint` as a plain Starlette route on ``path``."""
    return Route(path, submit_filing_endpoint(), methods=["POST"], name="submit_filing_fast")


def _gate_of(alias: Any) -> RoleGate:
    """The :class:`RoleGate` an ``Annotated[Principal, Depends(require(...))]`` declares."""
    for meta in getattr(alias, "__metadata__", ()):
        if isinstance(getattr(meta, "dependency", None), RoleGate):
            gate: RoleGate = meta.dependency
            return gate
    raise TypeError(f"{alias!r} declares no RoleGate")


@router.get(
    "/consignments/{consignment_id}/response",
    summary="The customs response for one consignment",
)
def consignment_status(
    consignment_id: str, principal: FilerOrAdmin, platform: PlatformDep
) -> ConsignmentResponse:
    """Status, lane, duties, reasons and data quality of one consignment.

    Another filer's consignment is 404 ``consignment.not_found``, exactly like an unknown id.
    """
    found = visible_record(
        platform,
        principal,
        "consignment",
        consignment_id,
        load=lambda cid: platform.store.consignment_outcomes([cid]).get(cid),
        owner=lambda outcome: outcome.filer_id,
        missing=lambda cid: ConsignmentNotFoundError(f"no consignment {cid!r}"),
    )
    return consignment_response(found)
