"""The CSV adapter: real public extracts through the shipped maps, then every way a file breaks.

The rule under test everywhere: every data row lands in exactly one record, every record is
reported, and broken rows carry a coded problem (accepted + quarantined = received).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from unittest import mock

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcustoms.errors import InvalidColumnMapError
from smartcustoms.intake import _csv
from smartcustoms.intake._csv import iter_csv
from smartcustoms.intake.batch import ParsedBatch
from smartcustoms.intake.column_map import ColumnMap, load_column_map, parse_column_map
from smartcustoms.intake.validate import ValidationContext, normalise_codes, validate_batch
from smartcustoms.model.columns import CONSIGNMENT_SCHEMA, ITEM_SCHEMA, RECORD

TEST_MAP = """\
id = "test"
record_key = "id"
label_columns = ["fraud"]
ignore = ["note"]

[columns]
filing_id = "id"
filed_at = { source = "date", format = "%d-%b-%y" }
total_value = { source = "v", aggregate = "sum" }
hs_code = { source = "hs", pad_left = 6 }
value = "v"

[constants]
currency = "EUR"
description = "cotton shirts for men"
"""
HEADER = b"id,hs,v,date,note,fraud\n"
REAL_CODES = {"hs.unknown", "value.not_positive", "country.unknown"}


@pytest.fixture
def cmap() -> ColumnMap:
    return parse_column_map(TEST_MAP, origin="test.toml")


def write(tmp_path: Path, body: bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(body)
    return path


def read(path: Path, cmap: ColumnMap, chunk_size: int = 1000, first: int = 0) -> ParsedBatch:
    """All batches of ``path`` merged into one, for assertions."""
    batches = list(iter_csv(path, column_map=cmap, chunk_size=chunk_size, first_record=first))
    return ParsedBatch(
        source=batches[0].source,
        fmt=batches[0].fmt,
        records=pl.concat([b.records for b in batches]),
        payloads=[p for b in batches for p in b.payloads],
        consignments=pl.concat([b.consignments for b in batches]),
        items=pl.concat([b.items for b in batches]),
        problems=pl.concat([b.problems for b in batches]),
        labels=batches[0].labels,
        separator=batches[0].separator,
        column_map=batches[0].column_map,
    )


def problem_set(batch: ParsedBatch) -> set[tuple[int, str, str]]:
    return set(batch.problems.select(RECORD, "code", "path").iter_rows())


def validation_codes(batch: ParsedBatch, cmap: ColumnMap, now: datetime) -> Counter[str]:
    ctx = ValidationContext(
        now=now, max_days_past=3650, unchecked_code_columns=cmap.unchecked_code_columns
    )
    cons, items = normalise_codes(batch.consignments, batch.items)
    found = validate_batch(batch, ctx, consignments=cons, items=items)
    return Counter(pl.concat([batch.problems, found])["code"].to_list())


# --------------------------------------------------------------------------- real extracts


JEONG_SPLITS = ("df_syn_train_eng.csv", "df_syn_valid_eng.csv", "df_syn_test_eng.csv")


@pytest.mark.parametrize("split", JEONG_SPLITS)
@pytest.mark.parametrize(
    ("folder", "map_name", "code_column", "width"),
    [("", "jeong2022", "HS6 Code", 6), ("hs10-2022-06", "jeong2022-hs10", "HS10 Code", 10)],
)
def test_jeong_files_load_unchanged(
    jeong_dir: Path, split: str, folder: str, map_name: str, code_column: str, width: int
) -> None:
    path = jeong_dir / folder / split
    cmap = load_column_map(map_name)
    source = pl.read_csv(path, infer_schema=False)
    batch = read(path, cmap, chunk_size=5_000)

    assert batch.problems.is_empty()
    assert batch.records.height == source.height  # one declaration per row
    assert batch.records["line"].to_list() == list(range(2, source.height + 2))
    assert batch.consignments["filing_id"].to_list() == source["Declaration ID"].to_list()
    assert batch.items["item_no"].unique().to_list() == [1]
    # codes were written as numbers upstream: the map restores the leading zeros
    hs = batch.items["hs_code"]
    assert hs.str.contains(f"^[0-9]{{{width}}}$").all()
    assert hs.to_list() == source[code_column].str.pad_start(width, "0").to_list()
    assert set(batch.consignments["currency"].unique()) == {"KRW"}
    assert batch.items["value"].to_list() == [
        Decimal(v).quantize(Decimal("0.0001")) for v in source["Item Price"].to_list()
    ]
    # the labels never reach a canonical frame
    for frame in (batch.consignments, batch.items):
        assert not {"Fraud", "Critical Fraud", "fraud"} & set(frame.columns)
    assert batch.payloads[0] == path.read_bytes().split(b"\n", 1)[0] + b"\n" + (
        path.read_bytes().split(b"\n", 2)[1] + b"\n"
    )


def test_jeong_hs10_file_has_codes_that_lost_a_leading_zero(jeong_dir: Path) -> None:
    path = jeong_dir / "hs10-2022-06" / "df_syn_test_eng.csv"
    short = pl.read_csv(path, infer_schema=False).filter(pl.col("HS10 Code").str.len_chars() == 9)
    assert short.height > 0
    items = read(path, load_column_map("jeong2022-hs10")).items
    padded = items.filter(pl.col("consignment_id").is_in(short["Declaration ID"].to_list()))
    assert padded["hs_code"].str.starts_with("0").all()


def test_jeong_records_pass_validation_but_for_real_defects(jeong_dir: Path) -> None:
    """The map covers every required field; what remains are the data's own defects.

    The dataset's codes are HS 2017 (``851712`` was split in HS 2022), some prices or masses
    are 0, and a few country codes are ``ZZ``.
    """
    cmap = load_column_map("jeong2022")
    batch = read(jeong_dir / "df_syn_valid_eng.csv", cmap)
    codes = validation_codes(batch, cmap, datetime(2021, 3, 31, tzinfo=UTC))
    assert set(codes) <= REAL_CODES
    assert sum(codes.values()) < batch.records.height * 0.1


def test_date_extract_with_its_truncated_last_record(date_dir: Path) -> None:
    path = date_dir / "nigeria-format-train-first25lines.csv"
    cmap = load_column_map("asycuda-date")
    batch = read(path, cmap, chunk_size=3)

    assert batch.records.rows() == [
        (0, 2), (1, 6), (2, 12), (3, 13), (4, 15), (5, 19), (6, 22), (7, 24)
    ]  # fmt: skip
    # a strict CSV parser fails at the end of this file: only the last record says so
    assert problem_set(batch) == {(7, "file.truncated", "line 24")}
    assert batch.consignments[RECORD].to_list() == list(range(7))
    cons = batch.consignments
    assert cons["filing_id"][0] == "SGD826036"
    assert cons["filed_at"][0] == datetime(2014, 8, 14, tzinfo=UTC)  # 14-Aug-14
    assert cons["filed_at"][3] == datetime(2013, 6, 4, tzinfo=UTC)  # 4-Jun-13
    assert set(cons["currency"]) == {"NGN"}
    items = batch.items
    assert items["item_no"].to_list() == [1] * 7  # "1 of 1"
    assert items["hs_code"][0] == "7321119014"
    assert items["origin_country"][0] == "CNTRY652"
    assert items["description"][0].startswith("Other imported cooking appliances")
    assert cons["total_value"][0] == Decimal("55601528")
    # the multi-line inspection notes are kept, verbatim, in the payload only
    assert b"39556 AC YAHAYA,M." in batch.payloads[0]
    assert b"Released by NCS35790" in batch.payloads[1]
    for frame in (cons, items):
        assert "FAST TRACK" not in str(frame.rows())
    assert batch.payloads[7].endswith(b"CITI BANK PLC.\r\n")
    # anonymised country codes are not held against the filer
    codes = validation_codes(batch, cmap, datetime(2016, 12, 31, tzinfo=UTC))
    assert codes == Counter({"file.truncated": 1})


def test_weekly_batch_groups_items_by_declaration(date_dir: Path) -> None:
    path = date_dir / "week1_ano.csv"
    cmap = load_column_map("asycuda-week")
    batch = read(path, cmap)
    source = pl.read_csv(path, infer_schema=False)

    assert batch.problems.is_empty()
    assert batch.records.height == source["SGD_NUM"].n_unique() == 30
    assert batch.items.height == source.height == 50
    items = batch.items.filter(pl.col("consignment_id") == "C12865")
    # ITM_NUM is a spreadsheet date serial whose day is the item number (4 of 4 = 43925)
    assert items["item_no"].to_list() == [1, 4, 3, 2]
    assert items["_path"].to_list() == ["line 5", "line 6", "line 7", "line 8"]
    gap = batch.items.filter(pl.col("consignment_id") == "C12962")["item_no"].to_list()
    assert gap == [1, 3]
    c12894 = batch.consignments.filter(pl.col("filing_id") == "C12894")
    assert c12894["total_value"][0] == Decimal(4193354 + 211248 + 21741 + 7442945)
    assert c12894["filed_at"][0] == datetime(2020, 4, 20, tzinfo=UTC)
    codes = validation_codes(batch, cmap, datetime(2020, 4, 30, tzinfo=UTC))
    assert set(codes) <= {"hs.unknown"}  # 3907600069 is an HS 2017 line


# --------------------------------------------------------------------------- structure


def test_clean_file(tmp_path: Path, cmap: ColumnMap) -> None:
    body = b"A,10690,1.5,14-Aug-14,first,0\nA,610910,2,14-Aug-14,second,1\nB,020110,3,4-Jun-13,,0\n"
    batch = read(write(tmp_path, HEADER + body), cmap, first=10)
    assert batch.fmt == "csv"
    assert batch.column_map == "test"
    assert batch.separator == ", "
    assert batch.records.rows() == [(10, 2), (11, 4)]
    assert batch.payloads == [HEADER + body[:60], HEADER + body[60:]]
    assert batch.problems.is_empty()
    assert batch.consignments.select(
        "filing_id", "consignment_id", "total_value", "_path"
    ).rows() == [
        ("A", "A", Decimal("3.5"), "line 2"),
        ("B", "B", Decimal("3"), "line 4"),
    ]
    assert batch.items.select("item_no", "hs_code", "_path").rows() == [
        (1, "010690", "line 2"),
        (2, "610910", "line 3"),
        (1, "020110", "line 4"),
    ]
    assert batch.consignments.columns == [*CONSIGNMENT_SCHEMA, RECORD, "_path"]
    assert batch.items.columns == [*ITEM_SCHEMA, RECORD, "_path"]
    assert batch.consignments.schema["total_value"] == CONSIGNMENT_SCHEMA["total_value"]
    assert batch.labels["item.hs_code"].label == 'column "hs"'


def test_byte_order_mark_and_crlf(tmp_path: Path, cmap: ColumnMap) -> None:
    body = HEADER.replace(b"\n", b"\r\n") + b"A,1,2,14-Aug-14,x,0\r\nB,2,3,14-Aug-14,y,0\r\n"
    batch = read(write(tmp_path, b"\xef\xbb\xbf" + body), cmap)
    assert batch.problems.is_empty()
    assert batch.records["line"].to_list() == [2, 3]
    assert batch.consignments["filing_id"].to_list() == ["A", "B"]  # no BOM in the first key
    assert batch.items["value"].to_list() == [Decimal(2), Decimal(3)]  # no \r in the last
    assert batch.payloads[1].endswith(b"B,2,3,14-Aug-14,y,0\r\n")


def test_quoted_fields_across_lines_keep_line_numbers(tmp_path: Path, cmap: ColumnMap) -> None:
    body = (
        b'A,1,2,14-Aug-14,"note on\r\ntwo, lines",0\n'
        b'B,2,"3",14-Aug-14,"three\n""quoted""\nlines",0\n'
        b"C,3,4,14-Aug-14,,0\n"
    )
    batch = read(write(tmp_path, HEADER + body), cmap)
    assert batch.problems.is_empty()
    assert batch.records["line"].to_list() == [2, 4, 7]
    assert batch.items["_path"].to_list() == ["line 2", "line 4", "line 7"]
    assert b'"three\n""quoted""\nlines"' in batch.payloads[1]


def test_ragged_rows_are_kept_as_malformed(tmp_path: Path, cmap: ColumnMap) -> None:
    body = (
        b"A,1,2,14-Aug-14,x,0\n"
        b"A,2,3,14-Aug-14\n"  # too few fields: A is incomplete, quarantined whole
        b"B,3,4,14-Aug-14,y,0,extra\n"  # too many
        b"C,4,5,14-Aug-14,z,0\n"
    )
    batch = read(write(tmp_path, HEADER + body), cmap)
    assert problem_set(batch) == {(0, "csv.malformed", "line 3"), (1, "csv.malformed", "line 4")}
    messages = batch.problems["message"].to_list()
    assert "4 fields, the header has 6" in messages[0]
    assert batch.records["line"].to_list() == [2, 4, 5]
    assert batch.payloads[0] == HEADER + b"A,1,2,14-Aug-14,x,0\nA,2,3,14-Aug-14\n"
    assert batch.items[RECORD].to_list() == [0, 2]  # the readable row of A is still reported


def test_invalid_bytes_are_flagged_not_dropped(tmp_path: Path, cmap: ColumnMap) -> None:
    body = b"A,1,2,14-Aug-14,caf\xe9,0\nA,2,3,14-Aug-14,ok,0\nB,3,4,14-Aug-14,ok,0\n"
    batch = read(write(tmp_path, HEADER + body), cmap)
    assert problem_set(batch) == {(0, "encoding.invalid", "line 2")}
    assert b"caf\xe9" in batch.payloads[0]  # the bytes as received, for the filer to fix
    assert batch.items.height == 3  # the record is still read (and quarantined by its error)


def test_invalid_bytes_on_the_python_csv_path(tmp_path: Path, cmap: ColumnMap) -> None:
    # the stray quote (a literal inside an unquoted field) sends the block to the csv module
    body = b'A,1,2,14-Aug-14,5" pipe,0\nB,2,3,14-Aug-14,\xff,0\nC,3,4,14-Aug-14,"a"b,0\n'
    batch = read(write(tmp_path, HEADER + body), cmap)
    assert problem_set(batch) == {
        (1, "encoding.invalid", "line 3"),
        (2, "csv.malformed", "line 4"),  # text after a closing quote
    }
    assert b"\xff" in batch.payloads[1]
    assert batch.consignments["filing_id"].to_list() == ["A", "B"]


def test_non_utf8_map(tmp_path: Path) -> None:
    cmap = parse_column_map(TEST_MAP.replace('id = "test"', 'id = "test"\nencoding = "cp1252"'))
    body = "A,1,2,14-Aug-14,café,0\n".encode("cp1252") + b"B,2,3,14-Aug-14,\x81,0\n"
    path = write(tmp_path, HEADER + body)
    batch = read(path, cmap)
    assert problem_set(batch) == {(1, "encoding.invalid", "line 3")}
    # payloads are UTF-8 with a byte-order mark, so they resubmit through the same map
    assert batch.payloads[0] == b"\xef\xbb\xbf" + HEADER + "A,1,2,14-Aug-14,café,0\n".encode()
    again = read(write(tmp_path, batch.payloads[0], "payload.csv"), cmap)
    assert again.problems.is_empty()
    assert again.items.drop(RECORD).equals(batch.items.filter(pl.col(RECORD) == 0).drop(RECORD))


def test_utf16_map(tmp_path: Path) -> None:
    cmap = parse_column_map(TEST_MAP.replace('id = "test"', 'id = "test"\nencoding = "utf-16"'))
    text = HEADER.decode() + "A,1,2,14-Aug-14,naïve,0\nB,2,3,14-Aug-14,x,0\n"
    batch = read(write(tmp_path, text.encode("utf-16")), cmap)
    assert batch.problems.is_empty()
    assert batch.records.rows() == [(0, 2), (1, 3)]
    assert "naïve".encode() in batch.payloads[0]


def test_rows_longer_than_64_kib(tmp_path: Path, cmap: ColumnMap) -> None:
    """Long rows are counted exactly (a 16-bit running count would wrap)."""
    note = b'"' + b"a," * 40_000 + b'"'
    body = (
        b"A,1,2,14-Aug-14," + note + b",0\n"
        b"B,1,2,14-Aug-14," + b"b," * 65_537 + b"0\n"  # 65,542 fields: 6 modulo 2**16
        b"C,3,4,14-Aug-14,x,0\n"
    )
    batch = read(write(tmp_path, HEADER + body), cmap)
    assert problem_set(batch) == {(1, "csv.malformed", "line 3")}
    assert "65542 fields" in batch.problems["message"][0]
    assert batch.consignments["filing_id"].to_list() == ["A", "C"]


def test_truncated_file(tmp_path: Path, cmap: ColumnMap) -> None:
    body = b'A,1,2,14-Aug-14,x,0\nB,2,3,14-Aug-14,"unterminated\nnote'
    batch = read(write(tmp_path, HEADER + body), cmap)
    assert problem_set(batch) == {(1, "file.truncated", "line 3")}
    assert batch.payloads[1] == HEADER + b'B,2,3,14-Aug-14,"unterminated\nnote'
    assert batch.consignments["filing_id"].to_list() == ["A"]


def test_truncated_row_joins_its_filing(tmp_path: Path, cmap: ColumnMap) -> None:
    body = b'A,1,2,14-Aug-14,x,0\nA,2,3,14-Aug-14,"cut'
    batch = read(write(tmp_path, HEADER + body), cmap)
    assert problem_set(batch) == {(0, "file.truncated", "line 3")}
    assert batch.records.height == 1


def test_last_row_without_line_break_is_complete(tmp_path: Path, cmap: ColumnMap) -> None:
    batch = read(write(tmp_path, HEADER + b"A,1,2,14-Aug-14,x,0"), cmap)
    assert batch.problems.is_empty()
    assert batch.records.rows() == [(0, 2)]


def test_blank_lines_are_not_records(tmp_path: Path, cmap: ColumnMap) -> None:
    body = b"\nA,1,2,14-Aug-14,x,0\n\n   \n,,,,,\nB,2,3,14-Aug-14,y,0\n\r\n"
    batch = read(write(tmp_path, HEADER + body), cmap)
    assert batch.problems.is_empty()
    assert batch.records.rows() == [(0, 3), (1, 7)]


def test_missing_source_columns_are_listed_before_any_row(tmp_path: Path, cmap: ColumnMap) -> None:
    path = write(tmp_path, b"id,note,fraud\nA,x,0\n")
    batches = iter_csv(path, column_map=cmap, chunk_size=10)
    with pytest.raises(InvalidColumnMapError) as err:
        next(batches)
    problems = err.value.problems
    assert [p.code for p in problems] == ["column_map.missing_column"] * 3
    assert [p.message.split('"')[1] for p in problems] == ["date", "v", "hs"]
    assert '"date", "v", "hs"' in err.value.message


def test_ambiguous_header_column(tmp_path: Path, cmap: ColumnMap) -> None:
    path = write(tmp_path, b"id,hs,v,date,v\nA,1,2,14-Aug-14,3\n")
    with pytest.raises(InvalidColumnMapError) as err:
        list(iter_csv(path, column_map=cmap, chunk_size=10))
    assert [p.code for p in err.value.problems] == ["column_map.ambiguous_column"]


def test_unmapped_and_label_columns_are_not_loaded(tmp_path: Path, cmap: ColumnMap) -> None:
    path = write(tmp_path, b"extra,id,hs,v,date,note,fraud\nz,A,1,2,14-Aug-14,x,SECRET\n")
    batch = read(path, cmap)
    assert batch.problems.is_empty()
    for frame in (batch.consignments, batch.items):
        assert "SECRET" not in str(frame.rows())


@pytest.mark.parametrize("body", [b"", HEADER, b"\n\n"])
def test_file_without_rows_yields_one_empty_batch(
    tmp_path: Path, cmap: ColumnMap, body: bytes
) -> None:
    (batch,) = list(iter_csv(write(tmp_path, body), column_map=cmap, chunk_size=10))
    assert batch.records.is_empty()
    assert batch.payloads == []
    assert batch.items.is_empty()
    assert batch.consignments.columns == [*CONSIGNMENT_SCHEMA, RECORD, "_path"]


def test_values_that_do_not_convert(tmp_path: Path, cmap: ColumnMap) -> None:
    body = b"A,1,abc,31-Feb-14,x,0\nB,,4,2014-08-14,x,0\n"
    batch = read(write(tmp_path, HEADER + body), cmap)
    found = {(r, c, p) for r, c, p in problem_set(batch)}
    assert found == {
        (0, "value.not_number", 'line 2, column "v"'),  # the item value, and the sum
        (0, "date.unparseable", 'line 2, column "date"'),
        (1, "date.unparseable", 'line 3, column "date"'),
    }
    assert "in the format %d-%b-%y: 2014-08-14" in " ".join(batch.problems["message"])
    # a missing required value is left null for the validator's field.required
    assert batch.items["hs_code"].to_list() == ["000001", None]


def test_item_numbers_default_to_row_order(tmp_path: Path, cmap: ColumnMap) -> None:
    body = b"A,1,2,14-Aug-14,x,0\nA,2,3,14-Aug-14,y,0\nA,3,3,14-Aug-14,z,0\n"
    assert read(write(tmp_path, HEADER + body), cmap).items["item_no"].to_list() == [1, 2, 3]


def test_rows_of_a_key_apart_in_the_file_form_one_record(tmp_path: Path, cmap: ColumnMap) -> None:
    body = b"A,1,2,14-Aug-14,x,0\nB,2,3,14-Aug-14,y,0\nA,3,4,14-Aug-14,z,0\n"
    batch = read(write(tmp_path, HEADER + body), cmap)
    assert batch.records.rows() == [(0, 2), (1, 3)]
    assert batch.payloads[0] == HEADER + b"A,1,2,14-Aug-14,x,0\nA,3,4,14-Aug-14,z,0\n"
    assert batch.items.filter(pl.col(RECORD) == 0)["_path"].to_list() == ["line 2", "line 4"]


def test_chunks_and_read_blocks_do_not_change_the_result(tmp_path: Path, cmap: ColumnMap) -> None:
    rows = [
        b'K%d,%d,%d,14-Aug-14,"n\n%d",0\n' % (k // 3, k, k + 1, k) if k % 4 == 0
        else b"K%d,%d,%d,14-Aug-14,n,0\n" % (k // 3, k, k + 1)
        for k in range(40)
    ]  # fmt: skip
    path = write(tmp_path, HEADER + b"".join(rows) + b"K99,1,x,1,2\n")
    whole = read(path, cmap, chunk_size=1000, first=5)
    assert whole.records.height == 15
    for size in (1, 2, 4):
        batches = list(iter_csv(path, column_map=cmap, chunk_size=size, first_record=5))
        assert [b.records.height for b in batches[:-1]] == [size] * (len(batches) - 1)
        merged = read(path, cmap, chunk_size=size, first=5)
        for name in ("records", "consignments", "items", "problems"):
            assert getattr(merged, name).equals(getattr(whole, name)), (size, name)
        assert merged.payloads == whole.payloads
    with mock.patch.object(_csv, "_READ_BLOCK", 7):
        tiny = read(path, cmap, chunk_size=3, first=5)
    for name in ("records", "consignments", "items", "problems"):
        assert getattr(tiny, name).equals(getattr(whole, name)), name
    assert tiny.payloads == whole.payloads


def test_runaway_quote_is_bounded(tmp_path: Path, cmap: ColumnMap) -> None:
    """An opening quote that never closes swallows the rest of the file, but loses nothing."""
    body = b'A,1,2,14-Aug-14,"never closed,0\nB,2,3,14-Aug-14,y,0\nC,3,4,14-Aug-14,z,0\n'
    with mock.patch.object(_csv, "_READ_BLOCK", 16), mock.patch.object(_csv, "_MAX_OPEN_QUOTE", 8):
        batch = read(write(tmp_path, HEADER + body), cmap)
    assert b"".join(p.removeprefix(HEADER) for p in batch.payloads) == body
    assert {c for _, c, _ in problem_set(batch)} == {"file.truncated"}


def test_payload_resubmits_through_the_same_map(tmp_path: Path, cmap: ColumnMap) -> None:
    body = b'A,1,2,14-Aug-14,"x\ny",0\nB,2,3,14-Aug-14,y,0\nA,3,4,14-Aug-14,z,0\n'
    batch = read(write(tmp_path, HEADER + body), cmap)
    again = read(write(tmp_path, batch.payloads[0], "resubmitted.csv"), cmap)
    first = batch.items.filter(pl.col(RECORD) == 0)
    assert again.items.drop("_path").equals(first.drop("_path"))
    assert again.consignments.drop("_path").equals(batch.consignments.head(1).drop("_path"))


def test_synthetic_traffic_round_trips_through_the_canonical_map(tmp_path: Path) -> None:
    """Filings with several consignments and items come back exactly as generated."""
    from smartcustoms.synth import TrafficConfig, generate_traffic
    from smartcustoms.synth.writers import item_rows

    chunks = list(generate_traffic(TrafficConfig(consignments=600, seed=42, chunk_size=300)))
    cons = pl.concat([c.consignments for c in chunks]).select(list(CONSIGNMENT_SCHEMA))
    items = pl.concat([c.items for c in chunks]).select(list(ITEM_SCHEMA))
    path = tmp_path / "traffic.csv"
    item_rows(cons, items).write_csv(path)
    batch = read(path, load_column_map("canonical"), chunk_size=97)
    assert batch.problems.is_empty()
    assert batch.records.height == cons["filing_id"].n_unique()
    got_cons = batch.consignments.drop(RECORD, "_path").sort("consignment_id")
    got_items = batch.items.drop(RECORD, "_path").sort("consignment_id", "item_no")
    assert got_cons.equals(cons.sort("consignment_id"))
    assert got_items.equals(items.sort("consignment_id", "item_no"))


@pytest.mark.slow
def test_a_large_file_reads_in_seconds(tmp_path: Path) -> None:
    """200,000 rows, one record each, in small chunks: nothing may be quadratic."""
    n = 200_000
    path = tmp_path / "large.csv"
    pl.DataFrame(
        {
            "id": pl.int_range(n, eager=True).cast(pl.String),
            "hs": pl.Series(["610910", "10690"] * (n // 2)),
            "v": pl.Series(["12.50", "3"] * (n // 2)),
            "date": pl.Series(["14-Aug-14"] * n),
            "note": pl.Series(['with "quotes", and commas'] * n),
            "fraud": pl.Series(["0"] * n),
        }
    ).write_csv(path)
    started = time.perf_counter()
    batch = read(path, parse_column_map(TEST_MAP), chunk_size=20_000)
    elapsed = time.perf_counter() - started
    assert batch.records.height == n
    assert batch.problems.is_empty()
    assert elapsed < 60, f"{elapsed:.1f}s"


# --------------------------------------------------------------------------- property

KINDS = ("good", "good", "good", "short", "long", "badbyte", "stray", "afterquote",
         "multiline", "crlf", "blank")  # fmt: skip
STRUCTURAL = {
    "short": "csv.malformed",
    "long": "csv.malformed",
    "afterquote": "csv.malformed",
    "badbyte": "encoding.invalid",
    "truncated": "file.truncated",
}


def _row(key: str, kind: str, n: int) -> tuple[bytes, bytes]:
    """(bytes before the row, the row's bytes)."""
    base = f"{key},{610910 + n},{n + 1},14-Aug-14".encode()
    row = {
        "good": base + b",n,0\n",
        "blank": base + b",n,0\n",
        "short": base + b"\n",
        "long": base + b",n,0,extra\n",
        "badbyte": base + b",\xff\xfe,0\n",
        "stray": base + b',5" pipe,0\n',
        "afterquote": base + b',"a"b,0\n',
        "multiline": base + b',"two\nlines",0\n',
        "crlf": base + b",n,0\r\n",
        "truncated": base + b',"cut off\nhere',
    }[kind]
    return (b"\n" if kind == "blank" else b""), row


@st.composite
def csv_files(
    draw: st.DrawFn, *, contiguous: bool
) -> tuple[bytes, dict[str, list[tuple[str, bytes]]]]:
    n_keys = draw(st.integers(1, 7))
    rows = [
        (f"K{k}", draw(st.sampled_from(KINDS)))
        for k in range(n_keys)
        for _ in range(draw(st.integers(1, 3)))
    ]
    if not contiguous:
        rows = draw(st.permutations(rows))
    if draw(st.booleans()):
        # in a contiguous file the cut-off row continues the last filing or starts one
        last = n_keys - 1 if contiguous else draw(st.integers(0, n_keys - 1))
        rows.append((f"K{draw(st.sampled_from([last, n_keys]))}", "truncated"))
    body = HEADER
    by_key: dict[str, list[tuple[str, bytes]]] = {}
    for n, (key, kind) in enumerate(rows):
        before, row = _row(key, kind, n)
        body += before + row
        by_key.setdefault(key, []).append((kind, row))
    return body, by_key


def _check_every_row_lands_once(
    tmp_path: Path, body: bytes, by_key: dict[str, list[tuple[str, bytes]]], chunk_size: int
) -> None:
    path = write(tmp_path, body, "prop.csv")
    batch = read(path, parse_column_map(TEST_MAP), chunk_size=chunk_size, first=3)
    assert batch.records[RECORD].to_list() == list(range(3, 3 + len(by_key)))
    assert all(p.startswith(HEADER) for p in batch.payloads)
    bodies = {p[len(HEADER) :].split(b",", 1)[0].decode(): p[len(HEADER) :] for p in batch.payloads}
    assert len(bodies) == len(batch.payloads) == len(by_key)  # records = distinct keys
    codes: dict[int, set[str]] = {}
    for record, code in batch.problems.select(RECORD, "code").iter_rows():
        codes.setdefault(record, set()).add(code)
    for record, payload in zip(batch.records[RECORD], batch.payloads, strict=True):
        key = payload[len(HEADER) :].split(b",", 1)[0].decode()
        rows = by_key[key]
        assert bodies[key] == b"".join(row for _, row in rows)  # every row, once, in order
        assert codes.get(record, set()) == {STRUCTURAL[k] for k, _ in rows if k in STRUCTURAL}
        readable = sum(k not in ("short", "long", "afterquote", "truncated") for k, _ in rows)
        assert (batch.items[RECORD] == record).sum() == readable


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=csv_files(contiguous=False), chunk_size=st.integers(1, 4))
def test_every_row_lands_in_exactly_one_record(
    tmp_path: Path, data: tuple[bytes, dict[str, list[tuple[str, bytes]]]], chunk_size: int
) -> None:
    body, by_key = data
    _check_every_row_lands_once(tmp_path, body, by_key, chunk_size)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=csv_files(contiguous=True), chunk_size=st.integers(1, 4), block=st.integers(5, 80))
def test_every_row_lands_once_across_read_blocks(
    tmp_path: Path,
    data: tuple[bytes, dict[str, list[tuple[str, bytes]]]],
    chunk_size: int,
    block: int,
) -> None:
    body, by_key = data
    with mock.patch.object(_csv, "_READ_BLOCK", block):
        _check_every_row_lands_once(tmp_path, body, by_key, chunk_size)
