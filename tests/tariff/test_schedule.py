"""Tariff schedule files: the shipped schedule, matching, and every problem with its line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from smartcustoms.errors import InvalidTariffFileError
from smartcustoms.tariff import TariffSchedule, load_schedule
from smartcustoms.tariff.schedule import shipped_schedules

BAD = """\
id = "bad"
currency = "euro"
effective_from = 2026-01-01
legal_basis = "test"
colour = "blue"

[[lines]]
hs_prefix = "61"
ad_valorem_pct = "12"

[[lines]]
hs_prefix = "61A9"
ad_valorem_pct = "-3"

[[lines]]
hs_prefix = "2204"
specific_per_unit = "0.5"
advalorem = "3"

[[lines]]
hs_prefix = "61"
ad_valorem_pct = "10"
effective_from = 2026-06-01

[[lines]]
hs_prefix = "000000"
description = "not in HS 2022"

[[lines]]
hs_prefix = "0101"
ad_valorem_pct = "1.23456"
effective_from = 2026-05-01
effective_to = 2026-04-30
"""


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(InvalidTariffFileError) as info:
        load_schedule(path)
    found = {(p.path.rsplit(":", 1)[1], p.code) for p in info.value.problems}
    assert found == {
        ("1", "tariff.missing_key"),  # version missing (reported at the top of the file)
        ("2", "tariff.invalid_value"),  # currency not ISO 4217
        ("5", "tariff.unknown_key"),  # colour
        ("12", "tariff.invalid_value"),  # hs_prefix 61A9
        ("13", "tariff.invalid_value"),  # negative rate
        ("17", "tariff.invalid_value"),  # specific_per_unit without unit
        ("18", "tariff.unknown_key"),  # advalorem typo
        ("20", "tariff.overlap"),  # second open-ended line for 61
        ("26", "hs.unknown"),  # 000000 is not an HS 2022 subheading
        ("31", "tariff.invalid_value"),  # five decimals
        ("33", "tariff.invalid_value"),  # effective_to before effective_from
    }
    assert all(p.path.startswith(f"{path}:") for p in info.value.problems)
    assert info.value.code == "tariff.invalid_file"
    assert "has 11 problems" in str(info.value)


def test_syntax_error_reports_the_toml_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('id = "x"\nversion = "1"\ncurrency = EUR\n', encoding="utf-8")
    with pytest.raises(InvalidTariffFileError) as info:
        load_schedule(path)
    assert [(p.path, p.code) for p in info.value.problems] == [(f"{path}:3", "tariff.syntax")]


def test_unknown_hs_prefix_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "unknown.toml"
    path.write_text(
        'id = "u"\nversion = "1"\ncurrency = "EUR"\neffective_from = 2026-01-01\n'
        'legal_basis = "t"\n\n[[lines]]\nhs_prefix = "0000"\n',
        encoding="utf-8",
    )
    with pytest.raises(InvalidTariffFileError) as info:
        load_schedule(path)
    assert [(p.path, p.code) for p in info.value.problems] == [(f"{path}:8", "hs.unknown")]


def test_shipped_schedule_loads_and_covers_the_e_commerce_chapters() -> None:
    schedule = load_schedule()
    assert schedule.id == "eu-demo"
    assert shipped_schedules() == ["eu-demo"]
    prefixes = {line.hs_prefix for line in schedule}
    chapters = {p[:2] for p in prefixes}
    for chapter in ("61", "62", "63", "64", "42", "84", "85", "95", "33", "71", "91", "90",
                    "39", "94", "24", "22"):  # fmt: skip
        assert chapter in chapters, chapter
    assert "854340" in prefixes
    assert all(line.legal_basis for line in schedule)
    excise = {line.hs_prefix for line in schedule if line.has_excise}
    assert {"2203", "2208", "240220", "2403"} <= excise


def test_line_for_uses_longest_prefix_and_dates(schedule: TariffSchedule) -> None:
    assert schedule.line_for("610910", date(2026, 7, 31)).id == "6109"  # type: ignore[union-attr]
    assert schedule.line_for("610910", date(2026, 8, 1)).id == "610910"  # type: ignore[union-attr]
    assert schedule.line_for("010121", date(2026, 8, 1)) is None
    assert schedule.line_for("610910", date(2019, 12, 31)) is None  # before the schedule


def test_match_agrees_with_line_for(schedule: TariffSchedule) -> None:
    codes = ["610910", "611020", "010121", "6109100010", "240220", "61"]
    days = [date(2019, 1, 1), date(2026, 7, 31), date(2026, 8, 1), date(2030, 1, 1)]
    keys = pl.DataFrame(
        {"hs": [c for c in codes for _ in days], "on": [d for _ in codes for d in days]}
    )
    matched = schedule.match(keys, "hs", "on")
    for hs, day, line_id in matched.select("hs", "on", "_line_id").iter_rows():
        expected = schedule.line_for(hs, day)
        assert line_id == (None if expected is None else schedule.line_id(expected)), (hs, day)


def test_dated_lines_for_the_same_prefix(tmp_path: Path) -> None:
    path = tmp_path / "dated.toml"
    path.write_text(
        'id = "d"\nversion = "1"\ncurrency = "EUR"\neffective_from = 2026-01-01\n'
        'legal_basis = "t"\n\n'
        '[[lines]]\nhs_prefix = "6109"\nad_valorem_pct = 12\neffective_to = 2026-06-30\n\n'
        '[[lines]]\nhs_prefix = "6109"\nad_valorem_pct = 6.5\neffective_from = 2026-07-01\n',
        encoding="utf-8",
    )
    schedule = load_schedule(path)
    assert [line.id for line in schedule] == ["6109@2026-01-01", "6109@2026-07-01"]
    assert schedule.line_for("610910", date(2026, 6, 30)).ad_valorem_pct == 12  # type: ignore[union-attr]
    assert schedule.line_for("610910", date(2026, 7, 1)).ad_valorem_pct == Decimal("6.5")  # type: ignore[union-attr]


def test_line_texts(schedule: TariffSchedule) -> None:
    cigarettes = schedule.line_for("240220", date(2026, 1, 1))
    assert cigarettes is not None
    assert cigarettes.duty_text("EUR") == "ad-valorem 50%"
    assert cigarettes.excise_text("EUR") == "excise 10% + excise 0.1 EUR/H87"
    wine = schedule.line_for("220421", date(2026, 1, 1))
    assert wine is not None
    assert wine.duty_text("EUR") == "specific 0.5 EUR/LTR"
    assert wine.excise_text("EUR") == "none"


def test_load_schedule_by_shipped_id() -> None:
    assert load_schedule("eu-demo").id == "eu-demo"
    assert load_schedule(None).source == "eu-demo.toml"


def test_missing_file_is_a_tariff_file_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidTariffFileError) as info:
        load_schedule(tmp_path / "nope.toml")
    assert info.value.problems[0].path == str(tmp_path / "nope.toml")


def test_schedule_without_lines_assesses_duty_zero(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text(
        'id = "e"\nversion = "1"\ncurrency = "EUR"\neffective_from = 2020-01-01\n'
        'legal_basis = "t"\n',
        encoding="utf-8",
    )
    schedule = load_schedule(path)
    keys = pl.DataFrame({"hs": ["610910"], "on": [date(2026, 1, 1)]})
    assert schedule.match(keys, "hs", "on")["_line_id"].to_list() == [None]
