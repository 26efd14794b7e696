"""``smartcustoms risk``: checks with exit codes, the inspect/train/explain/drift loop."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from smartcustoms.cli import cli
from smartcustoms.risk.policy import default_policy_path
from smartcustoms.risk.rules import example_rules_path
from smartcustoms.synth import TrafficConfig, write_traffic


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_rules_and_lane_checks_exit_1_on_errors_with_file_and_line(tmp_path: Path) -> None:
    code, out, _ = _run("risk", "rules", "check", str(example_rules_path()), "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    bad = tmp_path / "rules.toml"
    bad.write_text(
        'id = "x"\nversion = "1"\n\n[[rules]]\nid = "r1"\ndescription = "d"\n'
        'effective_from = 2026-01-01\nlane = "purple"\n[rules.when]\nnot_a_field = "y"\n'
    )
    code, out, _ = _run("risk", "rules", "check", str(bad), "--json")
    assert code == 1
    problems = json.loads(out)["problems"]
    codes = {p["code"] for p in problems}
    assert {"rules.unknown_lane", "rules.unknown_field"} <= codes
    assert all(p["path"].startswith(str(bad)) or "rules.toml:" in p["path"] for p in problems)
    code, _, _ = _run("risk", "lanes", "check", str(default_policy_path()))
    assert code == 0


def test_inspect_train_explain_drift(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'sc.db'}"
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    traffic, labels = tmp_path / "t.jsonl", tmp_path / "labels.parquet"
    write_traffic(TrafficConfig(consignments=2_000, seed=5, start=start), traffic, labels=labels)
    code, out, _ = _run("clear", str(traffic), "--db", db, "--json", "--out", str(tmp_path / "r"))
    assert code == 0 and json.loads(out)["model_version"] is None
    code, _, err = _run("risk", "train", "--db", db)
    assert code == 1 and "error[risk.insufficient_labels]" in err
    code, out, _ = _run("risk", "inspect", "--file", str(labels), "--db", db, "--json")
    assert code == 0 and json.loads(out)["recorded"] == 2_000
    code, out, _ = _run("risk", "train", "--db", db, "--json", "--seed", "3")
    assert code == 0
    model = json.loads(out)
    assert model["is_active"] and model["seed"] == 3
    code, out, _ = _run("risk", "models", "--db", db, "--json")
    assert json.loads(out)[0]["version"] == model["version"]
    cid = json.loads((tmp_path / "r").read_text().splitlines()[0])["consignment_id"]
    code, out, _ = _run("risk", "explain", cid, "--db", db)
    assert code == 0 and f"consignment {cid}: lane" in out
    code, out, _ = _run("risk", "explain", "NOPE", "--db", db)
    assert code == 1
    code, out, _ = _run("risk", "inspect", cid, "--result", "maybe", "--db", db)
    assert code == 2  # click refuses the choice: a usage error
    code, out, err = _run(
        "risk", "inspect", cid, "--result", "compliant", "--revenue-recovered", "5", "--db", db
    )
    assert code == 1 and "inspection.inconsistent" in err
    code, out, _ = _run("risk", "drift", "--db", db, "--json")
    assert json.loads(out)["model_version"] == model["version"]
