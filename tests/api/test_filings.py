"""Filer routes: one filing, customs responses, tenant isolation, audit.

The helpers here (``filing``, ``bad_filing``, ``submit``, ``assert_problem``) serve the other
filer tests too (``test_jobs``, ``test_quarantine``).
"""

from __future__ import annotations

import json
from typing import Any, cast

import orjson
import pytest

from smartcustoms.access import Role
from smartcustoms.api import create_app
from smartcustoms.platform import SmartCustoms
from smartcustoms.testing import make_filing
from tests.api.conftest import USERS, Api

FILER_ID = str(cast("dict[str, object]", USERS["filer"])["filer_id"])
OTHER_FILER_ID = str(cast("dict[str, object]", USERS["other_filer"])["filer_id"])
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


def test_a_filing_over_the_size_limit_is_refused_and_nothing_is_kept(api: Api) -> None:
    """413 filing.too_large for a declared or a streamed size, on submission and resubmission."""
    from collections.abc import Iterator

    from fastapi.testclient import TestClient

    from smartcustoms.api import create_app
    from smartcustoms.config import load_settings
    from smartcustoms.platform import SmartCustoms

    body = orjson.dumps(filing("BIG-1"))
    small = SmartCustoms(
        load_settings(
            database_url=api.platform.settings.database_url, max_filing_bytes=len(body) - 1
        )
    )
    headers = {**api.headers["filer"], "Content-Type": "application/json"}
    try:
        with TestClient(create_app(small, portal=False)) as client:
            declared = client.post("/api/v1/filings", content=body, headers=headers)
            problem = assert_problem(declared, 413, "filing.too_large")
            assert "SMARTCUSTOMS_MAX_FILING_BYTES" in problem["detail"]

            def streamed() -> Iterator[bytes]:
                yield body[:100]
                yield body[100:]

            chunked = client.post("/api/v1/filings", content=streamed(), headers=headers)
            assert_problem(chunked, 413, "filing.too_large")
            again = client.post(
                "/api/v1/quarantine/q0000000000000000/resubmit", content=body, headers=headers
            )
            assert_problem(again, 413, "filing.too_large")
            counts = small.store.counts()
            assert counts["filings"] == 0 and counts["quarantine"] == 0
            codes = {p["code"] for p in client.get("/api/v1/problems").json()}
            assert "filing.too_large" in codes
    finally:
        small.close()


def test_the_service_builds_its_fast_path_as_it_starts(
    platform: SmartCustoms, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first filing after a start does not wait for the fast path to be built."""
    from fastapi.testclient import TestClient

    from tests.clearance.test_batcher import _count_engine_builds

    builds = _count_engine_builds(monkeypatch)
    platform.access.add_user("starter", Role.FILER, filer_id="GB123456789000")
    token = platform.access.issue_key("starter").token
    app = create_app(platform, portal=False)
    assert builds == []
    with TestClient(app) as client:
        assert builds == [1]  # during start-up, before any request
        answer = client.post(
            "/api/v1/filings",
            content=orjson.dumps(filing("START-1")),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 201, answer.text
    assert builds == [1]
    assert app.state.decisions.fast_filings == 1
