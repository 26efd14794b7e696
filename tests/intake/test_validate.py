"""Every validation code, found on a minimal mutation of a valid filing, with its path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from smartcustoms.intake import (
    PROBLEM_CODES,
    ValidationContext,
    normalise_codes,
    read_batches,
    s10_check_digit,
    validate_batch,
)
from smartcustoms.testing import make_filing, write_jsonl

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def problems_of(tmp_path: Path, record: Any, *, raw: list[bytes] | None = None) -> pl.DataFrame:
    path = write_jsonl(tmp_path / "f.jsonl", [record] if record is not None else [], raw=raw)
    (batch,) = list(read_batches(path))
    cons, items = normalise_codes(batch.consignments, batch.items)
    found = validate_batch(batch, ValidationContext(now=NOW), consignments=cons, items=items)
    return pl.concat([batch.problems, found])


def codes(problems: pl.DataFrame) -> set[tuple[str, str]]:
    return set(problems.filter(pl.col("severity") == "error").select("code", "path").iter_rows())


def test_valid_filing_has_no_errors(tmp_path: Path) -> None:
    assert codes(problems_of(tmp_path, make_filing())) == set()


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(f: dict[str, Any]) -> None:
        target: Any = f
        keys = path.split(".")
        for k in keys[:-1]:
            target = target[int(k)] if k.isdigit() else target[k]
        last = keys[-1]
        if value is _DELETE:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return mutate


_DELETE = object()
ITEM = "consignments.0.items.0"
CONS = "consignments.0"

CASES = [
    ("filing_id", _set("filing_id", _DELETE), "field.required", "filing_id"),
    ("blank filer", _set("filer.id", "  "), "field.required", "filer.id"),
    ("currency", _set(f"{CONS}.currency", _DELETE), "field.required", "consignments[0].currency"),
    (
        "description",
        _set(f"{ITEM}.description", ""),
        "field.required",
        "consignments[0].items[0].description",
    ),
    (
        "hs format",
        _set(f"{ITEM}.hs_code", "61091"),
        "hs.format",
        "consignments[0].items[0].hs_code",
    ),
    (
        "hs letters",
        _set(f"{ITEM}.hs_code", "61A910"),
        "hs.format",
        "consignments[0].items[0].hs_code",
    ),
    (
        "hs unknown",
        _set(f"{ITEM}.hs_code", "610950"),
        "hs.unknown",
        "consignments[0].items[0].hs_code",
    ),
    (
        "hs national stem unknown",
        _set(f"{ITEM}.hs_code", "6109990010"),
        "hs.unknown",
        "consignments[0].items[0].hs_code",
    ),
    (
        "hs heading unknown",
        _set(f"{ITEM}.hs_code", "6199"),
        "hs.unknown",
        "consignments[0].items[0].hs_code",
    ),
    (
        "origin",
        _set(f"{ITEM}.origin_country", "XX"),
        "country.unknown",
        "consignments[0].items[0].origin_country",
    ),
    (
        "buyer country",
        _set(f"{CONS}.buyer.country", "FRA"),
        "country.unknown",
        "consignments[0].buyer.country",
    ),
    (
        "currency unknown",
        _set(f"{CONS}.currency", "EUX"),
        "currency.unknown",
        "consignments[0].currency",
    ),
    (
        "s10 format",
        _set(f"{CONS}.postal_item_id", "RR12345678CN"),
        "s10.format",
        "consignments[0].postal_item_id",
    ),
    (
        "s10 country",
        _set(f"{CONS}.postal_item_id", "RR123456785XX"),
        "s10.format",
        "consignments[0].postal_item_id",
    ),
    (
        "s10 check digit",
        _set(f"{CONS}.postal_item_id", "RR123456784CN"),
        "s10.check_digit",
        "consignments[0].postal_item_id",
    ),
    (
        "mode",
        _set(f"{CONS}.transport_mode", "A"),
        "transport_mode.unknown",
        "consignments[0].transport_mode",
    ),
    (
        "value zero",
        _set(f"{ITEM}.value", 0),
        "value.not_positive",
        "consignments[0].items[0].value",
    ),
    (
        "mass negative",
        _set(f"{ITEM}.net_mass_kg", -1),
        "value.not_positive",
        "consignments[0].items[0].net_mass_kg",
    ),
    (
        "total negative",
        _set(f"{CONS}.total_value", "-3"),
        "value.not_positive",
        "consignments[0].total_value",
    ),
    (
        "not a number",
        _set(f"{ITEM}.value", "twelve"),
        "value.not_number",
        "consignments[0].items[0].value",
    ),
    (
        "not integer",
        _set(f"{ITEM}.item_no", 1.5),
        "value.not_integer",
        "consignments[0].items[0].item_no",
    ),
    (
        "gross below net",
        _set(f"{ITEM}.gross_mass_kg", 0.1),
        "mass.gross_below_net",
        "consignments[0].items[0].gross_mass_kg",
    ),
    (
        "total mismatch",
        _set(f"{CONS}.total_value", "99.00"),
        "value.total_mismatch",
        "consignments[0].total_value",
    ),
    ("date unparseable", _set("filed_at", "yesterday"), "date.unparseable", "filed_at"),
    (
        "date out of window",
        _set(f"{CONS}.expected_arrival_at", "2031-01-01T00:00:00Z"),
        "date.out_of_window",
        "consignments[0].expected_arrival_at",
    ),
    ("date too old", _set("filed_at", "2019-01-01"), "date.out_of_window", "filed_at"),
    ("no consignments", _set("consignments", []), "consignments.missing", "consignments"),
    ("no items", _set(f"{CONS}.items", []), "items.missing", "consignments[0].items"),
    ("items not a list", _set(f"{CONS}.items", {"a": 1}), "json.schema", "consignments[0].items"),
    (
        "party not an object",
        _set(f"{CONS}.seller", "ACME"),
        "json.schema",
        "consignments[0].seller",
    ),
    (
        "value is an object",
        _set(f"{ITEM}.value", {"amount": 1}),
        "json.schema",
        "consignments[0].items[0].value",
    ),
    (
        "duplicate item no",
        _set(f"{CONS}.items.1.item_no", 1),
        "item.duplicate",
        "consignments[0].items[1].item_no",
    ),
]


@pytest.mark.parametrize(("name", "mutate", "code", "path"), CASES, ids=[c[0] for c in CASES])
def test_each_problem_is_found_with_its_path(
    tmp_path: Path, name: str, mutate: Callable[[dict[str, Any]], None], code: str, path: str
) -> None:
    filing = make_filing()
    filing["consignments"][0]["postal_item_id"] = "RR123456785CN"
    mutate(filing)
    found = codes(problems_of(tmp_path, filing))
    assert (code, path) in found, found


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    """A broker gets every problem of a filing in one answer."""
    filing = make_filing(items=3)
    items = filing["consignments"][0]["items"]
    items[0]["hs_code"] = "610950"
    items[1]["origin_country"] = "ZZ"
    items[2]["value"] = -5
    filing["consignments"][0]["currency"] = "XYZ"
    found = {c for c, _ in codes(problems_of(tmp_path, filing))}
    assert {"hs.unknown", "country.unknown", "value.not_positive", "currency.unknown"} <= found


def test_conversion_failure_is_not_also_required(tmp_path: Path) -> None:
    filing = make_filing()
    filing["consignments"][0]["items"][0]["value"] = "n/a"
    found = codes(problems_of(tmp_path, filing))
    assert ("value.not_number", "consignments[0].items[0].value") in found
    assert ("field.required", "consignments[0].items[0].value") not in found


def test_hs_codes_are_normalised_before_validation(tmp_path: Path) -> None:
    filing = make_filing()
    filing["consignments"][0]["items"][0]["hs_code"] = "6109.10.00"
    assert codes(problems_of(tmp_path, filing)) == set()


@pytest.mark.parametrize("code", ["61", "6109", "610910", "61091000", "6109100010"])
def test_hs_codes_valid_at_every_declared_level(tmp_path: Path, code: str) -> None:
    filing = make_filing()
    filing["consignments"][0]["items"][0]["hs_code"] = code
    assert not {c for c, _ in codes(problems_of(tmp_path, filing))} & {"hs.format", "hs.unknown"}


@pytest.mark.parametrize(
    ("serial", "digit"),
    [
        # the UPU's own example RR 47312482 9 GB: 32+42+12+2+6+20+72+14 = 200; 11 - 200 % 11 = 9
        ("47312482", 9),
        # 12345678: 8+12+12+8+15+30+63+56 = 204; 204 % 11 = 6; 11 - 6 = 5
        ("12345678", 5),
        # 00000000: sum 0; 11 - 0 = 11 -> 5
        ("00000000", 5),
        # 10000001: 8 + 7 = 15; 15 % 11 = 4; 11 - 4 = 7
        ("10000001", 7),
        # 00000300: 3*9 = 27; 27 % 11 = 5; 11 - 5 = 6 ... 00001000: 3; 11 - 3 = 8
        ("00001000", 8),
        # 00000010: 9; 11 - 9 = 2 ... 01000000: 6; 11 - 6 = 5 ... 00010100: 2+5 = 7 -> 4
        ("00010100", 4),
        # 00000001 * 7 -> 7 -> 4; 00000002 -> 14 % 11 = 3 -> 8; 10000010: 8+9 = 17 -> 6 -> 5
        # 01100000: 6 + 4 = 10; 10 % 11 = 10; 11 - 10 = 1
        ("01100000", 1),
    ],
)
def test_s10_check_digit(serial: str, digit: int) -> None:
    assert s10_check_digit(serial) == digit


def test_line_level_problems(tmp_path: Path) -> None:
    found = codes(
        problems_of(tmp_path, None, raw=[b'{"filing_id": ', b"[1, 2]", b'{"filing_id":"\xff"}'])
    )
    assert {c for c, _ in found} == {"json.malformed", "json.not_object", "encoding.invalid"}


def test_every_code_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "validation.md").read_text()
    missing = [c for c in PROBLEM_CODES if f"`{c}`" not in doc]
    assert not missing


def test_fields_of_a_misshapen_object_are_not_also_required(tmp_path: Path) -> None:
    filing = make_filing()
    filing["filer"] = "ACME Express"
    found = codes(problems_of(tmp_path, filing))
    assert ("json.schema", "filer") in found
    assert ("field.required", "filer.id") not in found
