"""The JSON Lines / JSON readers: line numbers, blank lines, chunking, malformed input."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl
import pytest

from smartcustoms.intake import read_batches
from smartcustoms.intake.formats import InputFormat, detect_format
from smartcustoms.testing import make_filing, make_postal_item


def read_all(path: Path, chunk_size: int = 50_000, fmt: str | None = None) -> list:  # type: ignore[type-arg]
    return list(read_batches(path, chunk_size=chunk_size, fmt=fmt))


def lines_of(*filings: dict[str, object]) -> list[bytes]:
    return [orjson.dumps(f) for f in filings]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 100])
def test_line_numbers_skip_blank_lines_whatever_the_chunking(
    tmp_path: Path, chunk_size: int
) -> None:
    a, b, c = lines_of(make_filing("A"), make_filing("B"), make_filing("C"))
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + a + b"\r\n\r\n   \t\n" + b + b"\n\n" + c)  # BOM, CRLF
    batches = read_all(path, chunk_size)
    records = pl.concat([b.records for b in batches])
    assert records["line"].to_list() == [1, 4, 6]
    assert records["_record"].to_list() == [0, 1, 2]
    assert [c for b in batches for c in b.consignments["filing_id"].to_list()] == ["A", "B", "C"]
    assert sum(b.problems.height for b in batches) == 0
    # payloads are the records exactly, without terminators
    first = batches[0]
    assert first.payload(0) == a


def test_last_line_without_newline_is_fine_when_complete(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"\n".join(lines_of(make_filing("A"), make_filing("B"))))
    (batch,) = read_all(path)
    assert batch.consignments.height == 2
    assert batch.problems.height == 0


def test_truncated_last_line(tmp_path: Path) -> None:
    (a,) = lines_of(make_filing("A"))
    path = tmp_path / "f.jsonl"
    path.write_bytes(a + b"\n" + a[:40])
    (batch,) = read_all(path)
    assert batch.problems.select("_record", "code").rows() == [(1, "file.truncated")]
    assert batch.payload(1) == a[:40]


def test_bad_line_in_the_middle_does_not_hide_its_neighbours(tmp_path: Path) -> None:
    good = lines_of(*(make_filing(f"F{i}") for i in range(50)))
    good[17] = b'{"filing_id": "X", "consignments": [}'
    good[33] = b'{"filing_id": "Y\xff"}'
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"\n".join(good) + b"\n")
    (batch,) = read_all(path)
    assert batch.consignments.height == 48
    assert sorted(batch.problems.select("_record", "code").rows()) == [
        (17, "json.malformed"),
        (33, "encoding.invalid"),
    ]


def test_empty_file_yields_one_empty_batch(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"\n\n")
    (batch,) = read_all(path, fmt="jsonl")
    assert batch.records.height == 0


def test_json_document_forms(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_bytes(orjson.dumps(make_filing("A"), option=orjson.OPT_INDENT_2))
    many = tmp_path / "many.json"
    many.write_bytes(orjson.dumps({"filings": [make_filing("A"), make_filing("B")]}))
    assert detect_format(one) is InputFormat.JSON
    assert [b.consignments.height for b in read_all(one)] == [1]
    assert [b.consignments.height for b in read_all(many)] == [2]


def test_postal_detection_and_mapping(tmp_path: Path) -> None:
    path = tmp_path / "post.json"
    path.write_bytes(orjson.dumps([make_postal_item()]))
    assert detect_format(path) is InputFormat.POSTAL
    (batch,) = read_all(path)
    row = batch.consignments.row(0, named=True)
    assert row["consignment_id"] == row["filing_id"] == row["postal_item_id"] == "RR123456785CN"
    assert row["seller_name"] == "Li Wei"
    assert row["buyer_city"] == "Lyon"
    assert row["transport_mode"] == "5"
    assert batch.items["hs_code"].to_list() == ["621410", "691200"]
    assert batch.items["item_no"].to_list() == [1, 2]
