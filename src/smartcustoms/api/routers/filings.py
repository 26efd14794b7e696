"""Filers: submit filings, read the customs responses, correct quarantined filings.

One filing is cleared synchronously, a bulk file as a job; rejected filings are kept in
quarantine and resubmitted corrected.

Every submission goes through the same clearance path as ``smartcustoms clear``
(:meth:`~smartcustoms.clearance.Clearance.clear_batch`, one record or one chunk at a time), with
the caller's filer id as the *tenant*: a record filed under another filer id is rejected
(``filing.filer_mismatch``) and kept in quarantine like any rejected filing, and the quarantine
entries of a submission belong to the filer who sent it. Administrators may use every route
and see every tenant; their submissions are not tied to a tenant.

Tenant isolation: another filer's consignment, quarantine entry or job is answered with the
same 404 as an unknown id, so ids never leak. What a filer learns about a consignment is its
CUSRSP-like response (:class:`ConsignmentResponse`): status, lane, duties, data quality and
reasons in lane words only. Targeting rules, model scores, feature contributions, watch lists
and whether a control was drawn at random or by risk are never shown: risk criteria are
confidential, and telling a filer which of its consignments were targeted would let it probe
them. Every read and write lands in the audit log. See ``docs/api-filers.md``.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import orjson
import polars as pl
from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from smartcustoms.access import Principal, Role
from smartcustoms.api.problems import PROBLEM_MEDIA_TYPE, ProblemResponse, problem_body
from smartcustoms.api.security import PlatformDep, require
from smartcustoms.clearance.summary import DUPLICATE, QUARANTINED
from smartcustoms.errors import (
    ConflictError,
    ConsignmentNotFoundError,
    InvalidInputError,
    JobNotFoundError,
    PermissionDeniedError,
    QuarantineEntryNotFoundError,
)
from smartcustoms.intake import explain_reasons, read_batches
from smartcustoms.intake.column_map import shipped_column_maps
from smartcustoms.model import Filing
from smartcustoms.platform import SmartCustoms
from smartcustoms.store.database import ConsignmentOutcome, JobRecord, QuarantineEntry

__all__ = [
    "ConsignmentResponse",
    "DataQuality",
    "Duties",
    "FilerReason",
    "FilingAccepted",
    "FilingProblem",
    "FilingRejection",
    "JobStatus",
    "QualityWarning",
    "QuarantineDetail",
    "QuarantineSummary",
    "ResubmitAccepted",
    "ResultLine",
    "consignment_response",
    "result_lines",
    "router",
    "run_bulk_job",
]

_LOG = logging.getLogger("smartcustoms.api.filings")

router = APIRouter(tags=["filers"])

FilerOrAdmin = Annotated[Principal, Depends(require(Role.FILER, Role.ADMIN))]

Status = Literal["release", "hold", "reject"]
LaneName = Literal["red", "yellow", "blue", "green"]

_LANE_WORDS: Final[dict[str, tuple[Status, str]]] = {
    "green": ("release", "released: not selected for control"),
    "blue": ("release", "released: the consignment may be audited after release"),
    "yellow": ("hold", "held for a documentary check"),
    "red": ("hold", "held for a physical inspection"),
}
_BULK_MEDIA: Final[dict[str, Literal["jsonl", "json", "csv", "postal"]]] = {
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/ndjson": "jsonl",
    "text/csv": "csv",
    "application/json": "json",
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


class JobStatus(BaseModel):
    """Progress of a bulk filing job."""

    job_id: str
    status: Literal["queued", "running", "done", "failed"]
    source: str | None
    received: int
    accepted: int = Field(description="Accepted records, duplicates included.")
    quarantined: int
    duplicates: int
    error: str | None
    created_at: datetime
    updated_at: datetime
    result_url: str | None = Field(description="Where the result lines are, once stored.")


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


class QuarantineSummary(BaseModel):
    """A quarantined filing in a list."""

    quarantine_id: str
    status: Literal["open", "resolved"]
    filing_id: str | None
    format: str
    problem_codes: list[str]
    received_at: datetime
    updated_at: datetime
    attempts: int
    resolved_filing_id: str | None


class QuarantineDetail(QuarantineSummary):
    """A quarantined filing with every problem and the payload as received."""

    line: int | None
    problems: list[FilingProblem]
    payload: str = Field(description="The filing exactly as received (UTF-8, with replacement).")


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


def _filing_body(description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": _inline_refs(Filing.model_json_schema())}},
        }
    }


def _tenant(principal: Principal) -> str | None:
    """The filer id whose data the caller may touch; ``None`` (every tenant) for admins."""
    if principal.role is Role.ADMIN:
        return None
    if principal.filer_id is None:
        raise PermissionDeniedError(
            f"user {principal.user_id} is a filer without a filer id; ask an administrator"
        )
    return principal.filer_id


def _audit(
    platform: SmartCustoms,
    principal: Principal,
    action: str,
    subject_type: str,
    subject_id: str | None,
    **details: Any,
) -> None:
    platform.store.record_audit(
        actor=principal.user_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details={"via": "api", **details},
    )


def _filer_problem(problem: dict[str, Any], severity: str = "error") -> FilingProblem:
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


def result_lines(platform: SmartCustoms, results: pl.DataFrame) -> list[ResultLine]:
    """Filer result lines for clearance result rows (:data:`RESULT_SCHEMA`).

    Responses are read back from the store, so an accepted and a duplicate consignment are
    described the same way; risk columns of the rows are never passed on.
    """
    rows = list(results.iter_rows(named=True))
    stored = [
        r["consignment_id"] for r in rows if r["status"] != QUARANTINED and r["consignment_id"]
    ]
    outcomes = platform.store.consignment_outcomes(stored)
    out = []
    for r in rows:
        problems = [_filer_problem(p) for p in json.loads(r["problems"] or "[]")]
        problems += [_filer_problem(p, "warning") for p in json.loads(r["warnings"] or "[]")]
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


def _rejection(
    request: Request, quarantine_id: str | None, problems: list[FilingProblem], detail: str
) -> ProblemResponse:
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


def _refuse_nul(body: bytes) -> None:
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


def _clear_one(
    platform: SmartCustoms, body: bytes, *, fmt: str, tenant: str | None, actor: str
) -> pl.DataFrame:
    """One filing through the bulk path; its result rows."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "filing.json"
        path.write_bytes(body)
        batches = list(read_batches(path, fmt=fmt))
    clearance = platform.clearance(actor=actor)
    batch_id = datetime.now(UTC).strftime("a%Y%m%dT%H%M%S%f")
    parts = []
    for batch in batches:
        batch.source = "api"
        parts.append(clearance.clear_batch(batch, batch_id=batch_id, tenant=tenant)[1])
    return pl.concat(parts)


def _visible_entry(
    platform: SmartCustoms, principal: Principal, quarantine_id: str
) -> QuarantineEntry:
    tenant = _tenant(principal)
    try:
        entry = platform.store.quarantine_entry(quarantine_id)
    except QuarantineEntryNotFoundError:
        entry = None
    visible = entry is not None and (tenant is None or entry.tenant == tenant)
    _audit(platform, principal, "quarantine.read", "quarantine", quarantine_id, found=visible)
    if entry is None or not visible:
        raise QuarantineEntryNotFoundError(f"no quarantine entry {quarantine_id!r}")
    return entry


def _visible_job(platform: SmartCustoms, principal: Principal, job_id: str) -> JobRecord:
    tenant = _tenant(principal)
    try:
        job = platform.store.job(job_id)
    except JobNotFoundError:
        job = None
    visible = job is not None and (tenant is None or job.tenant == tenant)
    _audit(platform, principal, "job.read", "job", job_id, found=visible)
    if job is None or not visible:
        raise JobNotFoundError(f"no job {job_id!r}")
    return job


def _summary_fields(entry: QuarantineEntry) -> dict[str, Any]:
    return {
        "quarantine_id": entry.quarantine_id,
        "status": entry.status,
        "filing_id": entry.filing_id,
        "format": entry.fmt,
        "problem_codes": sorted({p.code for p in entry.problems}),
        "received_at": entry.received_at,
        "updated_at": entry.updated_at,
        "attempts": entry.attempts,
        "resolved_filing_id": entry.resolved_filing_id,
    }


def _job_status(job: JobRecord) -> JobStatus:
    return JobStatus(
        job_id=job.job_id,
        status=job.status,
        source=job.source,
        received=job.received,
        accepted=job.accepted,
        quarantined=job.quarantined,
        duplicates=job.duplicates,
        error=job.error,
        created_at=job.created_at,
        updated_at=job.updated_at,
        result_url=f"/api/v1/jobs/{job.job_id}/result" if job.has_result else None,
    )


_REJECTED: Final[dict[int | str, dict[str, Any]]] = {
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
        **_REJECTED,
    },
    openapi_extra=_filing_body(
        "One filing on WCO Data Model terms (docs/file-formats.md); a postal item "
        "(ITMATT/CN23-like, with `item_id` and `contents`) is read as postal item data."
    ),
)
async def submit_filing(
    request: Request, response: Response, principal: FilerOrAdmin, platform: PlatformDep
) -> Any:
    """Clear one filing now and answer with the customs response per consignment.

    201 when accepted, 200 when the same filing is already on file (an idempotent re-send:
    nothing new is stored), 422 problem details with every problem and the
    ``quarantine_id`` when rejected.
    """
    tenant = _tenant(principal)
    body = await request.body()
    if not body.strip():
        raise InvalidInputError("the request has no body: send one filing as JSON")
    _refuse_nul(body)
    fmt = _detect_json(body)
    results = await run_in_threadpool(
        _clear_one, platform, body, fmt=fmt, tenant=tenant, actor=principal.user_id
    )
    lines = await run_in_threadpool(result_lines, platform, results)
    first = lines[0]
    rejected = first.outcome == QUARANTINED
    duplicate = all(line.outcome == DUPLICATE for line in lines)
    await run_in_threadpool(
        _audit,
        platform,
        principal,
        "filing.submit",
        "filing",
        first.filing_id,
        outcome=first.outcome,
        quarantine_id=first.quarantine_id,
        consignments=[line.consignment_id for line in lines if line.consignment_id],
    )
    if rejected:
        errors = [p for p in first.problems if p.severity == "error"]
        return _rejection(
            request,
            first.quarantine_id,
            first.problems,
            f"the filing has {len(errors)} error(s), every one listed; it is kept in quarantine "
            f"as {first.quarantine_id}: correct it and send it to "
            f"POST /api/v1/quarantine/{first.quarantine_id}/resubmit",
        )
    response.status_code = 200 if duplicate else 201
    return FilingAccepted(
        filing_id=first.filing_id or "",
        duplicate=duplicate,
        consignments=[line.response for line in lines if line.response is not None],
        warnings=[p for p in first.problems if p.severity == "warning"],
    )


@router.post(
    "/filings/bulk",
    summary="Submit a bulk file (JSON Lines or CSV) as a job",
    status_code=202,
    response_model=JobStatus,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "Filings as JSON Lines (one filing per line), a JSON document, "
            "or CSV through a shipped column map.",
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "string"}},
            },
        }
    },
)
async def submit_bulk(
    request: Request,
    response: Response,
    background: BackgroundTasks,
    principal: FilerOrAdmin,
    platform: PlatformDep,
    fmt: Annotated[
        Literal["jsonl", "json", "csv", "postal"] | None,
        Query(alias="format", description="Overrides the Content-Type."),
    ] = None,
    column_map: Annotated[
        str | None, Query(description="A shipped column map for CSV (default `canonical`).")
    ] = None,
) -> JobStatus:
    """Queue a bulk file and answer 202 with the job.

    Clearance runs in the background, chunk by chunk, and records its progress
    (``GET /jobs/{job_id}``) and result lines (``GET /jobs/{job_id}/result``).
    """
    tenant = _tenant(principal)
    if fmt is None:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in _BULK_MEDIA:
            raise HTTPException(
                415,
                f"send application/x-ndjson, text/csv or application/json (not {media or 'none'}), "
                "or name the format with ?format=",
            )
        fmt = _BULK_MEDIA[media]
    if column_map is not None and column_map not in shipped_column_maps():
        raise InvalidInputError(
            f"unknown column map {column_map!r}; choose one of " + ", ".join(shipped_column_maps())
        )
    fd, name = tempfile.mkstemp(prefix="sc-bulk-", suffix=f".{fmt}")
    path = Path(name)
    size = 0
    with open(fd, "wb") as fh:
        async for chunk in request.stream():
            fh.write(chunk)
            size += len(chunk)
    if size == 0:
        path.unlink(missing_ok=True)
        raise InvalidInputError("the request has no body: send the filings to clear")
    job_id = "j" + uuid.uuid4().hex[:31]
    job = await run_in_threadpool(
        platform.store.create_job,
        job_id=job_id,
        kind="filings.bulk",
        user_id=principal.user_id,
        tenant=tenant,
        source=f"upload: {fmt}, {size} bytes",
    )
    await run_in_threadpool(
        _audit, platform, principal, "filing.bulk_submit", "job", job_id, format=fmt, bytes=size
    )
    background.add_task(
        run_bulk_job,
        platform,
        job_id,
        path,
        fmt=fmt,
        column_map=column_map if fmt == "csv" else None,
        tenant=tenant,
        actor=principal.user_id,
    )
    response.headers["Location"] = f"/api/v1/jobs/{job_id}"
    return _job_status(job)


def run_bulk_job(
    platform: SmartCustoms,
    job_id: str,
    path: Path,
    *,
    fmt: str,
    column_map: str | None,
    tenant: str | None,
    actor: str,
) -> None:
    """Clear an uploaded bulk file chunk by chunk, recording progress in the job.

    Each chunk is one transaction, so a failure keeps the chunks already stored; the error,
    the counts so far and their result lines are recorded, and sending the same file again
    reports the stored filings as duplicates. The upload is deleted at the end.
    """
    store = platform.store
    counts = dict.fromkeys(("received", "accepted", "quarantined", "duplicates"), 0)
    lines: list[bytes] = []
    try:
        batch_id = datetime.now(UTC).strftime("j%Y%m%dT%H%M%S%f")
        store.update_job(job_id, status="running", batch_id=batch_id)
        clearance = platform.clearance(actor=actor)
        for batch in read_batches(
            path, fmt=fmt, column_map=column_map, chunk_size=platform.settings.chunk_size
        ):
            batch.source = f"api job {job_id}"
            outcome, results = clearance.clear_batch(batch, batch_id=batch_id, tenant=tenant)
            lines.extend(
                line.model_dump_json().encode() for line in result_lines(platform, results)
            )
            for key in counts:
                counts[key] += getattr(outcome, key)
            store.update_job(job_id, counts=counts)
    except Exception as exc:  # the job records any failure; the service keeps running
        _LOG.exception("bulk job %s failed", job_id)
        try:
            store.update_job(
                job_id,
                status="failed",
                counts=counts,
                error=f"{type(exc).__name__}: {exc}",
                result=_jsonl(lines),
            )
        except Exception:
            _LOG.exception("could not record the failure of bulk job %s", job_id)
        return
    finally:
        path.unlink(missing_ok=True)
    store.update_job(job_id, status="done", counts=counts, result=_jsonl(lines))
    store.record_audit(
        actor=actor, action="job.finish", subject_type="job", subject_id=job_id, details=counts
    )


def _jsonl(lines: Iterable[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


@router.get("/jobs/{job_id}", summary="Progress of a bulk job")
def job_progress(job_id: str, principal: FilerOrAdmin, platform: PlatformDep) -> JobStatus:
    """Status and counts so far; another filer's job is 404 ``job.not_found``."""
    return _job_status(_visible_job(platform, principal, job_id))


@router.get(
    "/jobs/{job_id}/result",
    summary="Result lines of a bulk job (JSON Lines of ResultLine)",
    response_class=Response,
    responses={
        200: {"content": {"application/x-ndjson": {}}, "description": "ResultLine per line."}
    },
)
def job_result(job_id: str, principal: FilerOrAdmin, platform: PlatformDep) -> Response:
    """One :class:`ResultLine` per consignment; 409 ``conflict`` while the job runs."""
    job = _visible_job(platform, principal, job_id)
    data = platform.store.job_result(job.job_id)
    if data is None:
        raise ConflictError(f"job {job_id} is {job.status}: its result is not stored yet")
    return Response(content=data, media_type="application/x-ndjson")


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
    tenant = _tenant(principal)
    found = platform.store.consignment_outcomes([consignment_id]).get(consignment_id)
    visible = found is not None and (tenant is None or found.filer_id == tenant)
    _audit(platform, principal, "consignment.read", "consignment", consignment_id, found=visible)
    if found is None or not visible:
        raise ConsignmentNotFoundError(f"no consignment {consignment_id!r}")
    return consignment_response(found)


@router.get("/quarantine", summary="Your quarantined filings")
def quarantine_list(
    principal: FilerOrAdmin,
    platform: PlatformDep,
    status: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
    code: Annotated[str | None, Query(description="Only entries with this problem code.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> list[QuarantineSummary]:
    """Oldest first; a filer sees only the entries of its own submissions."""
    entries = platform.store.quarantine_entries(
        status=None if status == "all" else status,
        code=code,
        limit=limit,
        offset=offset,
        tenant=_tenant(principal),
    )
    ids = [e.quarantine_id for e in entries]
    _audit(platform, principal, "quarantine.list", "quarantine", None, ids=ids)
    return [QuarantineSummary(**_summary_fields(e)) for e in entries]


@router.get("/quarantine/{quarantine_id}", summary="One quarantined filing")
def quarantine_show(
    quarantine_id: str, principal: FilerOrAdmin, platform: PlatformDep
) -> QuarantineDetail:
    """Every problem and the payload as received; another filer's entry is 404."""
    entry = _visible_entry(platform, principal, quarantine_id)
    return QuarantineDetail(
        **_summary_fields(entry),
        line=entry.line,
        problems=[_filer_problem(p.as_dict()) for p in entry.problems],
        payload=entry.payload.decode("utf-8", errors="replace"),
    )


@router.post(
    "/quarantine/{quarantine_id}/resubmit",
    summary="Resubmit a quarantined filing, corrected",
    response_model=ResubmitAccepted,
    responses=_REJECTED,
    openapi_extra=_filing_body(
        "The corrected filing, in the entry's format (JSON, postal item, or CSV rows with "
        "their header). An empty body resubmits the stored payload as it is."
    ),
)
async def quarantine_resubmit(
    quarantine_id: str, request: Request, principal: FilerOrAdmin, platform: PlatformDep
) -> Any:
    """Send the corrected filing through the same path as any filing.

    200 when accepted (the entry is resolved), 422 with every problem when rejected again
    (the entry keeps the new payload), 409 ``quarantine.closed`` when already resolved,
    404 for another filer's entry.
    """
    tenant = _tenant(principal)
    body = await request.body()
    await run_in_threadpool(_visible_entry, platform, principal, quarantine_id)
    _refuse_nul(body)
    result = await run_in_threadpool(
        platform.resubmit,
        quarantine_id,
        corrected=body if body.strip() else None,
        actor=principal.user_id,
        tenant=tenant,
    )
    if not result.accepted:
        problems = [_filer_problem(p.as_dict()) for p in result.problems]
        return _rejection(
            request,
            quarantine_id,
            problems,
            f"the resubmission has {len(problems)} error(s), every one listed; quarantine "
            f"entry {quarantine_id} keeps it: correct it and resubmit again",
        )
    ids = await run_in_threadpool(platform.store.filing_consignment_ids, result.filing_id or "")
    found = await run_in_threadpool(platform.store.consignment_outcomes, ids)
    return ResubmitAccepted(
        quarantine_id=quarantine_id,
        filing_id=result.filing_id,
        duplicate=result.duplicate,
        consignments=[consignment_response(o) for o in found.values()],
    )
