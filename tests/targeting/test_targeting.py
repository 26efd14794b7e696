"""The targeting loop on the store: clear -> inspect -> train -> clear -> explain -> drift."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from smartcustoms.config import load_settings
from smartcustoms.errors import (
    ConsignmentNotFoundError,
    InsufficientLabelsError,
    InvalidInspectionResultError,
)
from smartcustoms.platform import SmartCustoms
from smartcustoms.risk.policy import default_policy
from smartcustoms.synth import TrafficConfig, write_traffic

START = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _traffic(tmp_path: Path, name: str, seed: int, n: int = 2_500) -> tuple[Path, Path]:
    filings, labels = tmp_path / f"{name}.jsonl", tmp_path / f"{name}-labels.parquet"
    write_traffic(
        TrafficConfig(consignments=n, seed=seed, start=START, days=1.0),
        filings,
        labels=labels,
    )
    return filings, labels


def test_clear_without_model_gives_lanes_and_says_no_model(
    platform: SmartCustoms, tmp_path: Path
) -> None:
    filings, _ = _traffic(tmp_path, "a", seed=1)
    out = tmp_path / "results.jsonl"
    summary = platform.clear([filings], out=out).as_dict()
    assert summary["model_version"] is None
    lanes = summary["lanes"]
    assert sum(lanes.values()) == summary["consignments"]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["lane"] in ("red", "yellow", "blue", "green") for r in rows)
    assert all(any(x["kind"] == "no_model" for x in json.loads(r["reasons"])) for r in rows)
    # capacity per office and day (default policy) holds, except rule-forced red
    policy = default_policy().for_office("FR000730")
    with platform.store.engine.connect() as conn:
        from sqlalchemy import text

        per_day = conn.execute(
            text(
                "SELECT period, sum(CASE WHEN selection_basis <> 'rule' THEN 1 ELSE 0 END) "
                "FROM risk_decisions WHERE lane = 'red' GROUP BY period"
            )
        ).all()
    assert per_day and all(n <= policy.red_capacity for _, n in per_day)


def test_the_loop_trains_and_explains(platform: SmartCustoms, tmp_path: Path) -> None:
    first, labels = _traffic(tmp_path, "a", seed=1)
    platform.clear([first])
    with pytest.raises(InsufficientLabelsError):
        platform.targeting.train()
    # Only controlled consignments get outcomes, as in reality, plus a random sample.
    rows = pl.read_parquet(labels).head(1_200)
    written = platform.targeting.record_inspections(
        [
            {
                "consignment_id": r["consignment_id"],
                "result": "noncompliant" if r["is_noncompliant"] else "compliant",
                "revenue_recovered": r["revenue_at_stake"] if r["is_noncompliant"] else None,
                "finding": r["fraud_type"],
                "officer": "test",
            }
            for r in rows.iter_rows(named=True)
        ]
    )
    assert written == 1_200
    record = platform.targeting.train(seed=3)
    assert record.is_active and record.n_train > 0 and len(record.schema_hash) == 64
    assert platform.risk_records.models()[0].version == record.version

    second, _ = _traffic(tmp_path, "b", seed=2)
    out = tmp_path / "results.jsonl"
    summary = platform.clear([second], out=out).as_dict()
    assert summary["model_version"] == record.version
    results = [json.loads(line) for line in out.read_text().splitlines()]
    red = next(r for r in results if r["lane"] == "red" and r["risk_score"] is not None)
    explained = platform.targeting.explain(red["consignment_id"])
    kinds = {x["kind"] for x in explained["reasons"]}
    assert {"lane", "model", "feature"} <= kinds
    assert explained["model_version"] == record.version
    # a green consignment's explanation is recomputed with the model that decided it
    green = next(r for r in results if r["lane"] == "green")
    assert any(
        x["kind"] == "feature"
        for x in platform.targeting.explain(green["consignment_id"])["reasons"]
    )
    drift = platform.targeting.drift()
    assert drift["live_scores"] == summary["consignments"]
    assert drift["psi"] is not None and drift["psi"] >= 0
    with pytest.raises(ConsignmentNotFoundError):
        platform.targeting.explain("NOPE")


def test_bad_inspection_results_report_every_problem_and_record_nothing(
    platform: SmartCustoms, tmp_path: Path
) -> None:
    filings, _ = _traffic(tmp_path, "a", seed=1, n=50)
    platform.clear([filings])
    cid = platform.store.consignment_ids(limit=1)[0]
    with pytest.raises(InvalidInspectionResultError) as info:
        platform.targeting.record_inspections(
            [
                {"consignment_id": cid, "result": "noncompliant", "officer": "a"},
                {"consignment_id": "UNKNOWN", "result": "maybe", "officer": ""},
                {
                    "consignment_id": cid,
                    "result": "compliant",
                    "revenue_recovered": "12.5",
                    "corrected_hs_code": "010100",
                    "officer": "b",
                },
            ]
        )
    codes = {(p.path, p.code) for p in info.value.problems}
    assert ("result[1].consignment_id", "consignment.not_found") in codes
    assert ("result[1].result", "inspection.result") in codes
    assert ("result[1].officer", "inspection.missing") in codes
    assert ("result[2].revenue_recovered", "inspection.inconsistent") in codes
    assert ("result[2].corrected_hs_code", "hs.unknown") in codes
    assert platform.risk_records.inspections(cid) == []


def test_aeo_operators_are_marked_and_stored(database_url: str, tmp_path: Path) -> None:
    filings, _ = _traffic(tmp_path, "a", seed=1, n=300)
    first = json.loads(filings.read_text().splitlines()[0])
    operator = first["consignments"][0]["seller"]["id"]
    registry = tmp_path / "operators.toml"
    registry.write_text(
        f"""id = "test"
version = "1"

[[operators]]
id = "{operator}"
name = "Trusted seller"
country = "FR"

[[operators.certificates]]
type = "AEOF"
authority = "FR"
number = "FRAEOF0001"
valid_from = 2020-01-01
status = "active"
"""
    )
    sc = SmartCustoms(
        load_settings(database_url=database_url, operators=str(registry), home_country="FR")
    )
    try:
        sc.clear([filings])
        decision = sc.risk_records.decision(first["consignments"][0]["consignment_id"])
        assert decision is not None and decision["aeo_status"] == "national"
        assert any(r["kind"] == "aeo" for r in decision["reasons"])
    finally:
        sc.store.dispose()
