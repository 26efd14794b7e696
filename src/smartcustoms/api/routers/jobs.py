"""Filers: bulk files cleared as jobs, their progress and result lines; the job worker.

``POST /filings/bulk`` stores the file in the database with a new job and answers 202;
clearance runs in the background, one chunk per transaction, through the same code as
``smartcustoms clear``. Another filer's job is answered with the same 404 as an unknown id
(:func:`~.filings.visible_record`).

Nothing is lost when a process dies: the upload is in the database before the 202, every
cleared chunk is checkpointed with its counts and result lines, and a job's claim is a lease
its process keeps renewing (:mod:`smartcustoms.store.jobs`). Each application runs one
:class:`BulkJobWorker` (started by this router's lifespan; an app run without its lifespan
runs each job as a background task of its request): its thread runs the jobs submitted to
its process and, at start and every :data:`SWEEP_SECONDS`, takes over the jobs whose claim
is free or ran out - those of a process that stopped - and resumes them after their last
checkpoint. Clearing is idempotent, so the one chunk that may have been stored without its
checkpoint is cleared again without storing anything twice; its filings stored by that
first attempt are told apart from genuine duplicates by their batch id (chunk ``n`` of a
job writes under ``<batch_id>.<n>``) and reported as accepted, with their responses read
from the store like every result line.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any, BinaryIO, Final, Literal

import polars as pl
from fastapi import APIRouter, BackgroundTasks, FastAPI, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from smartcustoms.access import Principal
from smartcustoms.api.problems import PROBLEM_MEDIA_TYPE
from smartcustoms.api.routers.filings import (
    FilerOrAdmin,
    ResultLine,
    audit,
    result_lines,
    tenant_of,
    visible_record,
)
from smartcustoms.api.security import PlatformDep
from smartcustoms.clearance.summary import ACCEPTED, DUPLICATE
from smartcustoms.errors import ConflictError, InvalidInputError, JobNotFoundError, TooLargeError
from smartcustoms.intake import read_batches
from smartcustoms.intake.column_map import shipped_column_maps
from smartcustoms.platform import SmartCustoms
from smartcustoms.store.jobs import COUNTS, JobRecord, JobRecords

__all__ = [
    "LEASE",
    "SWEEP_SECONDS",
    "BulkJobWorker",
    "JobStatus",
    "ResultLine",
    "router",
    "run_bulk_job",
]

_LOG = logging.getLogger("smartcustoms.api.jobs")

LEASE: Final = timedelta(seconds=120)
"""How long a job's claim holds without renewal: a dead process's jobs resume after it."""

SWEEP_SECONDS: Final = 30.0
"""How often a worker looks for jobs whose claim is free or ran out."""

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
        load=JobRecords(platform.store).job,
        owner=lambda job: job.tenant,
        missing=lambda jid: JobNotFoundError(f"no job {jid!r}"),
    )


# ------------------------------------------------------------------------------ running


def _jsonl(lines: Iterable[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def _retried_as_accepted(
    records: JobRecords, results: pl.DataFrame, chunk_batch: str
) -> tuple[pl.DataFrame, int]:
    """Result rows of a chunk cleared again, with what its first attempt stored as accepted.

    A filing the first attempt stored comes back as a duplicate of itself: it is on file
    under this very chunk's batch id. Its first record in the chunk is reported accepted
    (as the first attempt would have); later records repeating it stay duplicates. Returns
    the rows and how many records changed from duplicate to accepted.
    """
    dups = results.filter((pl.col("status") == DUPLICATE) & pl.col("filing_id").is_not_null())
    if dups.is_empty():
        return results, 0
    mine = records.stored_by_batch(chunk_batch, dups["filing_id"].unique().to_list())
    if not mine:
        return results, 0
    # the first record of each such filing, unless that one was accepted right now
    first = (
        results.filter(
            pl.col("filing_id").is_in(sorted(mine)) & pl.col("status").is_in([ACCEPTED, DUPLICATE])
        )
        .sort("record")
        .group_by("filing_id")
        .agg(pl.col("record").first(), pl.col("status").first())
        .filter(pl.col("status") == DUPLICATE)["record"]
    )
    status = (
        pl.when(pl.col("record").is_in(first.implode()))
        .then(pl.lit(ACCEPTED))
        .otherwise(pl.col("status"))
    )
    return results.with_columns(status.alias("status")), first.len()


class _Heartbeat:
    """Renews a job's lease in the background while its process works on it."""

    def __init__(self, records: JobRecords, job_id: str, worker: str, lease: timedelta) -> None:
        self.lost = False
        self._records, self._job_id, self._worker, self._lease = records, job_id, worker, lease
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"sc-lease-{job_id[:12]}", daemon=True
        )

    def _beat(self) -> None:
        while not self._done.wait(self._lease.total_seconds() / 4):
            try:
                if not self._records.renew(self._job_id, self._worker, lease=self._lease):
                    self.lost = True
                    return
            except Exception:  # a database hiccup: the next beat tries again
                _LOG.warning("could not renew the lease of job %s", self._job_id, exc_info=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join()


def run_bulk_job(
    platform: SmartCustoms,
    job_id: str,
    *,
    worker: str,
    lease: timedelta = LEASE,
    stop: threading.Event | None = None,
) -> None:
    """Clear a job's stored upload chunk by chunk, from its last checkpoint on.

    ``worker`` must hold the job's claim (:meth:`JobRecords.claim
    <smartcustoms.store.jobs.JobRecords.claim>`). Each chunk is one clearance transaction,
    then one checkpoint with its counts and result lines. A failure ends the job ``failed``
    with the error, the counts and result lines of the chunks recorded; sending the same
    file again reports the stored filings as duplicates. When ``stop`` is set (the process
    is stopping) the job stops between chunks and its claim is released, so the next
    process resumes it at once; a lost claim (another process took the job over) stops it
    too, writing nothing more.
    """
    records = JobRecords(platform.store)
    batch_id = records.start(
        job_id, worker, batch_id=datetime.now(UTC).strftime("j%Y%m%dT%H%M%S%f"), lease=lease
    )
    if batch_id is None:
        _LOG.warning("job %s: %s does not hold its claim; not run", job_id, worker)
        return
    try:
        job, upload = records.job(job_id), records.upload(job_id)
        done = records.chunks_done(job_id)
        if done:
            records.store.record_audit(
                actor=job.user_id,
                action="job.resume",
                subject_type="job",
                subject_id=job_id,
                details={"worker": worker, "from_chunk": done},
            )
        with (
            _Heartbeat(records, job_id, worker, lease) as beat,
            tempfile.TemporaryDirectory(prefix="sc-job-") as tmp,
        ):
            path = Path(tmp) / f"upload.{upload.fmt}"
            with path.open("wb") as fh:
                records.copy_upload(job_id, fh)
            clearance = platform.clearance(actor=job.user_id, now=upload.received_at)
            batches = read_batches(
                path, fmt=upload.fmt, column_map=upload.column_map, chunk_size=upload.chunk_size
            )
            for chunk_no, batch in enumerate(batches):
                if chunk_no < done:
                    continue
                if beat.lost:
                    _LOG.warning("job %s: claim lost to another process; stopping", job_id)
                    return
                if stop is not None and stop.is_set():
                    records.release(job_id, worker)
                    return
                chunk_batch = f"{batch_id}.{chunk_no}"
                batch.source = f"api job {job_id}"
                outcome, results = clearance.clear_batch(
                    batch, batch_id=chunk_batch, now=upload.received_at, tenant=job.tenant
                )
                results, retried = _retried_as_accepted(records, results, chunk_batch)
                counts = {key: int(getattr(outcome, key)) for key in COUNTS}
                counts["duplicates"] -= retried
                lines = _jsonl(
                    line.model_dump_json().encode() for line in result_lines(platform, results)
                )
                if not records.record_chunk(
                    job_id, chunk_no, counts, lines, worker=worker, lease=lease
                ):
                    _LOG.warning("job %s: claim lost before chunk %d", job_id, chunk_no)
                    return
    except Exception as exc:  # the job records any failure; the service keeps running
        _LOG.exception("bulk job %s failed", job_id)
        try:
            records.finish(job_id, worker=worker, error=f"{type(exc).__name__}: {exc}")
        except Exception:
            _LOG.exception("could not record the failure of bulk job %s", job_id)
        return
    if records.finish(job_id, worker=worker):
        ended = records.job(job_id)
        records.store.record_audit(
            actor=ended.user_id,
            action="job.finish",
            subject_type="job",
            subject_id=job_id,
            details={key: getattr(ended, key) for key in COUNTS},
        )


class BulkJobWorker:
    """Runs the bulk jobs of one process, and resumes those a stopped process left.

    One per application, with one thread (:meth:`start`): it runs the jobs queued in this
    process (:meth:`submit`, then :meth:`enqueue`) one after the other and, at start and
    every ``sweep_seconds``, claims each job whose claim is free or ran out and resumes it
    (:meth:`resume_pending`). Jobs run outside the request threads, so a long file never
    holds one, and :meth:`stop` ends a job between two chunks and releases its claim: the
    next process resumes it at once.

    Every run holds its own claim token, so a job is never run twice, not even by two
    runs in one process (a job queued here whose lease ran out while it waited may be
    taken over by another process; this process then skips it).

    Args:
        platform: The platform whose store holds the jobs.
        lease: How long a claim holds without renewal.
        sweep_seconds: Pause between two looks for jobs to resume.
    """

    def __init__(
        self,
        platform: SmartCustoms,
        *,
        lease: timedelta = LEASE,
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        self.platform = platform
        self.lease = lease
        self.sweep_seconds = sweep_seconds
        self.process_id = f"{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._queue: deque[tuple[str, str]] = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def records(self) -> JobRecords:
        """The jobs in the platform's store."""
        return JobRecords(self.platform.store)

    @property
    def is_running(self) -> bool:
        """Whether the worker's thread runs (it was started and not stopped)."""
        return self._thread is not None and self._thread.is_alive()

    def _claim_token(self) -> str:
        return f"{self.process_id}:{uuid.uuid4().hex[:8]}"

    def submit(
        self,
        upload: BinaryIO,
        *,
        principal: Principal,
        tenant: str | None,
        fmt: str,
        column_map: str | None,
        size: int,
    ) -> tuple[JobRecord, str]:
        """Store ``upload`` with a new job, claimed for this process: the job and its claim."""
        claim = self._claim_token()
        job = self.records.create_upload_job(
            upload,
            job_id="j" + uuid.uuid4().hex[:31],
            kind="filings.bulk",
            user_id=principal.user_id,
            tenant=tenant,
            source=f"upload: {fmt}, {size} bytes",
            fmt=fmt,
            column_map=column_map,
            chunk_size=self.platform.settings.chunk_size,
            worker=claim,
            lease=self.lease,
        )
        return job, claim

    def enqueue(self, job_id: str, claim: str) -> None:
        """Have the worker's thread run a job submitted here."""
        self._queue.append((job_id, claim))
        self._wake.set()

    def run(self, job_id: str, claim: str) -> None:
        """Run a job held with ``claim``, in the calling thread (see :func:`run_bulk_job`)."""
        run_bulk_job(self.platform, job_id, worker=claim, lease=self.lease, stop=self._stopping)

    def resume_pending(self) -> list[str]:
        """Claim and run every job whose claim is free or ran out; the ids it ran."""
        ran = []
        for job_id in self.records.resumable():
            if self._stopping.is_set():
                break
            claim = self._claim_token()
            if self.records.claim(job_id, claim, lease=self.lease):
                _LOG.info("resuming bulk job %s", job_id)
                self.run(job_id, claim)
                ran.append(job_id)
        return ran

    def start(self) -> None:
        """Start the worker's thread."""
        self._thread = threading.Thread(target=self._work, name="sc-bulk-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop between two chunks, releasing the claim; wait up to ``timeout`` seconds."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                while self._queue and not self._stopping.is_set():
                    self.run(*self._queue.popleft())
                if not self._stopping.is_set():
                    self.resume_pending()
            except Exception:  # the database may be away for a moment; try again later
                _LOG.warning("the bulk-job worker met an error; it carries on", exc_info=True)
            self._wake.wait(self.sweep_seconds)
            self._wake.clear()


@asynccontextmanager
async def _bulk_job_worker(app: FastAPI) -> AsyncIterator[None]:
    """The application's :class:`BulkJobWorker`, running from start-up to shutdown."""
    platform: SmartCustoms = app.state.platform
    try:  # opened (and migrated) here, once, rather than racing the worker's thread
        await run_in_threadpool(lambda: platform.store)
    except Exception:
        _LOG.warning("the store did not open at start-up; the worker retries", exc_info=True)
    worker = BulkJobWorker(platform)
    app.state.bulk_job_worker = worker
    worker.start()
    try:
        yield
    finally:
        await run_in_threadpool(worker.stop)


router = APIRouter(tags=["filers"], lifespan=_bulk_job_worker)


def _too_large(limit: int) -> TooLargeError:
    return TooLargeError(
        f"the file is larger than {limit} bytes (SMARTCUSTOMS_MAX_UPLOAD_BYTES): "
        "split it into several bulk files"
    )


# ------------------------------------------------------------------------------ routes


@router.post(
    "/filings/bulk",
    summary="Submit a bulk file (JSON Lines or CSV) as a job",
    status_code=202,
    response_model=JobStatus,
    responses={
        413: {
            "description": "The file is larger than the service accepts (`filing.too_large`).",
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
    },
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
) -> Any:
    """Store a bulk file with a new job and answer 202 with the job.

    The file is in the database before the answer, so the job survives the process.
    Clearance runs in the background, chunk by chunk, and records its progress
    (``GET /jobs/{job_id}``) and result lines (``GET /jobs/{job_id}/result``). A file larger
    than ``SMARTCUSTOMS_MAX_UPLOAD_BYTES`` is refused (413 ``filing.too_large``).
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
    limit = platform.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    with tempfile.TemporaryFile(prefix="sc-bulk-") as spool:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            spool.write(chunk)
        if size == 0:
            raise InvalidInputError("the request has no body: send the filings to clear")
        spool.seek(0)
        worker = getattr(request.app.state, "bulk_job_worker", None)
        if not isinstance(worker, BulkJobWorker) or not worker.is_running:
            worker = None  # an app run without its lifespan: the job runs after the answer
        submitting = worker or BulkJobWorker(platform)
        job, claim = await run_in_threadpool(
            lambda: submitting.submit(
                spool,
                principal=principal,
                tenant=tenant,
                fmt=fmt,
                column_map=column_map if fmt == "csv" else None,
                size=size,
            )
        )
    await run_in_threadpool(
        audit, platform, principal, "filing.bulk_submit", "job", job.job_id, format=fmt, bytes=size
    )
    if worker is not None:
        worker.enqueue(job.job_id, claim)
    else:
        background.add_task(submitting.run, job.job_id, claim)
    response.headers["Location"] = f"/api/v1/jobs/{job.job_id}"
    return _job_status(job)


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
    data = JobRecords(platform.store).job_result(job.job_id)
    if data is None:
        raise ConflictError(f"job {job_id} is {job.status}: its result is not stored yet")
    return Response(content=data, media_type="application/x-ndjson")
