"""The command line: JSON output for scripts, exit codes, the quarantine workflow, the demo."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from smartcustoms.cli import cli
from smartcustoms.testing import make_filing, write_jsonl


@pytest.fixture
def run(database_url: str) -> object:
    runner = CliRunner()

    def invoke(*args: str, db: bool = True) -> tuple[int, str, str]:
        full = [*args, "--db", database_url] if db else list(args)
        result = runner.invoke(cli, full, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_clear_json_summary_and_quarantine_workflow(run: object, tmp_path: Path) -> None:
    bad = make_filing("F-2")
    bad["consignments"][0]["items"][0]["hs_code"] = "610950"
    path = write_jsonl(tmp_path / "in.jsonl", [make_filing("F-1"), bad])
    code, out, _ = run("clear", str(path), "--json", "--out", str(tmp_path / "r.jsonl"))  # type: ignore[operator]
    assert code == 0
    summary = json.loads(out)
    assert (summary["received"], summary["accepted"], summary["quarantined"]) == (2, 1, 1)

    code, out, _ = run("quarantine", "list", "--json")  # type: ignore[operator]
    listing = json.loads(out)
    assert listing["total"] == 1
    qid = listing["entries"][0]["quarantine_id"]
    assert listing["entries"][0]["problems"][0]["code"] == "hs.unknown"

    code, out, _ = run("quarantine", "show", qid)  # type: ignore[operator]
    assert code == 0
    assert "hs.unknown" in out
    assert "consignments[0].items[0].hs_code" in out

    code, out, _ = run("quarantine", "resubmit", qid, "--json")  # type: ignore[operator]
    assert code == 1
    assert json.loads(out)["accepted"] is False

    fixed = tmp_path / "fixed.json"
    fixed.write_bytes(orjson.dumps(make_filing("F-2"), option=orjson.OPT_INDENT_2))
    code, out, _ = run("quarantine", "resubmit", qid, "--file", str(fixed))  # type: ignore[operator]
    assert code == 0
    assert "accepted" in out

    code, out, _ = run("db", "info", "--json")  # type: ignore[operator]
    assert json.loads(out)["tables"]["consignments"] == 2


def test_domain_errors_exit_1_with_code(run: object) -> None:
    code, _, err = run("quarantine", "show", "q-missing")  # type: ignore[operator]
    assert code == 1
    assert err.startswith("error[quarantine.not_found]:")


def test_usage_errors_exit_2(run: object, tmp_path: Path) -> None:
    code, _, _ = run("clear", str(tmp_path / "nope.jsonl"))  # type: ignore[operator]
    assert code == 2
    code, _, _ = run("clear", "--format", "xml", str(tmp_path))  # type: ignore[operator]
    assert code == 2


def test_tariff_assess_json(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [make_filing("F-1", items=3)])
    result = CliRunner().invoke(cli, ["tariff", "assess", str(path), "--json", "--items"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["assessed"] == 1
    assert len(data["items"]) == 3
    assert data["consignments"][0]["currency"] == "EUR"


def test_demo_small(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    result = CliRunner().invoke(
        cli, ["demo", "--consignments", "400", "--dir", str(workdir), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["accepted"] + data["quarantined"] == data["received"]
    assert data["consignments"] >= 400
    assert data["quarantined"] >= 20  # the deliberately bad sample
    assert (workdir / "smartcustoms.db").exists()
    loop = data["risk_loop"]  # controls report outcomes for day 1's red and yellow lanes
    assert 0 < loop["inspections"] <= sum(data["lanes"][k] for k in ("red", "yellow"))
