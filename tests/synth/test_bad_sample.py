"""The deliberately bad sample and its manifest agree, line by line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import polars as pl
import pytest

from smartcustoms.intake import ValidationContext, normalise_codes, read_batches, validate_batch
from smartcustoms.model import Filing
from smartcustoms.model.columns import RECORD
from smartcustoms.synth import BadSampleManifest, manifest_path, write_bad_sample
from smartcustoms.synth.bad_sample import ACCEPTED, DUPLICATE, REJECTED

ALL_CODES = {
    "json.malformed",
    "json.not_object",
    "json.schema",
    "encoding.invalid",
    "file.truncated",
    "field.required",
    "value.not_number",
    "value.not_positive",
    "mass.gross_below_net",
    "value.total_mismatch",
    "hs.format",
    "hs.unknown",
    "country.unknown",
    "currency.unknown",
    "s10.format",
    "s10.check_digit",
    "date.unparseable",
    "date.out_of_window",
    "filing.conflict",
    "items.missing",
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BadSampleManifest]:
    path = tmp_path_factory.mktemp("bad") / "bad.jsonl"
    return path, write_bad_sample(path, seed=42, n=60)


def test_manifest_is_written_next_to_the_sample(sample: tuple[Path, BadSampleManifest]) -> None:
    path, manifest = sample
    written = json.loads(manifest_path(path).read_text(encoding="utf-8"))
    assert written == manifest.as_dict()
    assert written["file"] == "bad.jsonl"
    assert manifest_path(path).name == "bad.jsonl.manifest.json"


def test_one_manifest_entry_per_line(sample: tuple[Path, BadSampleManifest]) -> None:
    path, manifest = sample
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    assert len(lines) == len(manifest.lines) == 60
    assert [m.line for m in manifest.lines] == list(range(1, 61))
    assert not raw.endswith(b"\n"), "the last line is cut, without a newline"


def test_every_problem_code_is_covered(sample: tuple[Path, BadSampleManifest]) -> None:
    _, manifest = sample
    assert manifest.problem_codes() == ALL_CODES
    outcomes = {m.expected for m in manifest.lines}
    assert outcomes == {ACCEPTED, REJECTED, DUPLICATE}
    for line in manifest.lines:
        assert bool(line.problems) == (line.expected == REJECTED)


def test_lines_are_broken_as_the_manifest_says(sample: tuple[Path, BadSampleManifest]) -> None:
    path, manifest = sample
    lines = path.read_bytes().split(b"\n")
    accepted: dict[str, bytes] = {}
    for raw, entry in zip(lines, manifest.lines, strict=True):
        codes = set(entry.problems)
        if "encoding.invalid" in codes:
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
            continue
        if codes & {"json.malformed", "file.truncated"}:
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(raw)
            continue
        record = orjson.loads(raw)
        if "json.not_object" in codes:
            assert not isinstance(record, dict)
        elif entry.expected == ACCEPTED:
            Filing.model_validate(record)
            assert record["filing_id"] not in accepted
            accepted[record["filing_id"]] = raw
        elif entry.expected == DUPLICATE:
            assert accepted[record["filing_id"]] == raw
        elif "filing.conflict" in codes:
            assert record["filing_id"] in accepted
            assert accepted[record["filing_id"]] != raw
        else:
            assert record.get("filing_id") not in accepted


def test_intake_reports_exactly_the_manifest_codes(
    sample: tuple[Path, BadSampleManifest],
) -> None:
    """Each rejected line provokes its codes and nothing else; good lines provoke nothing.

    Duplicates and conflicts are decided against what is on file, after validation.
    """
    path, manifest = sample
    ctx = ValidationContext(now=datetime(2026, 11, 22, tzinfo=UTC))
    parts = []
    for batch in read_batches(path):
        cons, items = normalise_codes(batch.consignments, batch.items)
        found = validate_batch(batch, ctx, consignments=cons, items=items)
        parts += [batch.problems.select(RECORD, "code"), found.select(RECORD, "code")]
    codes = pl.concat(parts).group_by(RECORD).agg(pl.col("code").unique())
    reported = {r + 1: set(c) for r, c in codes.iter_rows()}
    for entry in manifest.lines:
        if entry.expected == DUPLICATE or "filing.conflict" in entry.problems:
            continue
        assert reported.get(entry.line, set()) == set(entry.problems), entry


def test_same_seed_same_sample(tmp_path: Path, sample: tuple[Path, BadSampleManifest]) -> None:
    path, _ = sample
    again = tmp_path / "again.jsonl"
    write_bad_sample(again, seed=42, n=60)
    assert again.read_bytes() == path.read_bytes()
    other = tmp_path / "other.jsonl"
    write_bad_sample(other, seed=7, n=60)
    assert other.read_bytes() != path.read_bytes()


def test_too_small_a_sample_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 40"):
        write_bad_sample(tmp_path / "x.jsonl", n=10)
