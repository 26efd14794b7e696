"""The clearance path end to end, on SQLite and on PostgreSQL."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import orjson
import polars as pl
import pytest

from smartcustoms.errors import (
    InvalidInputError,
    QuarantineEntryClosedError,
    QuarantineEntryNotFoundError,
)
from smartcustoms.platform import SmartCustoms
from smartcustoms.testing import make_filing, make_postal_item, write_jsonl


def clear(platform: SmartCustoms, path: Path, **kw: object) -> dict[str, object]:
    return platform.clear([path], **kw).as_dict()  # type: ignore[arg-type]


def test_valid_filings_are_stored_with_duties(platform: SmartCustoms, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [make_filing(f"F{i}") for i in range(5)])
    out = tmp_path / "results.jsonl"
    summary = clear(platform, path, out=out)
    assert summary["received"] == summary["accepted"] == 5
    assert summary["quarantined"] == 0
    counts = platform.store.counts()
    assert counts["filings"] == 5
    assert counts["consignments"] == 5
    assert counts["goods_items"] == 10
    assert counts["assessments"] == 5
    assert counts["lifecycle_events"] == 10  # lodgement + acceptance
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["status"] for r in rows] == ["accepted"] * 5
    assert all(r["currency"] == "EUR" and r["total_payable"] is not None for r in rows)
    stored = platform.store.consignment("F0-C1")
    assert stored is not None
    assert [i["item_no"] for i in stored["items"]] == [1, 2]
    assert stored["assessment"]["regime_id"] == platform.regime.id
    assert {e["event_type"] for e in stored["events"]} == {"lodgement", "acceptance"}


def test_rejected_filings_are_kept_whole(platform: SmartCustoms, tmp_path: Path) -> None:
    bad = make_filing("BAD-1")
    bad["consignments"][0]["items"][0]["hs_code"] = "610950"
    bad["consignments"][0]["currency"] = "XYZ"
    path = write_jsonl(tmp_path / "in.jsonl", [make_filing("OK-1"), bad])
    with path.open("ab") as fh:
        fh.write(b'{"filing_id": "cut')  # the file ends mid-record, no newline
    summary = clear(platform, path)
    assert (summary["received"], summary["accepted"], summary["quarantined"]) == (3, 1, 2)
    entries = platform.store.quarantine_entries()
    assert len(entries) == 2
    by_filing = {e.filing_id: e for e in entries}
    entry = by_filing["BAD-1"]
    assert {p.code for p in entry.problems} == {"hs.unknown", "currency.unknown"}
    assert entry.line == 2
    assert orjson.loads(entry.payload) == bad
    truncated = by_filing[None]
    assert truncated.line == 3
    assert [p.code for p in truncated.problems] == ["file.truncated"]


def test_same_filing_twice_is_an_idempotent_no_op(platform: SmartCustoms, tmp_path: Path) -> None:
    filing = make_filing("F-1")
    first = write_jsonl(tmp_path / "a.jsonl", [filing])
    assert clear(platform, first)["accepted"] == 1
    # same content, other key order and amounts written differently
    reordered = dict(reversed(list(copy.deepcopy(filing).items())))
    reordered["consignments"][0]["total_value"] = 24.8
    again = write_jsonl(tmp_path / "b.jsonl", [reordered])
    summary = clear(platform, again)
    assert (summary["accepted"], summary["duplicates"], summary["quarantined"]) == (1, 1, 0)
    assert platform.store.counts()["consignments"] == 1


def test_same_id_different_content_is_a_conflict(platform: SmartCustoms, tmp_path: Path) -> None:
    clear(platform, write_jsonl(tmp_path / "a.jsonl", [make_filing("F-1")]))
    changed = make_filing("F-1", item_value="13.00")
    summary = clear(platform, write_jsonl(tmp_path / "b.jsonl", [changed]))
    assert summary["quarantined"] == 1
    assert summary["problem_codes"] == {"filing.conflict": 1}
    assert platform.store.counts()["consignments"] == 1


def test_duplicates_within_one_file(platform: SmartCustoms, tmp_path: Path) -> None:
    f = make_filing("F-1")
    path = write_jsonl(tmp_path / "a.jsonl", [f, f, make_filing("F-1", item_value="1.00")])
    summary = clear(platform, path)
    assert (summary["accepted"], summary["duplicates"], summary["quarantined"]) == (2, 1, 1)
    # the third record reuses the filing id and, with it, the consignment id
    assert summary["problem_codes"] == {"filing.conflict": 1, "consignment.duplicate": 1}


def test_consignment_id_reused_by_another_filing(platform: SmartCustoms, tmp_path: Path) -> None:
    clear(platform, write_jsonl(tmp_path / "a.jsonl", [make_filing("F-1")]))
    other = make_filing("F-2")
    other["consignments"][0]["consignment_id"] = "F-1-C1"
    summary = clear(platform, write_jsonl(tmp_path / "b.jsonl", [other]))
    assert summary["problem_codes"] == {"consignment.duplicate": 1}


def test_resubmit_corrected_filing_resolves_entry(platform: SmartCustoms, tmp_path: Path) -> None:
    bad = make_filing("F-9")
    bad["consignments"][0]["items"][0]["origin_country"] = "XX"
    clear(platform, write_jsonl(tmp_path / "a.jsonl", [bad]))
    (entry,) = platform.store.quarantine_entries()
    still_bad = platform.resubmit(entry.quarantine_id)
    assert not still_bad.accepted
    assert [p.code for p in still_bad.problems] == ["country.unknown"]
    assert platform.store.quarantine_entry(entry.quarantine_id).attempts == 2
    fixed = platform.resubmit(
        entry.quarantine_id, corrected=orjson.dumps(make_filing("F-9"), option=orjson.OPT_INDENT_2)
    )
    assert fixed.accepted and fixed.filing_id == "F-9"
    resolved = platform.store.quarantine_entry(entry.quarantine_id)
    assert resolved.status == "resolved" and resolved.resolved_filing_id == "F-9"
    assert platform.store.counts()["consignments"] == 1
    with pytest.raises(QuarantineEntryClosedError):
        platform.resubmit(entry.quarantine_id)


def test_resubmit_errors(platform: SmartCustoms, tmp_path: Path) -> None:
    with pytest.raises(QuarantineEntryNotFoundError):
        platform.resubmit("q-nope")
    clear(platform, write_jsonl(tmp_path / "a.jsonl", [], raw=[b"not json"]))
    (entry,) = platform.store.quarantine_entries()
    two = b"\n".join(orjson.dumps(make_filing(f"F{i}")) for i in range(2))
    with pytest.raises(InvalidInputError):
        platform.resubmit(entry.quarantine_id, corrected=two)


def test_same_bad_record_twice_is_one_entry(platform: SmartCustoms, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [], raw=[b"{broken"])
    clear(platform, path)
    summary = clear(platform, path)
    assert summary["quarantined"] == 1
    (entry,) = platform.store.quarantine_entries()
    assert entry.attempts == 2


def test_postal_items(platform: SmartCustoms, tmp_path: Path) -> None:
    bad = make_postal_item("RR123456784CN")
    path = write_jsonl(tmp_path / "post.jsonl", [make_postal_item(), bad])
    summary = clear(platform, path)
    assert (summary["accepted"], summary["quarantined"]) == (1, 1)
    assert summary["problem_codes"] == {"s10.check_digit": 1}
    stored = platform.store.consignment("RR123456785CN")
    assert stored is not None and stored["transport_mode"] == "5"
    assert len(stored["items"]) == 2


def test_results_as_parquet(platform: SmartCustoms, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [make_filing("F1")], raw=[b"[]"])
    out = tmp_path / "r.parquet"
    clear(platform, path, out=out)
    frame = pl.read_parquet(out)
    assert frame["status"].to_list() == ["accepted", "quarantined"]


def test_audit_log_records_each_run(platform: SmartCustoms, tmp_path: Path) -> None:
    clear(platform, write_jsonl(tmp_path / "a.jsonl", [make_filing("F1")]))
    (entry,) = platform.store.audit_entries()
    assert entry["action"] == "clear"
    assert json.loads(entry["details"])["accepted"] == 1


def test_currency_without_rate_is_quarantined(platform: SmartCustoms, tmp_path: Path) -> None:
    filing = make_filing("F-MNT", currency="MNT")  # ISO 4217, but not in the rate table
    summary = clear(platform, write_jsonl(tmp_path / "a.jsonl", [filing, make_filing("F-OK")]))
    assert (summary["accepted"], summary["quarantined"]) == (1, 1)
    assert summary["problem_codes"] == {"exchange_rate.missing": 1}
    (entry,) = platform.store.quarantine_entries()
    assert entry.problems[0].path == "currency"
    assert "MNT" in entry.problems[0].message


def test_unknown_fields_are_warnings_not_rejections(platform: SmartCustoms, tmp_path: Path) -> None:
    filing = make_filing("F-W")
    filing["consignments"][0]["curency"] = "EUR"  # a typo the filer should hear about
    out = tmp_path / "r.jsonl"
    summary = clear(platform, write_jsonl(tmp_path / "a.jsonl", [filing]), out=out)
    assert summary["accepted"] == 1
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert json.loads(row["warnings"]) == [
        {
            "code": "field.unknown",
            "path": "consignments[0].curency",
            "message": "curency is not a field of this format; it was ignored",
        }
    ]


def test_asycuda_extract_end_to_end_with_own_rates(
    database_url: str, tmp_path: Path, shared_data: Path
) -> None:
    """The DATE/ASYCUDA sample through its column map: anonymised countries are not
    checked, a rate table of the user's supplies NGN, the truncated last record is kept."""
    from smartcustoms.config import load_settings

    rates = tmp_path / "ngn.toml"
    rates.write_text(
        'id = "test-ngn"\nbase = "EUR"\n\n[[tables]]\nvalid_from = 2010-01-01\n'
        'source = "test"\nrates = { NGN = "400" }\n'
    )
    platform = SmartCustoms(
        load_settings(
            database_url=database_url,
            exchange_rates=str(rates),
            regime="plain-national",
            max_days_past=20_000,
        )
    )
    sample = shared_data / "date-bacuda-samples" / "nigeria-format-train-first25lines.csv"
    summary = platform.clear([sample], column_map="asycuda-date").as_dict()
    assert (summary["received"], summary["accepted"], summary["quarantined"]) == (8, 7, 1)
    assert summary["problem_codes"] == {"file.truncated": 1}
    platform.store.dispose()
