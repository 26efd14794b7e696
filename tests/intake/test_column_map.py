"""Column-map files: the shipped maps, every loader problem with its line, the transforms."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from smartcustoms.errors import InvalidColumnMapError
from smartcustoms.intake.column_map import (
    CANONICAL_COLUMNS,
    ColumnSpec,
    constant_expr,
    load_column_map,
    parse_column_map,
    shipped_column_maps,
    source_text,
    to_canonical,
)
from smartcustoms.model.columns import CONSIGNMENT_ID, CONSIGNMENT_SCHEMA, ITEM_SCHEMA

SHIPPED = ("canonical", "jeong2022", "jeong2022-hs10", "asycuda-date", "asycuda-week")
KNOWN_LABELS = {"Fraud", "Critical Fraud", "illicit", "RAISED_TAX_AMOUNT"}

MINIMAL = """\
id = "t"
record_key = "id"

[columns]
filing_id = "id"
"""


def problems(text: str, origin: str = "m.toml") -> list[tuple[str, str]]:
    """(code, path) of every problem the loader reports for ``text``."""
    with pytest.raises(InvalidColumnMapError) as err:
        parse_column_map(text, origin=origin)
    return [(p.code, p.path) for p in err.value.problems]


def test_shipped_maps_are_listed() -> None:
    assert set(SHIPPED) <= set(shipped_column_maps())


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_map_loads_by_name(name: str) -> None:
    cmap = load_column_map(name)
    assert cmap.id == name
    assert cmap.record_key
    assert cmap.description
    assert cmap.source
    assert cmap.origin.endswith(f"{name}.toml")


@pytest.mark.parametrize("name", SHIPPED)
def test_no_shipped_map_reads_a_label(name: str) -> None:
    cmap = load_column_map(name)
    sources = {spec.source for spec in cmap.columns.values()} | set(cmap.record_key)
    assert not sources & (set(cmap.label_columns) | KNOWN_LABELS)


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        ("jeong2022", {"Fraud", "Critical Fraud"}),
        ("jeong2022-hs10", {"Fraud", "Critical Fraud"}),
        ("asycuda-date", {"illicit", "RAISED_TAX_AMOUNT", "INSPECTION.INFORMATION"}),
    ],
)
def test_benchmark_maps_declare_their_labels(name: str, labels: set[str]) -> None:
    """Declared labels are what makes a later edit that maps them fail to load."""
    assert labels <= set(load_column_map(name).label_columns)


def test_canonical_map_is_the_identity_over_every_canonical_column() -> None:
    cmap = load_column_map("canonical")
    assert set(cmap.columns) == set(CANONICAL_COLUMNS)
    assert all(spec.source == col for col, spec in cmap.columns.items())
    assert not any(
        spec.pad_left or spec.regex or spec.format or spec.values for spec in cmap.columns.values()
    )
    header = [*CONSIGNMENT_SCHEMA, *(c for c in ITEM_SCHEMA if c != CONSIGNMENT_ID)]
    assert list(cmap.source_columns()) == ["filing_id", *(c for c in header if c != "filing_id")]
    assert cmap.missing_columns(header) == []


def test_maps_of_anonymised_sources_skip_the_country_check() -> None:
    assert load_column_map("asycuda-date").unchecked_code_columns == {"origin_country"}
    assert load_column_map("asycuda-week").unchecked_code_columns == {"origin_country"}
    assert load_column_map("jeong2022").unchecked_code_columns == frozenset()


def test_unknown_map_name_lists_the_shipped_maps() -> None:
    with pytest.raises(InvalidColumnMapError) as err:
        load_column_map("nope")
    assert err.value.problems[0].code == "column_map.unknown_map"
    assert "jeong2022" in err.value.message


def test_a_map_file_loads_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    for ref in (path, str(path)):
        cmap = load_column_map(ref)
        assert cmap.id == "t"
        assert cmap.origin == str(path)


def test_minimal_map_defaults() -> None:
    cmap = parse_column_map(MINIMAL)
    assert (cmap.encoding, cmap.delimiter, cmap.record_key) == ("utf-8", ",", ("id",))
    assert cmap.ignore == ()
    assert cmap.label_columns == ()
    assert cmap.constants == {}


def test_encoding_names_are_normalised() -> None:
    cmap = parse_column_map(MINIMAL)
    assert cmap.encoding == "utf-8"
    latin = parse_column_map(MINIMAL.replace('id = "t"', 'id = "t"\nencoding = "Latin-1"'))
    assert latin.encoding == "iso8859-1"
    sig = parse_column_map(MINIMAL.replace('id = "t"', 'id = "t"\nencoding = "utf-8-sig"'))
    assert sig.encoding == "utf-8"


def test_every_problem_is_reported_at_once_with_its_line() -> None:
    text = """\
id = "t"
record_key = "id"
label_columns = ["Fraud"]
ignore = ["Tax"]

[columns]
filing_id = "id"
not_a_field = "x"
hs_code = { source = "HS", pad_left = "six" }
value = "Fraud"
filed_at = { source = "Date", format = "%d-%Q-%y" }
description = { source = "Desc", regex = "(unclosed" }
currency = "Tax"

[constants]
filing_id = "F1"
total_value = "lots"
"""
    found = problems(text)
    assert found == [
        ("column_map.unknown_field", "m.toml:8"),
        ("column_map.invalid_transform", "m.toml:9"),
        ("column_map.label_mapped", "m.toml:10"),
        ("column_map.invalid_transform", "m.toml:11"),
        ("column_map.invalid_transform", "m.toml:12"),
        ("column_map.duplicate", "m.toml:13"),
        ("column_map.duplicate", "m.toml:16"),
        ("column_map.invalid_value", "m.toml:17"),
    ]


def test_the_error_names_the_file_and_counts_problems() -> None:
    with pytest.raises(InvalidColumnMapError) as err:
        parse_column_map(MINIMAL + 'bogus = "x"\n', origin="maps/x.toml")
    assert err.value.code == "column_map.invalid"
    assert "maps/x.toml" in err.value.message
    assert "1 problem" in err.value.message
    assert isinstance(err.value, ValueError)


def test_label_column_as_record_key_is_refused() -> None:
    text = MINIMAL.replace('record_key = "id"', 'record_key = ["id", "Fraud"]')
    text = text.replace('id = "t"', 'id = "t"\nlabel_columns = ["Fraud"]')
    assert problems(text) == [("column_map.label_mapped", "m.toml:3")]


def test_label_mapped_through_a_table_entry_is_refused() -> None:
    text = """\
id = "t"
record_key = "id"
label_columns = ["illicit"]

[columns]
filing_id = "id"
total_value = { source = "illicit", aggregate = "sum" }
"""
    assert problems(text) == [("column_map.label_mapped", "m.toml:7")]


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ('total_value = { source = "v", pad_left = 6 }', "text columns"),
        ('hs_code = { source = "v", pad_left = 0 }', "width"),
        ('hs_code = { source = "v", pad_left = { width = 6, char = "00" } }', "single"),
        ('hs_code = { source = "v", format = "%Y" }', "date/time"),
        ('filed_at = { source = "v", format = "no directives" }', "directive"),
        ('filed_at = { source = "v", format = "%Y-%m-%d", timezone = "Mars/Base" }', "IANA"),
        ('filed_at = { source = "v", timezone = "Europe/Paris" }', "with a format"),
        ('item_no = { source = "v", regex = "[0-9]+" }', "capture group"),
        ('item_no = { source = "v", regex = "(?<=x)(1)" }', "compile"),
        ('item_no = { source = "v", excel_serial = "week" }', "excel_serial"),
        ('value = { source = "v", decimal = ",", thousands = "," }', "differ"),
        ('value = { source = "v", decimal = "::" }', "single character"),
        ('hs_code = { source = "v", scale = 2 }', "amounts and measures"),
        ('value = { source = "v", scale = 0 }', "non-zero"),
        ('value = { source = "v", aggregate = "sum" }', "consignment columns"),
        ('filer_id = { source = "v", aggregate = "sum" }', "numeric"),
        ('total_value = { source = "v", aggregate = "max" }', "one of"),
        ('transport_mode = { source = "v", values = { "10" = true } }', "table"),
    ],
)
def test_bad_transforms_are_refused(entry: str, why: str) -> None:
    with pytest.raises(InvalidColumnMapError) as err:
        parse_column_map(MINIMAL + entry + "\n", origin="m.toml")
    (problem,) = err.value.problems
    assert (problem.code, problem.path) == ("column_map.invalid_transform", "m.toml:6")
    assert why in problem.message


def test_unknown_column_option_is_refused() -> None:
    assert problems(MINIMAL + 'hs_code = { source = "v", padleft = 6 }\n') == [
        ("column_map.unknown_key", "m.toml:6")
    ]


def test_entry_without_source_is_refused() -> None:
    assert problems(MINIMAL + "hs_code = { pad_left = 6 }\n") == [
        ("column_map.invalid_value", "m.toml:6")
    ]


def test_repeated_and_ignored_sources_are_duplicates() -> None:
    text = """\
id = "t"
record_key = "id"
ignore = [
    "a",
    "b",
    "a",
]

[columns]
filing_id = "id"
hs_code = "b"
"""
    assert problems(text) == [
        ("column_map.duplicate", "m.toml:6"),
        ("column_map.duplicate", "m.toml:11"),
    ]


def test_missing_keys_and_unknown_top_level_keys() -> None:
    text = 'description = "no id"\ncolumn = "typo"\n'
    assert problems(text) == [
        ("column_map.unknown_key", "m.toml:2"),
        ("column_map.missing_key", "m.toml"),
        ("column_map.missing_key", "m.toml"),
    ]


def test_unknown_encoding_and_bad_delimiter() -> None:
    text = MINIMAL.replace('id = "t"', 'id = "t"\nencoding = "klingon"\ndelimiter = ";;"')
    assert problems(text) == [
        ("column_map.invalid_value", "m.toml:2"),
        ("column_map.invalid_value", "m.toml:3"),
    ]


def test_unchecked_code_columns_must_be_canonical() -> None:
    text = MINIMAL.replace('id = "t"', 'id = "t"\nunchecked_code_columns = ["origin"]')
    assert problems(text) == [("column_map.unknown_field", "m.toml:2")]


def test_syntax_errors_carry_the_line() -> None:
    assert problems(MINIMAL + "hs_code = {source = \n") == [("column_map.syntax", "m.toml:6")]


def test_constants_of_every_type_convert() -> None:
    text = MINIMAL + '\n[constants]\ncurrency = "KRW"\nitem_no = 1\ntotal_value = 12.5\n'
    cmap = parse_column_map(text)
    assert cmap.constants == {"currency": "KRW", "item_no": 1, "total_value": 12.5}
    row = pl.select(
        constant_expr("currency", "KRW").alias("c"),
        constant_expr("item_no", 1).alias("n"),
        constant_expr("total_value", 12.5).alias("v"),
    )
    assert row.row(0) == ("KRW", 1, Decimal("12.5000"))


def test_labels_name_the_source_columns() -> None:
    cmap = parse_column_map(
        MINIMAL + 'hs_code = "HS6 Code"\n\n[constants]\ncurrency = "KRW"\n', origin="m.toml"
    )
    labels = cmap.labels()
    assert labels["item.hs_code"].label == 'column "HS6 Code"'
    assert labels["filing_id"].label == 'column "id"'
    assert labels["consignment_id"].label == 'column "id"'  # defaults to the record key
    assert labels["item.consignment_id"].label == 'column "id"'
    assert "constant" in labels["currency"].label
    assert "hs_code" not in labels  # items are prefixed


def test_missing_columns_are_listed_in_map_order() -> None:
    cmap = parse_column_map(MINIMAL + 'hs_code = "HS"\nvalue = "V"\n')
    assert cmap.missing_columns(["id", " V "]) == ["HS"]


def _apply(spec: ColumnSpec, values: list[str | None], nulls: tuple[str, ...] = ()) -> list[object]:
    frame = pl.DataFrame({"raw": values}, schema={"raw": pl.String()})
    return (
        frame.select(to_canonical(spec, source_text(spec, pl.col("raw"), nulls)))
        .to_series()
        .to_list()
    )


@pytest.mark.parametrize(
    ("spec", "raw", "expected"),
    [
        (
            ColumnSpec("hs_code", "x", pad_left=6),
            [" 10690 ", "610910", "", None],
            ["010690", "610910", None, None],
        ),
        (ColumnSpec("hs_code", "x", pad_left=10), ["104109000"], ["0104109000"]),
        (
            ColumnSpec("item_no", "x", regex=r"^\s*(\d+)"),
            ["1 of 3", " 12 of 12", "abc"],
            [1, 12, None],
        ),
        (
            ColumnSpec("transport_mode", "x", values={"10": "1", "40": "4"}),
            ["10", "40", "60"],
            ["1", "4", "60"],
        ),
        (
            ColumnSpec("item_no", "x", excel_serial="day"),
            ["43831", "43925", "43893", "n/a"],
            [1, 4, 3, None],
        ),
        (
            ColumnSpec("value", "x", decimal=",", thousands="."),
            ["1.234,5", "7"],
            [Decimal("1234.5000"), Decimal("7.0000")],
        ),
        (ColumnSpec("value", "x", scale=Decimal("0.001")), ["1500"], [Decimal("1.5000")]),
        (ColumnSpec("net_mass_kg", "x", scale=Decimal("0.001")), ["2500", "x"], [2.5, None]),
        (ColumnSpec("quantity", "x"), ["1e3", "2"], [1000.0, 2.0]),
    ],
)
def test_transforms(spec: ColumnSpec, raw: list[str | None], expected: list[object]) -> None:
    assert _apply(spec, raw) == expected


def test_date_format_and_time_zone() -> None:
    spec = ColumnSpec("filed_at", "x", format="%d-%b-%y")
    got = _apply(spec, ["14-Aug-14", "4-Jun-13", "31-Feb-14"])
    assert [d.isoformat() if d else None for d in got] == [  # type: ignore[attr-defined]
        "2014-08-14T00:00:00+00:00",
        "2013-06-04T00:00:00+00:00",
        None,
    ]
    seoul = ColumnSpec("filed_at", "x", format="%Y-%m-%d %H:%M", timezone="Asia/Seoul")
    (instant,) = _apply(seoul, ["2020-01-01 09:00"])
    assert instant.isoformat() == "2020-01-01T00:00:00+00:00"  # type: ignore[attr-defined]


def test_null_values_of_the_map_mean_missing() -> None:
    spec = ColumnSpec("quantity", "x")
    assert _apply(spec, ["NA", "3", " "], nulls=("NA",)) == [None, 3.0, None]
