"""Filers: bulk files cleared as jobs, their progress and result lines.

``POST /filings/bulk`` queues a file and answers 202; clearance runs in the background, one
chunk per transaction, through the same code as ``smartcustoms clear``. Another filer's job
is answered with the same 404 as an unknown id (:func:`~.filings.visible_record`).
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Final, Literal

from fastapi import APIRouter, BackgroundTasks, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from smartcustoms.access import Principal
from smartcustoms.api.routers.filings import (
    FilerOrAdmin,
    ResultLine,
    audit,
    result_lines,
    tenant_of,
    visible_record,
)
from smartcustoms.api.security import PlatformDep
from smartcustoms.errors import ConflictError, InvalidInputError, JobNotFoundError
from smartcustoms.intake import read_batches
from smartcustoms.intake.column_map import shipped_column_maps
from smartcustoms.platform import SmartCustoms
from smartcustoms.store.database import JobRecord

__all__ = ["JobStatus", "ResultLine", "router", "run_bulk_job"]

_LOG = logging.getLogger("smartcustoms.api.jobs")

router = APIRouter(tags=["filers"])

_BULK_MEDIA: Final[dict[str, Literal["jsonl", "json", "csv", "postal"]]] = {
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/ndjson": "jsonl",
    "text/csv": "csv",
    "application/json": "json",
}


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


def _visible_job(platform: SmartCustoms, principal: Principal, job_id: str) -> JobRecord:
    return visible_record(
        platform,
        principal,
        "job",
        job_id,
        load=platform.store.job,
        owner=lambda job: job.tenant,
        missing=lambda jid: JobNotFoundError(f"no job {jid!r}"),
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
    tenant = tenant_of(principal)
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
        audit, platform, principal, "filing.bulk_submit", "job", job_id, format=fmt, bytes=size
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
