"""``smartcustoms ledger`` and ``mra``: append, prove, verify (tampering named), the demo."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from smartcustoms.cli import cli

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    monkeypatch.setenv("SMARTCUSTOMS_HOME_COUNTRY", "XA")
    monkeypatch.setenv("SMARTCUSTOMS_LEDGER_ORIGIN", "customs.xa.example/log")
    monkeypatch.setenv("SMARTCUSTOMS_LEDGER_DIR", str(tmp_path / "ledger"))
    runner = CliRunner()

    def invoke(*args: str, db: bool = True) -> tuple[int, str, str]:
        full = [*args, "--db", database_url] if db else list(args)
        result = runner.invoke(cli, full, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_append_prove_verify_and_tampering_named(run: Run, tmp_path: Path) -> None:
    doc = tmp_path / "decision.json"
    doc.write_text('{"consignment": "C-1", "lane": "green"}')
    for i in range(3):
        code, out, err = run(
            "ledger", "append", "--type", "release.decision", "--subject", f"C-{i}",
            "--document", str(doc), "--private", '{"importer": "Example NV"}', "--json",
        )  # fmt: skip
        assert code == 0, err
        assert json.loads(out) == {"index": i, "size": i + 1}
    code, out, _ = run("ledger", "prove", "1")
    proof = json.loads(out)
    assert (proof["index"], proof["size"], len(proof["proof"])) == (1, 3, 2)
    code, out, _ = run("ledger", "checkpoint")
    assert out.startswith("customs.xa.example/log\n3\n")
    code, out, _ = run("ledger", "verify")
    assert code == 0 and out.startswith("ok: 3 entries")
    bundle = tmp_path / "b.proof"
    code, out, _ = run("ledger", "prove", "2", "--bundle")
    bundle.write_text(out)
    assert out.startswith("c2sp.org/tlog-proof@v1\n")
    # one byte of a stored entry changes: verify names the first bad entry
    entries = tmp_path / "ledger" / "log" / "tile" / "entries" / "000.p" / "3"
    data = bytearray(entries.read_bytes())
    at = data.index(b"C-1")
    data[at + 2] = ord("7")
    entries.write_bytes(bytes(data))
    code, _, err = run("ledger", "verify")
    assert code == 1
    assert "error[ledger.corrupt]" in err and "entry 1" in err


def test_bad_private_fields_and_unknown_types_are_refused(run: Run, tmp_path: Path) -> None:
    doc = tmp_path / "d.json"
    doc.write_text("{}")
    code, _, err = run(
        "ledger", "append", "--type", "inspection.result", "--subject", "C-1",
        "--document", str(doc), "--private", "[1, 2]",
    )  # fmt: skip
    assert code == 1 and "error[input.invalid]" in err
    code, _, err = run(
        "ledger", "append", "--type", "inspection.result", "--subject", "bad subject!",
        "--document", str(doc),
    )  # fmt: skip
    assert code == 1 and "ledger.statement_invalid" in err


def test_mra_add_partner_from_keys_and_status(run: Run, tmp_path: Path) -> None:
    partner_keys = tmp_path / "xb-keys.json"
    code, out, _ = run("ledger", "keys")
    ours = json.loads(out)
    assert ours["origin"] == "customs.xa.example/log"
    # the partner's keys: another administration's, printed by its `ledger keys`
    from smartcustoms.ledger.node import LedgerKeys

    xb = LedgerKeys.generate("customs.xb.example/log")
    partner_keys.write_text(
        json.dumps(
            xb.verifier_keys() | {"origin": "customs.xb.example/log", "administration": "XB"}
        )
    )
    code, out, err = run(
        "mra", "add-partner", "--country", "XB", "--authority", "XB Customs",
        "--effective-from", "2022-01-01", "--scope", "AEOS", "--keys", str(partner_keys),
    )  # fmt: skip
    assert code == 0, err
    assert "1 partner log(s), quorum 1 of 1" in out
    code, out, _ = run("mra", "status", "--json")
    status = json.loads(out)
    assert status["partners"][0]["log_origin"] == "customs.xb.example/log"
    code, out, _ = run("mra", "add-partner", "--country", "XB", "--authority", "XB Customs",
                       "--effective-from", "2022-01-01", "--keys", str(partner_keys),
                       "--quorum", "3")  # fmt: skip
    assert code == 1


def test_demo_runs_two_administrations(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["ledger", "demo", "--dir", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "XA's risk engine now sees XB0009 as mra" in result.output
    assert "refused (ledger.proof_invalid)" in result.output
