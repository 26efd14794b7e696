"""Bulk files as jobs: progress, result lines, formats, failures, durability and resumption."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from smartcustoms.api import create_app
from smartcustoms.api.routers.jobs import BulkJobWorker
from smartcustoms.config import load_settings
from smartcustoms.platform import SmartCustoms
from smartcustoms.store import tables as t
from smartcustoms.store.jobs import JobRecords
from smartcustoms.synth import TrafficConfig, write_traffic
from tests.api.conftest import Api
from tests.api.test_filings import (
    FILER_ID,
    OTHER_FILER_ID,
    assert_problem,
    bad_filing,
    filing,
)

OUTCOMES = [*["accepted"] * 4, "quarantined", "quarantined", "duplicate"]
"""Outcomes of the lines of :func:`bulk_file`, in order."""


def bulk_file() -> bytes:
    """Seven records: four good filings, two rejected ones, and the first one again."""
    records = [filing(f"B-{i}") for i in range(4)]
    records.append(bad_filing("B-BAD"))
    records.append(filing("B-THEIRS", filer_id=OTHER_FILER_ID))
    records.append(filing("B-0"))  # repeated in the file: a duplicate
    return b"\n".join(orjson.dumps(r) for r in records) + b"\n"


def wait_for(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """The job's progress once it ended (or after 60 s)."""
    deadline = time.monotonic() + 60
    while True:
        progress: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if progress["status"] in ("done", "failed") or time.monotonic() > deadline:
            return progress
        time.sleep(0.05)


def test_a_bulk_job_clears_a_file_and_reports_progress_and_results(api: Api) -> None:
    body = bulk_file()
    r = api.client.post(
        "/api/v1/filings/bulk",
        content=body,
        headers={**api.headers["filer"], "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    assert r.headers["location"] == f"/api/v1/jobs/{job_id}"
    assert r.json()["status"] == "queued"

    progress = wait_for(api.client, job_id, api.headers["filer"])
    assert progress["status"] == "done", progress
    assert (progress["received"], progress["accepted"], progress["quarantined"]) == (7, 5, 2)
    assert progress["duplicates"] == 1 and progress["error"] is None
    assert progress["result_url"] == f"/api/v1/jobs/{job_id}/result"

    result = api.client.get(progress["result_url"], headers=api.headers["filer"])
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in result.text.splitlines()]
    assert [line["outcome"] for line in lines] == OUTCOMES
    assert all(line["response"]["lane"] for line in lines if line["outcome"] != "quarantined")
    rejected = {line["filing_id"]: line for line in lines if line["status"] == "reject"}
    assert {p["code"] for p in rejected["B-BAD"]["problems"]} == {"hs.unknown", "currency.unknown"}
    assert [p["code"] for p in rejected["B-THEIRS"]["problems"]] == ["filing.filer_mismatch"]
    assert "risk_score" not in result.text and "rule_hits" not in result.text
    listed = api.client.get("/api/v1/quarantine", headers=api.headers["filer"]).json()
    assert {e["filing_id"] for e in listed} == {"B-BAD", "B-THEIRS"}


def test_a_bulk_csv_file_from_the_traffic_generator(api: Api, tmp_path: Path, seed: int) -> None:
    """Synthetic traffic in the canonical CSV layout, filed under the filer's own id."""
    write_traffic(TrafficConfig(consignments=20, seed=seed), tmp_path / "t.csv", fmt="csv")
    rows = pl.read_csv(tmp_path / "t.csv", infer_schema=False)
    body = rows.with_columns(pl.lit(FILER_ID).alias("filer_id")).write_csv().encode()
    filings = rows["filing_id"].n_unique()
    r = api.client.post(
        "/api/v1/filings/bulk",
        content=body,
        headers={**api.headers["filer"], "Content-Type": "text/csv; charset=utf-8"},
    )
    assert r.status_code == 202, r.text
    counts = wait_for(api.client, r.json()["job_id"], api.headers["filer"])
    assert counts["status"] == "done", counts
    assert counts["received"] == filings == counts["accepted"] + counts["quarantined"]
    assert counts["accepted"] > 0
    lines = api.client.get(f"/api/v1/jobs/{counts['job_id']}/result", headers=api.headers["filer"])
    assert len(lines.text.splitlines()) >= filings


def test_a_bulk_job_needs_a_known_format_and_map(api: Api) -> None:
    h = api.headers["filer"]
    r = api.client.post(
        "/api/v1/filings/bulk", content=b"x", headers={**h, "Content-Type": "text/plain"}
    )
    assert_problem(r, 415, "request.media_type")
    r = api.client.post(
        "/api/v1/filings/bulk?format=csv&column_map=/etc/passwd", content=b"a,b\n", headers=h
    )
    assert_problem(r, 422, "input.invalid")


def test_a_failing_job_records_its_error(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kw: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(api.platform, "clearance", explode)
    r = api.client.post(
        "/api/v1/filings/bulk?format=jsonl",
        content=orjson.dumps(filing("B-1")),
        headers=api.headers["filer"],
    )
    job = wait_for(api.client, r.json()["job_id"], api.headers["filer"])
    assert job["status"] == "failed"
    assert job["error"] == "RuntimeError: disk full"


def test_an_app_run_without_its_lifespan_runs_jobs_after_the_answer(api: Api) -> None:
    """No worker thread (the lifespan never ran): the job runs as a background task."""
    client = TestClient(create_app(api.platform, portal=False))  # no `with`: no lifespan
    r = client.post(
        "/api/v1/filings/bulk",
        content=bulk_file(),
        headers={**api.headers["filer"], "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 202
    progress = client.get(f"/api/v1/jobs/{r.json()['job_id']}", headers=api.headers["filer"])
    assert progress.json()["status"] == "done"
    assert progress.json()["received"] == 7


def test_an_upload_over_the_limit_is_refused_before_anything_is_stored(api: Api) -> None:
    """413 filing.too_large, whether the size is declared up front or only streamed."""
    small = SmartCustoms(
        load_settings(database_url=api.platform.settings.database_url, max_upload_bytes=100)
    )
    headers = {**api.headers["filer"], "Content-Type": "application/x-ndjson"}
    try:
        with TestClient(create_app(small, portal=False)) as client:
            declared = client.post("/api/v1/filings/bulk", content=b"x" * 101, headers=headers)
            body = assert_problem(declared, 413, "filing.too_large")
            assert "SMARTCUSTOMS_MAX_UPLOAD_BYTES" in body["detail"]

            def streamed() -> Iterator[bytes]:
                yield from [b"x" * 60, b"x" * 60]

            chunked = client.post("/api/v1/filings/bulk", content=streamed(), headers=headers)
            assert_problem(chunked, 413, "filing.too_large")
            assert small.store.counts()["jobs"] == 0
            ok = client.post(
                "/api/v1/filings/bulk",
                content=orjson.dumps(filing("B-1", items=1))[:100],
                headers=headers,
            )
            assert ok.status_code == 202, ok.text
    finally:
        small.close()


# ------------------------------------------------------------------------------ durability


def expire_claims(platform: SmartCustoms) -> None:
    """The process holding the jobs died a while ago: every lease has run out."""
    with platform.store.engine.begin() as conn:
        conn.execute(
            update(t.job_uploads).values(lease_until=datetime.now(UTC) - timedelta(minutes=5))
        )


def assert_cleared_once(platform: SmartCustoms) -> None:
    """Each accepted filing stored once, with as many events and decisions as the others."""
    counts = platform.store.counts()
    assert (counts["filings"], counts["consignments"], counts["risk_decisions"]) == (4, 4, 4)
    assert counts["quarantine"] == 2
    assert counts["job_uploads"] == counts["job_upload_parts"] == counts["job_chunks"] == 0
    ev = t.lifecycle_events
    with platform.store.engine.connect() as conn:
        per_consignment = conn.execute(
            select(ev.c.consignment_id, func.count()).group_by(ev.c.consignment_id)
        ).all()
    assert len({n for _, n in per_consignment}) == 1, per_consignment


class Crash(BaseException):
    """The process dies (not an error the job could record)."""


def test_a_job_killed_between_chunks_is_resumed_by_the_next_process(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after chunk 1 was stored but before it was recorded: the worst moment.

    The next process clears chunk 1 again (its filings are already on file: nothing is
    stored twice, and they are reported accepted, not duplicates), then the rest; counts
    and result lines are those of a run that never stopped.
    """
    url = api.platform.settings.database_url
    api.client.app.state.bulk_job_worker.stop()  # type: ignore[attr-defined]
    first = SmartCustoms(load_settings(database_url=url, chunk_size=2))
    dying = BulkJobWorker(first)
    principal = api.platform.access.authenticate_key(api.headers["filer"]["Authorization"][7:])
    job, claim = dying.submit(
        io.BytesIO(bulk_file()),
        principal=principal,
        tenant=principal.filer_id,
        fmt="jsonl",
        column_map=None,
        size=len(bulk_file()),
    )
    real_record = JobRecords.record_chunk

    def record_or_die(self: JobRecords, job_id: str, chunk_no: int, *a: Any, **kw: Any) -> bool:
        if chunk_no == 1:
            raise Crash
        return real_record(self, job_id, chunk_no, *a, **kw)

    monkeypatch.setattr(JobRecords, "record_chunk", record_or_die)
    with pytest.raises(Crash):
        dying.run(job.job_id, claim)
    monkeypatch.setattr(JobRecords, "record_chunk", real_record)
    first.close()

    records = JobRecords(api.platform.store)
    left = records.job(job.job_id)
    assert (left.status, left.received, records.chunks_done(job.job_id)) == ("running", 2, 1)
    # chunk 0 (B-0, B-1) stored and recorded; chunk 1 (B-2, B-3) stored, not recorded
    assert api.platform.store.counts()["filings"] == 4
    assert records.resumable() == []  # the dead process's lease still holds
    expire_claims(api.platform)

    second = SmartCustoms(load_settings(database_url=url))
    try:
        with TestClient(create_app(second, portal=False)) as client:
            progress = wait_for(client, job.job_id, api.headers["filer"])
            result = client.get(f"/api/v1/jobs/{job.job_id}/result", headers=api.headers["filer"])
    finally:
        second.close()
    assert progress["status"] == "done", progress
    assert (progress["received"], progress["accepted"], progress["quarantined"]) == (7, 5, 2)
    assert progress["duplicates"] == 1
    lines = [json.loads(line) for line in result.text.splitlines()]
    assert [line["outcome"] for line in lines] == OUTCOMES
    assert [line["filing_id"] for line in lines][:4] == ["B-0", "B-1", "B-2", "B-3"]
    assert all(line["response"]["lane"] for line in lines if line["outcome"] != "quarantined")
    assert_cleared_once(api.platform)
    resumed = [e for e in api.platform.store.audit_entries() if e["action"] == "job.resume"]
    assert [json.loads(e["details"])["from_chunk"] for e in resumed] == [1]


def test_a_job_whose_process_died_before_it_ran_is_run_by_the_next(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 202 means the file is in the database: the job survives its process."""
    monkeypatch.setattr(BulkJobWorker, "run", lambda *args: None)  # died after the 202
    r = api.client.post(
        "/api/v1/filings/bulk",
        content=bulk_file(),
        headers={**api.headers["filer"], "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 202
    job_id = r.json()["job_id"]
    counts = api.platform.store.counts()
    assert (counts["job_uploads"], counts["job_upload_parts"], counts["filings"]) == (1, 1, 0)
    api.client.app.state.bulk_job_worker.stop()  # type: ignore[attr-defined]
    monkeypatch.undo()
    expire_claims(api.platform)

    later = SmartCustoms(load_settings(database_url=api.platform.settings.database_url))
    try:
        with TestClient(create_app(later, portal=False)) as client:
            progress = wait_for(client, job_id, api.headers["filer"])
    finally:
        later.close()
    assert progress["status"] == "done", progress
    assert (progress["received"], progress["accepted"], progress["duplicates"]) == (7, 5, 1)
    assert_cleared_once(api.platform)


def test_a_claim_is_taken_once_and_only_when_free_or_run_out(api: Api) -> None:
    """A live process's job is left alone; a stopping process hands its job over at once."""
    principal = api.platform.access.authenticate_key(api.headers["admin"]["Authorization"][7:])
    owner, other = BulkJobWorker(api.platform), BulkJobWorker(api.platform)
    job, claim = owner.submit(
        io.BytesIO(bulk_file()),
        principal=principal,
        tenant=None,
        fmt="jsonl",
        column_map=None,
        size=len(bulk_file()),
    )
    assert other.resume_pending() == []  # the owner's lease holds
    owner.stop()
    owner.run(job.job_id, claim)  # stopping: releases the claim before the first chunk
    records = JobRecords(api.platform.store)
    assert records.job(job.job_id).status == "running"
    assert records.resumable() == [job.job_id]
    assert records.claim(job.job_id, "a", lease=timedelta(minutes=1))
    assert not records.claim(job.job_id, "b", lease=timedelta(minutes=1))
    assert records.record_chunk(job.job_id, 0, {}, b"", worker="b", lease=timedelta(0)) is False
    records.release(job.job_id, "a")
    assert other.resume_pending() == [job.job_id]
    done = records.job(job.job_id)
    # an administrator may file under any filer id: only B-BAD is rejected
    assert (done.status, done.received, done.accepted, done.duplicates) == ("done", 7, 6, 1)
