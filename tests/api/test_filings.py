"""Filer routes: submission, responses, quarantine, bulk jobs, tenant isolation, audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

from smartcustoms.synth import TrafficConfig, write_traffic
from smartcustoms.testing import make_filing
from tests.api.conftest import USERS, Api

FILER_ID = str(USERS["filer"]["filer_id"])
OTHER_FILER_ID = str(USERS["other_filer"]["filer_id"])
CUSRSP_KEYS = {"consignment_id", "filing_id", "status", "lane", "duties", "reasons", "data_quality"}


def filing(filing_id: str, filer_id: str = FILER_ID, **kw: Any) -> dict[str, Any]:
    """A valid filing filed under ``filer_id``."""
    f = make_filing(filing_id, **kw)
    f["filer"]["id"] = filer_id
    return f


def bad_filing(filing_id: str, filer_id: str = FILER_ID) -> dict[str, Any]:
    """A filing with two errors: an unknown HS code and an unknown currency."""
    f = filing(filing_id, filer_id)
    f["consignments"][0]["items"][0]["hs_code"] = "610950"
    f["consignments"][0]["currency"] = "XYZ"
    return f


def submit(api: Api, body: dict[str, Any], user: str = "filer") -> Any:
    return api.client.post("/api/v1/filings", json=body, headers=api.headers[user])


def assert_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    """The response is RFC 9457 problem details with ``status`` and ``code``."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert {"type", "title", "status", "detail", "instance", "code", "problems"} <= set(body)
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"/problems/{code}"
    return body


def audit_actions(api: Api, actor: str) -> list[tuple[str, str | None]]:
    return [
        (e["action"], e["subject_id"])
        for e in api.platform.store.audit_entries(limit=500)
        if e["actor"] == actor
    ]


def test_an_accepted_filing_gets_its_lane_and_duties(api: Api) -> None:
    r = submit(api, filing("F-1", consignments=2))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["filing_id"] == "F-1" and body["duplicate"] is False
    responses = body["consignments"]
    assert [c["consignment_id"] for c in responses] == ["F-1-C1", "F-1-C2"]
    for c in responses:
        assert set(c) == CUSRSP_KEYS
        assert c["lane"] in ("green", "blue", "yellow", "red")
        assert c["status"] == ("release" if c["lane"] in ("green", "blue") else "hold")
        assert c["duties"]["currency"] == "EUR"
        assert c["duties"]["duty"] == "3.0000" and c["duties"]["total_payable"] == "8.5600"
        assert c["data_quality"]["score"] == 100 and c["data_quality"]["warnings"] == []


def test_reasons_hold_lane_words_only(api: Api) -> None:
    """No rule ids, model internals, feature contributions or watch lists reach a filer."""
    r = submit(api, filing("F-1"))
    (c,) = r.json()["consignments"]
    assert [set(reason) for reason in c["reasons"]] == [{"code", "text"}]
    assert c["reasons"][0]["code"] == f"lane.{c['lane']}"
    text = json.dumps(c)
    for secret in ("rule", "model", 'score":', "random", "watch", "contribution", "basis"):
        assert secret not in text.replace('"score": 100', "")


def test_a_rejected_filing_lists_every_problem_and_can_be_corrected(api: Api) -> None:
    r = submit(api, bad_filing("BAD-1"))
    body = assert_problem(r, 422, "filing.invalid")
    assert {p["code"] for p in body["problems"]} == {"hs.unknown", "currency.unknown"}
    assert all(p["path"] and p["message"] for p in body["problems"])
    qid = body["quarantine_id"]
    assert qid and qid in body["detail"]
    assert api.platform.store.consignment_outcomes(["BAD-1-C1"]) == {}

    shown = api.client.get(f"/api/v1/quarantine/{qid}", headers=api.headers["filer"])
    assert shown.status_code == 200
    assert shown.json()["problem_codes"] == ["currency.unknown", "hs.unknown"]
    assert orjson.loads(shown.json()["payload"]) == bad_filing("BAD-1")
    listed = api.client.get("/api/v1/quarantine", headers=api.headers["filer"]).json()
    assert [e["quarantine_id"] for e in listed] == [qid]

    still_bad = filing("BAD-1")
    still_bad["consignments"][0]["items"][0]["hs_code"] = "610950"
    again = api.client.post(
        f"/api/v1/quarantine/{qid}/resubmit", json=still_bad, headers=api.headers["filer"]
    )
    again_body = assert_problem(again, 422, "filing.invalid")
    assert [p["code"] for p in again_body["problems"]] == ["hs.unknown"]
    assert again_body["quarantine_id"] == qid

    fixed = api.client.post(
        f"/api/v1/quarantine/{qid}/resubmit", json=filing("BAD-1"), headers=api.headers["filer"]
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["filing_id"] == "BAD-1"
    assert [c["consignment_id"] for c in fixed.json()["consignments"]] == ["BAD-1-C1"]
    entry = api.platform.store.quarantine_entry(qid)
    assert entry.status == "resolved" and entry.attempts == 3
    closed = api.client.post(
        f"/api/v1/quarantine/{qid}/resubmit", json=filing("BAD-1"), headers=api.headers["filer"]
    )
    assert_problem(closed, 409, "quarantine.closed")


def test_a_filing_of_another_filer_is_quarantined_as_a_mismatch(api: Api) -> None:
    r = submit(api, filing("F-X", filer_id=OTHER_FILER_ID))
    body = assert_problem(r, 422, "filing.invalid")
    assert [(p["code"], p["path"]) for p in body["problems"]] == [
        ("filing.filer_mismatch", "filer.id")
    ]
    assert api.platform.store.counts()["filings"] == 0
    entry = api.platform.store.quarantine_entry(body["quarantine_id"])
    assert entry.tenant == FILER_ID
    # the other filer never sees it; correcting the filer id gets it accepted
    other = api.client.get("/api/v1/quarantine", headers=api.headers["other_filer"])
    assert other.json() == []
    fixed = api.client.post(
        f"/api/v1/quarantine/{body['quarantine_id']}/resubmit",
        json=filing("F-X"),
        headers=api.headers["filer"],
    )
    assert fixed.status_code == 200


def test_a_resubmission_under_another_filer_id_is_refused(api: Api) -> None:
    qid = submit(api, bad_filing("BAD-1")).json()["quarantine_id"]
    r = api.client.post(
        f"/api/v1/quarantine/{qid}/resubmit",
        json=filing("BAD-1", filer_id=OTHER_FILER_ID),
        headers=api.headers["filer"],
    )
    body = assert_problem(r, 422, "filing.invalid")
    assert [p["code"] for p in body["problems"]] == ["filing.filer_mismatch"]
    assert api.platform.store.counts()["filings"] == 0


def test_sending_the_same_filing_again_is_idempotent(api: Api) -> None:
    first = submit(api, filing("F-1"))
    assert first.status_code == 201
    again = submit(api, filing("F-1"))
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["consignments"] == first.json()["consignments"]
    assert api.platform.store.counts()["filings"] == 1
    changed = filing("F-1", item_value="13.00")
    conflict = assert_problem(submit(api, changed), 422, "filing.invalid")
    assert [p["code"] for p in conflict["problems"]] == ["filing.conflict"]


def test_one_filing_per_request_and_a_body_is_required(api: Api) -> None:
    r = api.client.post(
        "/api/v1/filings", json=[filing("F-1"), filing("F-2")], headers=api.headers["filer"]
    )
    assert_problem(r, 422, "input.invalid")
    r = api.client.post("/api/v1/filings", content=b"", headers=api.headers["filer"])
    assert_problem(r, 422, "input.invalid")
    assert api.platform.store.counts()["quarantine"] == 0


def test_malformed_json_is_kept_in_quarantine(api: Api) -> None:
    r = api.client.post(
        "/api/v1/filings", content=b'{"filing_id": "F-1", ', headers=api.headers["filer"]
    )
    body = assert_problem(r, 422, "filing.invalid")
    assert body["quarantine_id"] and body["problems"][0]["code"] == "file.truncated"


def test_another_filer_gets_404_exactly_like_an_unknown_id(api: Api) -> None:
    submit(api, filing("F-1"))
    qid = submit(api, bad_filing("BAD-1")).json()["quarantine_id"]
    job = api.client.post(
        "/api/v1/filings/bulk",
        content=orjson.dumps(filing("B-1")),
        headers={**api.headers["filer"], "Content-Type": "application/x-ndjson"},
    ).json()["job_id"]
    other = api.headers["other_filer"]
    cases = [
        ("get", "/api/v1/consignments/{}/response", "F-1-C1", "NOPE-C1", "consignment.not_found"),
        ("get", "/api/v1/quarantine/{}", qid, "q" + "0" * 31, "quarantine.not_found"),
        ("post", "/api/v1/quarantine/{}/resubmit", qid, "q" + "0" * 31, "quarantine.not_found"),
        ("get", "/api/v1/jobs/{}", job, "j" + "0" * 31, "job.not_found"),
        ("get", "/api/v1/jobs/{}/result", job, "j" + "0" * 31, "job.not_found"),
    ]
    for method, route, theirs, unknown, code in cases:
        kw: dict[str, Any] = {"headers": other}
        if method == "post":
            kw["json"] = filing("BAD-1", filer_id=OTHER_FILER_ID)
        hidden = api.client.request(method, route.format(theirs), **kw)
        missing = api.client.request(method, route.format(unknown), **kw)
        h, m = assert_problem(hidden, 404, code), assert_problem(missing, 404, code)
        assert h["detail"].replace(theirs, "ID") == m["detail"].replace(unknown, "ID")
        assert set(h) == set(m)
    # the owner and an administrator do see them
    for user in ("filer", "admin"):
        assert api.client.get(f"/api/v1/quarantine/{qid}", headers=api.headers[user]).is_success
        r = api.client.get("/api/v1/consignments/F-1-C1/response", headers=api.headers[user])
        assert r.status_code == 200 and set(r.json()) == CUSRSP_KEYS
    assert (
        api.platform.store.quarantine_entry(qid).attempts == 1
    )  # the refused resubmit did nothing


@pytest.mark.parametrize("user", ["officer", "analyst", "partner"])
def test_other_roles_are_forbidden(api: Api, user: str) -> None:
    r = api.client.get("/api/v1/quarantine", headers=api.headers[user])
    assert_problem(r, 403, "auth.forbidden")
    assert_problem(submit(api, filing("F-1"), user=user), 403, "auth.forbidden")


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


def test_reads_and_writes_land_in_the_audit_log(api: Api) -> None:
    submit(api, filing("F-1"))
    qid = submit(api, bad_filing("BAD-1")).json()["quarantine_id"]
    api.client.get("/api/v1/consignments/F-1-C1/response", headers=api.headers["filer"])
    api.client.get(f"/api/v1/quarantine/{qid}", headers=api.headers["filer"])
    api.client.get("/api/v1/quarantine", headers=api.headers["filer"])
    api.client.post(
        f"/api/v1/quarantine/{qid}/resubmit", json=filing("BAD-1"), headers=api.headers["filer"]
    )
    api.client.get("/api/v1/consignments/F-1-C1/response", headers=api.headers["other_filer"])
    mine = audit_actions(api, "filer")
    for entry in [
        ("filing.submit", "F-1"),
        ("filing.submit", "BAD-1"),
        ("consignment.read", "F-1-C1"),
        ("quarantine.read", qid),
        ("quarantine.list", None),
        ("quarantine.resubmit", qid),
    ]:
        assert entry in mine
    assert ("consignment.read", "F-1-C1") in audit_actions(api, "other_filer")
    denied = [
        e
        for e in api.platform.store.audit_entries()
        if e["actor"] == "other_filer" and e["action"] == "consignment.read"
    ]
    assert json.loads(denied[0]["details"])["found"] is False


def test_the_openapi_document_describes_the_filing_body(api: Api) -> None:
    doc = api.client.get("/api/v1/openapi.json").json()
    body = doc["paths"]["/api/v1/filings"]["post"]["requestBody"]["content"]["application/json"]
    assert "$ref" not in json.dumps(body)
    assert {"filing_id", "filer", "consignments"} <= set(body["schema"]["properties"])
    responses = doc["paths"]["/api/v1/filings"]["post"]["responses"]
    assert {"200", "201", "422"} <= set(responses)


def test_an_item_number_beyond_64_bits_is_a_problem_not_a_crash(api: Api) -> None:
    """Found by the schema fuzzer: the number used to overflow the integer conversion."""
    f = filing("F-BIG")
    f["consignments"][0]["items"][1]["item_no"] = 9223372036854775719
    f["consignments"][0]["items"][1]["value"] = 12.4  # clashes with "12.40": read as text
    body = assert_problem(submit(api, f), 422, "filing.invalid")
    assert "value.not_integer" in {p["code"] for p in body["problems"]}


def test_a_nul_character_is_refused_before_the_store(api: Api) -> None:
    """Found by the schema fuzzer: PostgreSQL text cannot hold U+0000."""
    r = submit(api, filing("F-\u0000"))
    assert_problem(r, 422, "input.invalid")
    assert api.platform.store.counts()["quarantine"] == 0
