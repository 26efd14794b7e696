"""Analyst routes: rules checks, uploads and activation, training, models, evaluation, drift."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from smartcustoms.risk.rules import example_rules_path
from smartcustoms.synth import TrafficConfig, write_traffic
from smartcustoms.testing import make_filing
from tests.api.conftest import Api
from tests.rulesets_text import MARKER_LISTS, MARKER_RULES

V1 = "/api/v1"
START = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

BROKEN_RULES = """\
id = "broken"
version = "1"

[[rules]]
id = "no-action"
description = "forgets its action"
effective_from = 2026-01-01
when = { hs_code = { prefix = "61" } }

[[rules]]
id = "bad-field"
description = "tests a column that does not exist"
effective_from = 2026-01-01
lane = "red"
when = { colour = "red" }
"""


def _assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is a problem-details document with ``status`` and ``code``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["status"] == status
    assert body["type"] == f"/problems/{code}" and body["instance"] == response.request.url.path
    return body


def _example_upload() -> dict[str, Any]:
    """The shipped example rules and the watch lists they declare, as an upload."""
    rules = example_rules_path()
    return {
        "rules": {"name": rules.name, "content": rules.read_text(encoding="utf-8")},
        "watchlists": [
            {"name": "example-watchlists.toml", "content": p.read_text(encoding="utf-8")}
            for p in [rules.parent / "example-watchlists.toml"]
        ],
        "today": "2026-11-22",
    }


# ---------------------------------------------------------------- rules


def test_the_example_rules_check_valid(api: Api) -> None:
    r = api.client.post(f"{V1}/rules/check", headers=api.headers["analyst"], json=_example_upload())
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["valid"] is True and report["errors"] == 0
    assert report["warnings"] == len(report["problems"])


def test_broken_rules_are_a_200_report_with_every_problem_and_line(api: Api) -> None:
    r = api.client.post(
        f"{V1}/rules/check",
        headers=api.headers["analyst"],
        json={"rules": {"name": "mine.toml", "content": BROKEN_RULES}},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["valid"] is False and report["errors"] >= 2
    by_code = {p["code"]: p for p in report["problems"]}
    assert by_code["rules.missing_action"]["path"].startswith("mine.toml:")
    assert by_code["rules.unknown_field"]["path"] == "mine.toml:15"
    # the server's temporary folder never shows
    assert all("smartcustoms-rules-" not in p["path"] + p["message"] for p in report["problems"])


def test_a_missing_watch_list_is_reported_by_name(api: Api) -> None:
    upload = _example_upload()
    upload["watchlists"] = []
    report = api.client.post(f"{V1}/rules/check", headers=api.headers["admin"], json=upload).json()
    assert report["valid"] is False
    unreadable = [p for p in report["problems"] if p["code"] == "rules.unreadable"]
    assert unreadable and unreadable[0]["path"] == "example-watchlists.toml"
    assert all("smartcustoms-rules-" not in p["message"] for p in report["problems"])


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/hosts", "sub/lists.toml"])
def test_rules_cannot_make_the_server_read_other_files(api: Api, name: str) -> None:
    content = f'id = "x"\nversion = "1"\nwatchlists = ["{name}"]\n'
    r = api.client.post(
        f"{V1}/rules/check",
        headers=api.headers["analyst"],
        json={"rules": {"name": "rules.toml", "content": content}},
    )
    report = r.json()
    assert r.status_code == 200 and report["valid"] is False
    assert [p["code"] for p in report["problems"]] == ["rules.invalid_value"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"rules": {"name": "../rules.toml", "content": ""}},
        {"rules": {"name": "a.toml", "content": ""}, "watchlists": [{"name": "a.toml"}]},
    ],
)
def test_uncheckable_requests_are_422_problems(api: Api, body: dict[str, Any]) -> None:
    r = api.client.post(f"{V1}/rules/check", headers=api.headers["analyst"], json=body)
    assert _assert_problem(r, 422, "request.invalid")["problems"]


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        ({"rules": {"name": "r.toml", "content": "a = " + "[" * 50_000}}, "rules.syntax"),
        (
            {
                "rules": {"name": "r.toml", "content": 'id = "x"'},
                "watchlists": [{"name": "w.toml", "content": "a = " + "[" * 50_000}],
            },
            "rules.syntax",
        ),
    ],
)
def test_hostile_files_are_reported_not_crashed_on(
    api: Api, upload: dict[str, Any], code: str
) -> None:
    r = api.client.post(f"{V1}/rules/check", headers=api.headers["analyst"], json=upload)
    assert r.status_code == 200, r.text
    assert code in {p["code"] for p in r.json()["problems"]}


def test_text_that_is_not_unicode_is_a_request_problem(api: Api) -> None:
    raw = b'{"rules": {"name": "r.toml", "content": "id = \\"\\ud800\\""}}'
    headers = {**api.headers["analyst"], "Content-Type": "application/json"}
    r = api.client.post(f"{V1}/rules/check", headers=headers, content=raw)
    body = _assert_problem(r, 422, "request.invalid")
    assert [p["code"] for p in body["problems"]] == ["request.string_unicode"]


def test_two_files_with_one_name_are_refused(api: Api) -> None:
    same = {"name": "a.toml", "content": ""}
    r = api.client.post(
        f"{V1}/rules/check",
        headers=api.headers["analyst"],
        json={"rules": same, "watchlists": [same]},
    )
    body = _assert_problem(r, 422, "input.invalid")
    assert [p["code"] for p in body["problems"]] == ["rules.duplicate_file"]


# ---------------------------------------------------------------- stored rulesets

MARKER_LIST = MARKER_LISTS.format(seller="SELLER-1")


def _marker_upload(version: str = "1", note: str | None = None) -> dict[str, Any]:
    """Rules sending every consignment of seller SELLER-1 (the test filings') to red."""
    return {
        "rules": {"name": "rules.toml", "content": MARKER_RULES.format(version=version)},
        "watchlists": [{"name": "marked.toml", "content": MARKER_LIST}],
        "note": note,
    }


def _submit(api: Api, filing_id: str) -> dict[str, Any]:
    filing = make_filing(filing_id)
    filing["filer"]["id"] = api.platform.access.user("filer").filer_id
    r = api.client.post(f"{V1}/filings", json=filing, headers=api.headers["filer"])
    assert r.status_code == 201, r.text
    decision = api.platform.risk_records.decision(f"{filing_id}-C1")
    assert decision is not None
    return decision


def test_an_upload_is_stored_as_a_draft_with_its_files(api: Api) -> None:
    headers = api.headers["analyst"]
    r = api.client.post(f"{V1}/rules", headers=headers, json=_marker_upload(note="alert 12"))
    assert r.status_code == 201, r.text
    draft = r.json()
    assert (draft["ruleset_id"], draft["version"], draft["status"]) == ("analyst-set", "1", "draft")
    assert draft["uploaded_by"] == "analyst" and draft["note"] == "alert 12"
    assert draft["rule_count"] == 1 and len(draft["sha256"]) == 64
    assert draft["rules"]["content"] == MARKER_RULES.format(version="1")
    assert [w["name"] for w in draft["watchlists"]] == ["marked.toml"]
    assert draft["warnings"] == [] and draft["hits"] == []
    listed = api.client.get(f"{V1}/rules", headers=headers).json()
    assert [(x["id"], x["status"]) for x in listed] == [(draft["id"], "draft")]
    assert "rules" not in listed[0]
    shown = api.client.get(f"{V1}/rules/{draft['id']}", headers=headers).json()
    assert shown["sha256"] == draft["sha256"] and shown["watchlists"] == draft["watchlists"]
    again = api.client.post(f"{V1}/rules", headers=headers, json=_marker_upload())
    assert again.status_code == 200 and again.json()["id"] == draft["id"]


def test_an_invalid_upload_is_a_422_with_every_problem_and_nothing_stored(api: Api) -> None:
    headers = api.headers["analyst"]
    body = {"rules": {"name": "mine.toml", "content": BROKEN_RULES}}
    problem = _assert_problem(
        api.client.post(f"{V1}/rules", headers=headers, json=body), 422, "rules.invalid"
    )
    codes = {p["code"] for p in problem["problems"]}
    assert {"rules.missing_action", "rules.unknown_field"} <= codes
    assert all(p["path"].startswith("mine.toml:") for p in problem["problems"])
    assert all("smartcustoms-rules-" not in p["message"] for p in problem["problems"])
    assert api.client.get(f"{V1}/rules", headers=headers).json() == []
    assert api.client.get(f"{V1}/rules/active", headers=headers).json()["source"] == "settings"


def test_a_version_names_one_text(api: Api) -> None:
    headers = api.headers["analyst"]
    api.client.post(f"{V1}/rules", headers=headers, json=_marker_upload())
    other = _marker_upload()
    other["watchlists"][0]["content"] = MARKER_LISTS.format(seller="SELLER-2")
    problem = _assert_problem(
        api.client.post(f"{V1}/rules", headers=headers, json=other), 409, "conflict"
    )
    assert "own version" in problem["detail"]


def test_activation_takes_effect_on_the_next_filing(api: Api) -> None:
    headers = api.headers["analyst"]
    before = _submit(api, "BEFORE")
    assert "marked-seller" not in [h["rule_id"] for h in before["rule_hits"]]
    draft = api.client.post(f"{V1}/rules", headers=headers, json=_marker_upload()).json()
    assert "marked-seller" not in [h["rule_id"] for h in _submit(api, "DRAFT")["rule_hits"]]

    r = api.client.post(f"{V1}/rules/{draft['id']}/activate", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active" and r.json()["activated_by"] == "analyst"
    after = _submit(api, "AFTER")
    assert [h["rule_id"] for h in after["rule_hits"]] == ["marked-seller"]
    assert after["lane"] == "red" and after["rule_hits"][0]["ruleset_id"] == "analyst-set"

    in_force = api.client.get(f"{V1}/rules/active", headers=headers).json()
    assert in_force["source"] == "store" and in_force["stored"]["id"] == draft["id"]
    assert (in_force["ruleset_id"], in_force["version"], in_force["rule_count"]) == (
        "analyst-set",
        "1",
        1,
    )
    hits = api.client.get(f"{V1}/rules/{draft['id']}", headers=headers).json()["hits"]
    assert [(h["rule_id"], h["rule_version"], h["hits"]) for h in hits] == [
        ("marked-seller", "1", 1)
    ]
    audit = next(e for e in api.platform.store.audit_entries() if e["action"] == "ruleset.activate")
    assert audit["actor"] == "analyst" and audit["subject_id"] == str(draft["id"])


def test_activating_another_version_retires_the_first_and_retiring_falls_back(api: Api) -> None:
    headers = api.headers["admin"]
    first = api.client.post(f"{V1}/rules", headers=headers, json=_marker_upload("1")).json()
    second = api.client.post(f"{V1}/rules", headers=headers, json=_marker_upload("2")).json()
    api.client.post(f"{V1}/rules/{first['id']}/activate", headers=headers)
    api.client.post(f"{V1}/rules/{second['id']}/activate", headers=headers)
    states = {x["id"]: x["status"] for x in api.client.get(f"{V1}/rules", headers=headers).json()}
    assert states == {first["id"]: "retired", second["id"]: "active"}
    active = api.client.get(f"{V1}/rules?status=active", headers=headers).json()
    assert [x["id"] for x in active] == [second["id"]]
    retired = api.client.post(f"{V1}/rules/{second['id']}/retire", headers=headers).json()
    assert retired["status"] == "retired" and retired["retired_at"]
    in_force = api.client.get(f"{V1}/rules/active", headers=headers).json()
    assert in_force["source"] == "settings" and in_force["ruleset_id"] == "example-eu-ecommerce"
    assert "marked-seller" not in [h["rule_id"] for h in _submit(api, "LATER")["rule_hits"]]


@pytest.mark.parametrize("path", ["/rules/999", "/rules/999/activate", "/rules/999/retire"])
def test_unknown_rulesets_are_404(api: Api, path: str) -> None:
    method = "GET" if path == "/rules/999" else "POST"
    r = api.client.request(method, f"{V1}{path}", headers=api.headers["analyst"])
    _assert_problem(r, 404, "ruleset.not_found")


@pytest.mark.parametrize("ruleset", ["0", "x", str(2**31)])
def test_out_of_range_ruleset_ids_are_request_problems(api: Api, ruleset: str) -> None:
    r = api.client.get(f"{V1}/rules/{ruleset}", headers=api.headers["analyst"])
    _assert_problem(r, 422, "request.invalid")


# ---------------------------------------------------------------- models


def test_without_labels_training_is_a_422_problem_and_nothing_is_listed(api: Api) -> None:
    headers = api.headers["analyst"]
    assert api.client.get(f"{V1}/models", headers=headers).json() == []
    body = _assert_problem(
        api.client.post(f"{V1}/models/train", headers=headers), 422, "risk.insufficient_labels"
    )
    assert "labelled" in body["detail"]
    _assert_problem(
        api.client.get(f"{V1}/models/evaluation", headers=headers), 422, "risk.insufficient_labels"
    )
    _assert_problem(api.client.get(f"{V1}/drift", headers=headers), 404, "risk.model_not_found")
    _assert_problem(
        api.client.get(f"{V1}/drift/features", headers=headers), 404, "risk.model_not_found"
    )


def test_train_list_evaluate_and_drift(api: Api, tmp_path: Path) -> None:
    filings, labels = tmp_path / "day.jsonl", tmp_path / "labels.parquet"
    write_traffic(
        TrafficConfig(consignments=400, seed=5, start=START, days=1.0), filings, labels=labels
    )
    api.platform.clear([filings])
    api.platform.targeting.record_inspections(
        [
            {
                "consignment_id": r["consignment_id"],
                "result": "noncompliant" if r["is_noncompliant"] else "compliant",
                "revenue_recovered": r["revenue_at_stake"] if r["is_noncompliant"] else None,
                "officer": "inspector",
            }
            for r in pl.read_parquet(labels).iter_rows(named=True)
        ]
    )
    headers = api.headers["analyst"]
    r = api.client.post(f"{V1}/models/train", headers=headers, json={"seed": 3})
    assert r.status_code == 201, r.text
    model = r.json()
    assert model["is_active"] and model["seed"] == 3 and model["n_train"] > 0
    assert len(model["schema_hash"]) == 64 and "validation" in model["metrics"]
    listed = api.client.get(f"{V1}/models", headers=headers).json()
    assert [m["version"] for m in listed] == [model["version"]]
    audit = [e for e in api.platform.store.audit_entries() if e["action"] == "risk.train"]
    assert audit[0]["actor"] == "analyst" and audit[0]["subject_id"] == model["version"]

    evaluation = api.client.get(f"{V1}/models/evaluation?test_share=0.3", headers=headers)
    assert evaluation.status_code == 200, evaluation.text
    rows = evaluation.json()
    assert {"random", "rules"} <= {row["ranker"] for row in rows}
    assert all([c["share_pct"] for c in row["cuts"]] == [1, 2, 5, 10] for row in rows)

    drift = api.client.get(f"{V1}/drift", headers=headers)
    assert drift.status_code == 200, drift.text
    assert drift.json()["model_version"] == model["version"] and drift.json()["live_scores"] == 0

    features = api.client.get(f"{V1}/drift/features", headers=headers)
    assert features.status_code == 200, features.text
    report = features.json()
    assert report["model_version"] == model["version"] and report["threshold"] == 0.25
    assert report["training_rows"] > 0 and report["live_rows"] == 0
    assert report["features"] and all(f["psi"] is None for f in report["features"])
    assert {f["kind"] for f in report["features"]} == {"numeric", "categorical"}

    later = tmp_path / "later.jsonl"
    window_end = api.platform.risk_records.model().window_end
    assert window_end is not None
    write_traffic(TrafficConfig(consignments=150, seed=9, start=window_end, days=0.5), later)
    api.platform.clear([later])
    report = api.client.get(f"{V1}/drift/features", headers=headers).json()
    assert report["live_rows"] > 0
    psis = [f["psi"] for f in report["features"] if f["psi"] is not None]
    assert psis and psis == sorted(psis, reverse=True) and min(psis) >= 0


# ---------------------------------------------------------------- who may do what


@pytest.mark.parametrize("user", ["filer", "partner", "officer"])
def test_only_analysts_and_admins_use_analyst_routes(api: Api, user: str) -> None:
    headers = api.headers[user]
    calls = [
        api.client.post(f"{V1}/rules/check", headers=headers, json=_example_upload()),
        api.client.post(f"{V1}/rules", headers=headers, json=_marker_upload()),
        api.client.get(f"{V1}/rules", headers=headers),
        api.client.get(f"{V1}/rules/active", headers=headers),
        api.client.get(f"{V1}/rules/1", headers=headers),
        api.client.post(f"{V1}/rules/1/activate", headers=headers),
        api.client.post(f"{V1}/rules/1/retire", headers=headers),
        api.client.get(f"{V1}/models", headers=headers),
        api.client.post(f"{V1}/models/train", headers=headers),
        api.client.get(f"{V1}/models/evaluation", headers=headers),
        api.client.get(f"{V1}/drift", headers=headers),
        api.client.get(f"{V1}/drift/features", headers=headers),
    ]
    for response in calls:
        _assert_problem(response, 403, "auth.forbidden")
