"""Bulk jobs in the store: progress, durable uploads, chunk checkpoints and claims.

:class:`JobRecords` is the repository behind the service's bulk jobs. Nothing a job needs
lives outside the database, so a job survives the process that received it and any process
of any host can finish it:

* **The upload** is stored (``job_upload_parts``, 8 MiB parts, with its size and SHA-256 in
  ``job_uploads``) in the same transaction that creates the job: a job exists only with its
  whole upload.
* **Checkpoints.** Each cleared chunk is recorded (``job_chunks``: its counts and result
  lines) in one transaction with the job's running totals. A resumed job starts after the
  last recorded chunk; the one chunk that may have been stored by clearance but not recorded
  is cleared again, and clearance's idempotency (a filing already on file with the same
  content is a duplicate) keeps it from being stored twice.
* **Claims.** A process works on a job only while it holds its claim: ``claimed_by`` names
  the process, ``lease_until`` says until when, and the process renews the lease while it
  works. A claim whose lease ran out (its process died) may be taken by any process, with a
  conditional update, so two processes never both take it. Checkpoints and the end of a
  job are written only by the holder of the claim.

When a job ends its result lines are folded into ``jobs.result`` and its upload, parts and
checkpoints are deleted, in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from smartcustoms.errors import JobNotFoundError, StoreError
from smartcustoms.store import tables as t

if TYPE_CHECKING:
    from smartcustoms.store.database import Store

__all__ = ["COUNTS", "UPLOAD_PART_BYTES", "JobRecord", "JobRecords", "JobUpload"]

UPLOAD_PART_BYTES: Final = 8 * 1024 * 1024
"""Size of the parts an upload is stored in (one row each)."""

COUNTS: Final = ("received", "accepted", "quarantined", "duplicates")
"""The counts of a job and of each of its chunks."""

_ACTIVE: Final = ("queued", "running")
_IN_CHUNK: Final = 500


@dataclass(frozen=True)
class JobRecord:
    """An asynchronous job (a bulk filing) and its progress.

    Attributes:
        job_id: Stable id.
        kind: What the job does (``filings.bulk``).
        user_id: Who started it.
        tenant: The filer id it works for (``None`` when an administrator started it).
        status: ``queued``, ``running``, ``done`` or ``failed``.
        source: What it reads (the uploaded file's description).
        received: Records read so far.
        accepted: Records accepted so far (duplicates included).
        quarantined: Records quarantined so far.
        duplicates: Records already on file (idempotent re-sends).
        batch_id: The clearance batch id of its writes (chunk ``n`` writes under
            ``<batch_id>.<n>``).
        error: Why it failed, when it did.
        created_at: When it was queued.
        updated_at: Last progress.
        has_result: Whether result lines are stored.
    """

    job_id: str
    kind: str
    user_id: str
    tenant: str | None
    status: str
    source: str | None
    received: int
    accepted: int
    quarantined: int
    duplicates: int
    batch_id: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    has_result: bool


@dataclass(frozen=True)
class JobUpload:
    """How to read a job's stored upload.

    Attributes:
        job_id: The job.
        fmt: Input format (``jsonl``, ``json``, ``csv``, ``postal``).
        column_map: Shipped column map for CSV.
        chunk_size: Records per chunk, fixed when the job was queued so that a resumed job
            cuts the same chunks whatever the settings of the process resuming it.
        size_bytes: Size of the upload.
        sha256: SHA-256 of the upload (checked when it is read back).
        received_at: When it was received: the time of receipt of its filings.
    """

    job_id: str
    fmt: str
    column_map: str | None
    chunk_size: int
    size_bytes: int
    sha256: str
    received_at: datetime


class JobRecords:
    """Bulk jobs, their uploads, checkpoints and claims in ``store``.

    Args:
        store: The platform's store.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    # ---------------------------------------------------------------- progress

    def create_job(
        self, *, job_id: str, kind: str, user_id: str, tenant: str | None, source: str | None
    ) -> JobRecord:
        """Queue a new job with zero counts (and no upload)."""
        with self.store.engine.begin() as conn:
            self._insert_job(conn, job_id, kind, user_id, tenant, source, datetime.now(UTC))
        return self.job(job_id)

    def update_job(
        self,
        job_id: str,
        *,
        status: str | None = None,
        counts: Mapping[str, int] | None = None,
        batch_id: str | None = None,
        error: str | None = None,
        result: bytes | None = None,
    ) -> None:
        """Record a job's progress; only the values given change.

        Args:
            job_id: The job.
            status: New status.
            counts: New totals of ``received``, ``accepted``, ``quarantined``, ``duplicates``.
            batch_id: The clearance batch id.
            error: Why it failed.
            result: The result lines (JSON Lines).
        """
        values: dict[str, Any] = {"updated_at": datetime.now(UTC)}
        if status is not None:
            values["status"] = status
        for key in COUNTS:
            if counts is not None and key in counts:
                values[key] = int(counts[key])
        if batch_id is not None:
            values["batch_id"] = batch_id
        if error is not None:
            values["error"] = error
        if result is not None:
            values["result"] = result
        with self.store.engine.begin() as conn:
            conn.execute(update(t.jobs).where(t.jobs.c.job_id == job_id).values(**values))

    def job(self, job_id: str) -> JobRecord:
        """One job's progress (without its result lines).

        Raises:
            JobNotFoundError: No job has that id.
        """
        j = t.jobs
        cols = [col for col in j.c if col.name != "result"]
        q = select(*cols, j.c.result.is_not(None).label("has_result")).where(j.c.job_id == job_id)
        with self.store.engine.connect() as conn:
            row = conn.execute(q).first()
        if row is None:
            raise JobNotFoundError(f"no job {job_id!r}")
        return JobRecord(
            job_id=row.job_id,
            kind=row.kind,
            user_id=row.user_id,
            tenant=row.tenant,
            status=row.status,
            source=row.source,
            received=row.received,
            accepted=row.accepted,
            quarantined=row.quarantined,
            duplicates=row.duplicates,
            batch_id=row.batch_id,
            error=row.error,
            created_at=row.created_at,
            updated_at=row.updated_at,
            has_result=bool(row.has_result),
        )

    def job_result(self, job_id: str) -> bytes | None:
        """A job's result lines (JSON Lines), ``None`` until the job ended.

        Raises:
            JobNotFoundError: No job has that id.
        """
        with self.store.engine.connect() as conn:
            row = conn.execute(select(t.jobs.c.result).where(t.jobs.c.job_id == job_id)).first()
        if row is None:
            raise JobNotFoundError(f"no job {job_id!r}")
        return None if row.result is None else bytes(row.result)

    # ---------------------------------------------------------------- uploads

    def create_upload_job(
        self,
        upload: BinaryIO,
        *,
        job_id: str,
        kind: str,
        user_id: str,
        tenant: str | None,
        source: str | None,
        fmt: str,
        column_map: str | None,
        chunk_size: int,
        worker: str,
        lease: timedelta,
    ) -> JobRecord:
        """Queue a job with its whole upload, claimed by ``worker``, in one transaction.

        Args:
            upload: The uploaded bytes, read from its current position to its end.
            job_id: Stable id.
            kind: What the job does.
            user_id: Who started it.
            tenant: The filer id it works for.
            source: The upload's description.
            fmt: Input format.
            column_map: Shipped column map for CSV.
            chunk_size: Records per chunk.
            worker: The process that will run it (it holds the claim).
            lease: How long the claim holds before it must be renewed.
        """
        now = datetime.now(UTC)
        digest = hashlib.sha256()
        size = 0
        with self.store.engine.begin() as conn:
            self._insert_job(conn, job_id, kind, user_id, tenant, source, now)
            part_no = 0
            while part := upload.read(UPLOAD_PART_BYTES):
                digest.update(part)
                size += len(part)
                conn.execute(
                    insert(t.job_upload_parts).values(job_id=job_id, part_no=part_no, data=part)
                )
                part_no += 1
            conn.execute(
                insert(t.job_uploads).values(
                    job_id=job_id,
                    fmt=fmt,
                    column_map=column_map,
                    chunk_size=chunk_size,
                    size_bytes=size,
                    sha256=digest.hexdigest(),
                    received_at=now,
                    claimed_by=worker,
                    lease_until=now + lease,
                )
            )
        return self.job(job_id)

    def upload(self, job_id: str) -> JobUpload:
        """How to read the stored upload of a job that has not ended.

        Raises:
            JobNotFoundError: No such job, or it ended (its upload was deleted).
        """
        u = t.job_uploads
        q = select(
            u.c.job_id,
            u.c.fmt,
            u.c.column_map,
            u.c.chunk_size,
            u.c.size_bytes,
            u.c.sha256,
            u.c.received_at,
        ).where(u.c.job_id == job_id)
        with self.store.engine.connect() as conn:
            row = conn.execute(q).first()
        if row is None:
            raise JobNotFoundError(f"no upload for job {job_id!r} (unknown, or it ended)")
        return JobUpload(**row._asdict())

    def copy_upload(self, job_id: str, out: BinaryIO) -> None:
        """Write a job's stored upload to ``out``, one part at a time.

        Raises:
            JobNotFoundError: No upload is stored for the job.
            StoreError: The bytes read back differ from those stored (size or SHA-256).
        """
        meta = self.upload(job_id)
        parts = t.job_upload_parts
        digest = hashlib.sha256()
        size = 0
        with self.store.engine.connect() as conn:
            numbers = conn.execute(
                select(parts.c.part_no).where(parts.c.job_id == job_id).order_by(parts.c.part_no)
            ).scalars()
            for part_no in list(numbers):
                data = conn.execute(
                    select(parts.c.data).where(parts.c.job_id == job_id, parts.c.part_no == part_no)
                ).scalar_one()
                chunk = bytes(data)
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        if size != meta.size_bytes or digest.hexdigest() != meta.sha256:
            raise StoreError(f"the stored upload of job {job_id} is damaged (size or SHA-256)")

    # ---------------------------------------------------------------- claims

    def claim(self, job_id: str, worker: str, *, lease: timedelta) -> bool:
        """Take a job whose claim is free or ran out; ``False`` when another holds it."""
        now = datetime.now(UTC)
        u = t.job_uploads
        with self.store.engine.begin() as conn:
            taken = conn.execute(
                update(u)
                .where(
                    u.c.job_id == job_id,
                    or_(u.c.claimed_by.is_(None), u.c.lease_until < now),
                )
                .values(claimed_by=worker, lease_until=now + lease)
            ).rowcount
        return bool(taken)

    def renew(self, job_id: str, worker: str, *, lease: timedelta) -> bool:
        """Extend ``worker``'s claim; ``False`` when it no longer holds it."""
        with self.store.engine.begin() as conn:
            return self._renew(conn, job_id, worker, datetime.now(UTC) + lease)

    def release(self, job_id: str, worker: str) -> None:
        """Give a claim up (a stopping process), so the next process resumes the job at once."""
        u = t.job_uploads
        with self.store.engine.begin() as conn:
            conn.execute(
                update(u)
                .where(u.c.job_id == job_id, u.c.claimed_by == worker)
                .values(claimed_by=None, lease_until=None)
            )

    def resumable(self) -> list[str]:
        """Jobs not ended whose claim is free or ran out, oldest first."""
        now = datetime.now(UTC)
        u, j = t.job_uploads, t.jobs
        q = (
            select(j.c.job_id)
            .join(u, u.c.job_id == j.c.job_id)
            .where(
                j.c.status.in_(_ACTIVE),
                or_(u.c.claimed_by.is_(None), u.c.lease_until < now),
            )
            .order_by(u.c.received_at, j.c.job_id)
        )
        with self.store.engine.connect() as conn:
            return list(conn.execute(q).scalars())

    # ---------------------------------------------------------------- running

    def start(self, job_id: str, worker: str, *, batch_id: str, lease: timedelta) -> str | None:
        """Mark a claimed job running; its batch id (``batch_id`` unless it had one).

        Returns ``None`` when ``worker`` does not hold the claim.
        """
        with self.store.engine.begin() as conn:
            if not self._renew(conn, job_id, worker, datetime.now(UTC) + lease):
                return None
            had = conn.execute(
                select(t.jobs.c.batch_id).where(t.jobs.c.job_id == job_id)
            ).scalar_one()
            chosen = str(had or batch_id)
            conn.execute(
                update(t.jobs)
                .where(t.jobs.c.job_id == job_id)
                .values(status="running", batch_id=chosen, updated_at=datetime.now(UTC))
            )
        return chosen

    def chunks_done(self, job_id: str) -> int:
        """How many chunks of a job are recorded (they are chunks ``0 .. n-1``)."""
        c = t.job_chunks
        q = select(func.count()).select_from(c).where(c.c.job_id == job_id)
        with self.store.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def record_chunk(
        self,
        job_id: str,
        chunk_no: int,
        counts: Mapping[str, int],
        result: bytes,
        *,
        worker: str,
        lease: timedelta,
    ) -> bool:
        """Checkpoint a cleared chunk and add its counts to the job's, in one transaction.

        Returns ``False`` (nothing written) when ``worker`` no longer holds the claim.
        """
        now = datetime.now(UTC)
        j = t.jobs
        with self.store.engine.begin() as conn:
            if not self._renew(conn, job_id, worker, now + lease):
                return False
            conn.execute(
                insert(t.job_chunks).values(
                    job_id=job_id,
                    chunk_no=chunk_no,
                    result=result,
                    cleared_at=now,
                    **{key: int(counts[key]) for key in COUNTS},
                )
            )
            conn.execute(
                update(j)
                .where(j.c.job_id == job_id)
                .values(updated_at=now, **{key: j.c[key] + int(counts[key]) for key in COUNTS})
            )
        return True

    def finish(self, job_id: str, *, worker: str, error: str | None = None) -> bool:
        """End a job: ``done``, or ``failed`` with ``error``; ``False`` without the claim.

        The result lines of its chunks become the job's result, and its upload, parts and
        checkpoints are deleted, in one transaction.
        """
        now = datetime.now(UTC)
        chunks = t.job_chunks
        with self.store.engine.begin() as conn:
            if not self._renew(conn, job_id, worker, now):
                return False
            parts = conn.execute(
                select(chunks.c.result).where(chunks.c.job_id == job_id).order_by(chunks.c.chunk_no)
            ).scalars()
            result = b"".join(bytes(p) for p in parts)
            conn.execute(
                update(t.jobs)
                .where(t.jobs.c.job_id == job_id)
                .values(
                    status="done" if error is None else "failed",
                    error=error,
                    result=result,
                    updated_at=now,
                )
            )
            for table in (t.job_chunks, t.job_upload_parts, t.job_uploads):
                conn.execute(delete(table).where(table.c.job_id == job_id))
        return True

    def stored_by_batch(self, batch_id: str, filing_ids: Sequence[str]) -> set[str]:
        """Which of ``filing_ids`` are on file from the clearance batch ``batch_id``."""
        f = t.filings
        wanted = list(dict.fromkeys(filing_ids))
        found: set[str] = set()
        with self.store.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                q = select(f.c.filing_id).where(
                    f.c.batch_id == batch_id, f.c.filing_id.in_(wanted[start : start + _IN_CHUNK])
                )
                found.update(conn.execute(q).scalars())
        return found

    # ---------------------------------------------------------------- internals

    @staticmethod
    def _insert_job(
        conn: Connection,
        job_id: str,
        kind: str,
        user_id: str,
        tenant: str | None,
        source: str | None,
        now: datetime,
    ) -> None:
        conn.execute(
            insert(t.jobs).values(
                job_id=job_id,
                kind=kind,
                user_id=user_id,
                tenant=tenant,
                status="queued",
                source=source,
                created_at=now,
                updated_at=now,
                **dict.fromkeys(COUNTS, 0),
            )
        )

    @staticmethod
    def _renew(conn: Connection, job_id: str, worker: str, until: datetime) -> bool:
        u = t.job_uploads
        held = conn.execute(
            update(u)
            .where(u.c.job_id == job_id, u.c.claimed_by == worker)
            .values(lease_until=until)
        ).rowcount
        return bool(held)
