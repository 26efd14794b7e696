"""Quarantined filings: every problem shown, corrected and resubmitted, the filer-id rule."""

from __future__ import annotations

import orjson

from tests.api.conftest import Api
from tests.api.test_filings import (
    OTHER_FILER_ID,
    assert_problem,
    bad_filing,
    filing,
    submit,
)


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
