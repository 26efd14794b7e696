"""Bulk files as jobs: progress, result lines, formats, failures."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import polars as pl
import pytest

from smartcustoms.synth import TrafficConfig, write_traffic
from tests.api.conftest import Api
from tests.api.test_filings import (
    FILER_ID,
    OTHER_FILER_ID,
    assert_problem,
    bad_filing,
    filing,
)


def test_a_bulk_job_clears_a_file_and_reports_progress_and_results(api: Api) -> None:
    records = [filing(f"B-{i}") for i in range(4)]
    records.append(bad_filing("B-BAD"))
    records.append(filing("B-THEIRS", filer_id=OTHER_FILER_ID))
    records.append(filing("B-0"))  # repeated in the file: a duplicate
    body = b"\n".join(orjson.dumps(r) for r in records) + b"\n"
    r = api.client.post(
        "/api/v1/filings/bulk",
        content=body,
        headers={**api.headers["filer"], "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    assert r.headers["location"] == f"/api/v1/jobs/{job_id}"
    assert r.json()["status"] == "queued"

    progress = api.client.get(f"/api/v1/jobs/{job_id}", headers=api.headers["filer"]).json()
    assert progress["status"] == "done", progress
    assert (progress["received"], progress["accepted"], progress["quarantined"]) == (7, 5, 2)
    assert progress["duplicates"] == 1 and progress["error"] is None
    assert progress["result_url"] == f"/api/v1/jobs/{job_id}/result"

    result = api.client.get(progress["result_url"], headers=api.headers["filer"])
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in result.text.splitlines()]
    assert [line["outcome"] for line in lines] == [
        *["accepted"] * 4,
        "quarantined",
        "quarantined",
        "duplicate",
    ]
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
    job = api.client.get(f"/api/v1/jobs/{r.json()['job_id']}", headers=api.headers["filer"])
    counts = job.json()
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
    job = api.client.get(f"/api/v1/jobs/{r.json()['job_id']}", headers=api.headers["filer"])
    assert job.json()["status"] == "failed"
    assert job.json()["error"] == "RuntimeError: disk full"
