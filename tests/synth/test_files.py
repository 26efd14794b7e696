"""Files written by a run: filings JSONL/CSV, events, labels - deterministic and canonical."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import polars as pl
import pytest

from smartcustoms.model import CONSIGNMENT_SCHEMA, EVENT_SCHEMA, ITEM_SCHEMA, Filing
from smartcustoms.synth import (
    LABEL_SCHEMA,
    TrafficChunk,
    TrafficConfig,
    filing_records,
    generate_traffic,
    write_traffic,
)

from .conftest import concat

MONEY_FIELDS = ("total_value", "transport_cost", "insurance_cost")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def small() -> TrafficConfig:
    return TrafficConfig(consignments=1_500, seed=42, chunk_size=500)


@pytest.fixture(scope="module")
def jsonl(small: TrafficConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("jsonl") / "filings.jsonl"
    write_traffic(small, out, compute_revenue=False)
    return out


def _decimals(value: float) -> int:
    text = repr(value)
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def test_every_jsonl_line_is_a_valid_filing(jsonl: Path, small: TrafficConfig) -> None:
    lines = jsonl.read_bytes().splitlines()
    consignments = 0
    for line in lines:
        record = orjson.loads(line)
        filing = Filing.model_validate(record)
        consignments += len(filing.consignments)
        assert record["filed_at"].endswith("Z")
        for consignment in record["consignments"]:
            for name in MONEY_FIELDS:
                value = consignment[name]
                assert value is None or (isinstance(value, float | int) and _decimals(value) <= 2)
            for item in consignment["items"]:
                assert isinstance(item["value"], float | int)
                assert _decimals(item["value"]) <= 2
            assert consignment["expected_arrival_at"] is None or consignment[
                "expected_arrival_at"
            ].endswith("Z")
    assert consignments == small.consignments
    assert len(lines) < consignments, "some filings carry several consignments"


def test_jsonl_round_trips_to_the_canonical_frames(jsonl: Path, small: TrafficConfig) -> None:
    chunks = list(generate_traffic(small, with_events=False))
    first = orjson.loads(jsonl.read_bytes().splitlines()[0])
    expected = filing_records(chunks[0].consignments, chunks[0].items).row(0, named=True)
    assert first["filing_id"] == expected["filing_id"]
    assert (
        first["consignments"][0]["items"][0]["hs_code"]
        == (expected["consignments"][0]["items"][0]["hs_code"])
    )
    consignment = first["consignments"][0]
    row = chunks[0].consignments.row(0, named=True)
    assert consignment["consignment_id"] == row["consignment_id"]
    assert consignment["seller"]["name"] == row["seller_name"]
    assert str(consignment["total_value"]) == f"{row['total_value'].normalize():f}" or (
        consignment["total_value"] == float(row["total_value"])
    )


def test_labels_never_appear_in_filings(jsonl: Path) -> None:
    text = jsonl.read_text(encoding="utf-8")
    for name in ("fraud_type", "is_noncompliant", "revenue_at_stake", "true_total_value"):
        assert name not in text


def test_same_seed_same_bytes_whatever_the_chunk_size(
    small: TrafficConfig, jsonl: Path, tmp_path: Path
) -> None:
    for chunk_size in (96, 1_500):
        again = tmp_path / f"again-{chunk_size}.jsonl"
        config = TrafficConfig(
            consignments=small.consignments, seed=small.seed, chunk_size=chunk_size
        )
        write_traffic(config, again, compute_revenue=False)
        assert _digest(again) == _digest(jsonl)
    other = tmp_path / "other.jsonl"
    write_traffic(TrafficConfig(consignments=small.consignments, seed=43), other)
    assert _digest(other) != _digest(jsonl)


def test_csv_has_one_row_per_item_with_canonical_columns(
    small: TrafficConfig, tmp_path: Path
) -> None:
    out = tmp_path / "filings.csv"
    summary = write_traffic(small, out, fmt="csv")
    frame = pl.read_csv(out, infer_schema=False)
    expected = [
        *CONSIGNMENT_SCHEMA.names(),
        *(c for c in ITEM_SCHEMA.names() if c != "consignment_id"),
    ]
    assert frame.columns == expected
    assert frame.height == summary.items
    assert frame["filed_at"].str.contains(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()
    assert frame["consignment_id"].n_unique() == small.consignments


@pytest.mark.parametrize("ext", ["parquet", "jsonl", "csv"])
def test_events_and_labels_side_files(small: TrafficConfig, tmp_path: Path, ext: str) -> None:
    events, labels = tmp_path / f"events.{ext}", tmp_path / f"labels.{ext}"
    summary = write_traffic(
        small, tmp_path / "f.jsonl", events=events, labels=labels, compute_revenue=False
    )
    chunks = list(generate_traffic(small))
    if ext == "parquet":
        read_events, read_labels = pl.read_parquet(events), pl.read_parquet(labels)
        assert read_events.equals(concat(chunks, "events"))
        assert read_labels.schema == LABEL_SCHEMA
        assert read_labels.drop("revenue_at_stake").equals(
            concat(chunks, "labels").drop("revenue_at_stake")
        )
    else:
        read = pl.read_ndjson if ext == "jsonl" else pl.read_csv
        read_events, read_labels = read(events), read(labels)
        assert read_events.columns == EVENT_SCHEMA.names()
        assert read_labels.columns == LABEL_SCHEMA.names()
        assert read_events["occurred_at"].str.ends_with("Z").all()
    assert read_events.height == summary.events
    assert read_labels.height == small.consignments


def test_summary_counts_what_was_written(small: TrafficConfig, tmp_path: Path) -> None:
    done: list[int] = []
    summary = write_traffic(
        small,
        tmp_path / "f.jsonl",
        labels=tmp_path / "labels.parquet",
        bad_sample=tmp_path / "bad.jsonl",
        progress=done.append,
    )
    assert done == [504, 1_008, 1_500]  # chunks are cut on multiples of 8
    labels = pl.read_parquet(tmp_path / "labels.parquet")
    assert summary.consignments == small.consignments
    assert summary.noncompliant == labels["is_noncompliant"].sum()
    assert summary.revenue_at_stake == labels["revenue_at_stake"].sum()
    assert (tmp_path / "bad.jsonl.manifest.json").exists()
    data = summary.as_dict()
    assert data["files"]["bad_sample_manifest"].endswith("bad.jsonl.manifest.json")
    assert set(data["by_fraud_type"]) <= {
        "undervaluation",
        "misclassification",
        "split_shipment",
        "vague_description_restricted",
    }


def test_empty_run_writes_empty_files(tmp_path: Path) -> None:
    config = TrafficConfig(consignments=0)
    summary = write_traffic(
        config,
        tmp_path / "f.csv",
        fmt="csv",
        events=tmp_path / "e.parquet",
        labels=tmp_path / "l.csv",
    )
    assert summary.consignments == 0
    assert pl.read_parquet(tmp_path / "e.parquet").schema == EVENT_SCHEMA
    assert pl.read_csv(tmp_path / "f.csv").height == 0
    assert pl.read_csv(tmp_path / "l.csv").columns == LABEL_SCHEMA.names()


def test_unknown_side_file_format_is_refused(tmp_path: Path) -> None:
    from smartcustoms.errors import UnknownFormatError

    with pytest.raises(UnknownFormatError, match=r"events\.xlsx"):
        write_traffic(
            TrafficConfig(consignments=8), tmp_path / "f.jsonl", events=tmp_path / "events.xlsx"
        )


def test_chunk_filings_property(chunks: list[TrafficChunk]) -> None:
    assert chunks[0].filings == chunks[0].consignments["filing_id"].n_unique()


def test_filing_records_nest_frames_in_any_order(chunks: list[TrafficChunk]) -> None:
    chunk = chunks[0]
    expected = filing_records(chunk.consignments, chunk.items)
    shuffled = filing_records(
        chunk.consignments.reverse(), chunk.items.sample(fraction=1.0, shuffle=True, seed=1)
    )
    assert set(shuffled["filing_id"]) == set(expected["filing_id"])
    by_id = {r["filing_id"]: r for r in expected.to_dicts()}
    for record in shuffled.head(50).to_dicts():
        original = by_id[record["filing_id"]]
        assert {c["consignment_id"] for c in record["consignments"]} == {
            c["consignment_id"] for c in original["consignments"]
        }
        for consignment in record["consignments"]:
            assert [i["item_no"] for i in consignment["items"]] == list(
                range(1, len(consignment["items"]) + 1)
            )
