"""``smartcustoms tariff lookup`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from smartcustoms.cli.tariff import tariff_group


def test_lookup_text() -> None:
    result = CliRunner().invoke(tariff_group, ["lookup", "6109.10", "--on", "2026-07-01"])
    assert result.exit_code == 0, result.output
    assert "610910 (HS 2022) on 2026-07-01" in result.output
    assert "T-shirts, singlets and other vests; knitted or crocheted" in result.output
    assert "Tariff line eu-demo:6109" in result.output
    assert "duty         ad-valorem 12%" in result.output
    assert "legal basis  Council Regulation (EEC) No 2658/87" in result.output
    assert "eu-demo:61 ad-valorem 12%" in result.output  # shorter prefix, not applied


def test_lookup_json_with_excise() -> None:
    result = CliRunner().invoke(tariff_group, ["lookup", "240220", "--json", "--on", "2026-01-01"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["applied"] == "eu-demo:240220"
    assert data["lines"][0]["excise"] == "excise 0.09 EUR/H87"
    assert data["lines"][0]["ad_valorem_pct"] == "57.6"
    assert [x["code"] for x in data["lineage"]] == ["24", "2402", "240220"]


def test_lookup_respects_dates() -> None:
    before = CliRunner().invoke(tariff_group, ["lookup", "854340", "--on", "2021-12-31", "--json"])
    after = CliRunner().invoke(tariff_group, ["lookup", "854340", "--on", "2022-01-01", "--json"])
    assert json.loads(before.output)["applied"] == "eu-demo:85"
    assert json.loads(after.output)["applied"] == "eu-demo:854340"


def test_unknown_code_exits_1_with_coded_error() -> None:
    result = CliRunner().invoke(tariff_group, ["lookup", "0000"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error[hs.unknown]: ")
    assert result.stdout == ""


def test_invalid_schedule_lists_problems(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('id = "s"\n[[lines]]\nhs_prefix = "61"\nad_valorem_pct = "x"\n')
    result = CliRunner().invoke(tariff_group, ["lookup", "6109", "--schedule", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error[tariff.invalid_file]: ")
    assert f"{path}:4: ad_valorem_pct must be a number" in result.stderr


def test_code_without_line() -> None:
    result = CliRunner().invoke(tariff_group, ["lookup", "0101", "--on", "2026-01-01"])
    assert result.exit_code == 0
    assert "No tariff line of eu-demo in force" in result.output


def test_bad_date_is_a_usage_error() -> None:
    result = CliRunner().invoke(tariff_group, ["lookup", "6109", "--on", "01/07/2026"])
    assert result.exit_code == 2
