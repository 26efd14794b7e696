"""``smartcustoms aeo``: grant, suspend, revoke and list, with coded errors."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from smartcustoms.cli import cli

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> Run:
    monkeypatch.setenv("SMARTCUSTOMS_HOME_COUNTRY", "XA")
    monkeypatch.setenv("SMARTCUSTOMS_LEDGER_DIR", str(tmp_path) + "/ledger")
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(cli, [*args, "--db", database_url], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_acts_and_listing(run: Run) -> None:
    code, out, _ = run(
        "aeo", "grant", "XA0001", "--number", "N1", "--type", "AEOS", "--name", "Acme",
        "--valid-from", "2020-01-01", "--effective", "2020-01-01",
    )  # fmt: skip
    assert code == 0 and "XA/N1 AEOS of XA0001: active from 2020-01-01" in out
    code, out, _ = run("aeo", "suspend", "N1", "--effective", "2024-01-01", "--reason", "audit")
    assert code == 0 and "suspended" in out
    code, out, _ = run("aeo", "grant", "XA0001", "--number", "N1", "--type", "AEOS",
                       "--effective", "2024-02-01")  # fmt: skip
    assert code == 0 and "active from 2024-02-01" in out
    code, out, _ = run("aeo", "revoke", "N1", "--effective", "2025-01-01", "--reason", "fraud")
    assert code == 0 and "revoked" in out
    code, out, _ = run("aeo", "list", "--json")
    listed = json.loads(out)
    assert [a["act"] for a in listed[0]["acts"]] == ["grant", "suspend", "grant", "revoke"]
    assert listed[0]["valid_from"] == "2020-01-01"  # a lifted suspension keeps the validity
    code, out, _ = run("aeo", "list", "--history")
    assert "2024-01-01 suspend  by cli" in out


def test_refusals_are_coded(run: Run) -> None:
    code, _, err = run("aeo", "suspend", "nope", "--reason", "x")
    assert code == 1 and "error[aeo.certificate_not_found]" in err
    run("aeo", "grant", "XA0001", "--number", "N1", "--type", "AEOC", "--effective", "2024-01-01")
    code, _, err = run("aeo", "revoke", "N1", "--effective", "2023-01-01", "--reason", "x")
    assert code == 1 and "error[aeo.invalid_act]" in err
    assert "aeo.act_order" in err and "aeo.act_validity" in err
