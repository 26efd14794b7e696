"""``smartcustoms synth traffic`` and ``smartcustoms synth bad-sample``."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from click.testing import CliRunner

from smartcustoms.cli.synth import synth_group


def test_traffic_writes_files_and_a_json_summary(tmp_path: Path) -> None:
    out = tmp_path / "day.jsonl"
    result = CliRunner().invoke(
        synth_group,
        [
            "traffic",
            "--consignments", "400",
            "--seed", "9",
            "--out", str(out),
            "--start", "2026-11-20T00:00:00Z",
            "--days", "0.5",
            "--office", "FR000730",
            "--office", "NL000396",
            "--events", str(tmp_path / "events.parquet"),
            "--labels", str(tmp_path / "labels.csv"),
            "--bad-sample", str(tmp_path / "bad.jsonl"),
            "--chunk-size", "100",
            "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["consignments"] == 400
    assert summary["seed"] == 9
    assert summary["revenue_at_stake_eur"] is not None
    assert set(summary["files"]) == {
        "filings", "events", "labels", "bad_sample", "bad_sample_manifest"
    }  # fmt: skip
    lines = out.read_bytes().splitlines()
    assert len(lines) == summary["filings"]
    offices = {c["office_of_arrival"] for line in lines for c in json.loads(line)["consignments"]}
    assert offices == {"FR000730", "NL000396"}
    assert pl.read_csv(tmp_path / "labels.csv").height == 400
    assert (tmp_path / "bad.jsonl.manifest.json").exists()


def test_traffic_csv_and_human_summary(tmp_path: Path) -> None:
    out = tmp_path / "items.csv"
    result = CliRunner().invoke(
        synth_group,
        ["traffic", "--consignments", "50", "--out", str(out), "--format", "csv", "--no-revenue"],
    )
    assert result.exit_code == 0, result.output
    assert "consignments" in result.output
    assert pl.read_csv(out)["consignment_id"].n_unique() == 50


def test_bad_sample_command(tmp_path: Path) -> None:
    out = tmp_path / "bad.jsonl"
    result = CliRunner().invoke(
        synth_group, ["bad-sample", "--out", str(out), "--lines", "45", "--json"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert len(manifest["lines"]) == 45
    assert len(out.read_bytes().split(b"\n")) == 45


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(synth_group, ["traffic", "--out", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2
    result = CliRunner().invoke(
        synth_group,
        ["traffic", "--consignments", "5", "--out", str(tmp_path / "x"), "--format", "xml"],
    )
    assert result.exit_code == 2
