"""Events, attributes and interval tables as files: Parquet, CSV and JSON Lines.

Two ways in:

* :func:`read_events` / :func:`read_attributes` - lazy scans for a study over files. Rows
  that are not valid events stay in and are counted by the study's data-quality checks
  (an unknown type or an unreadable time is an ``invalid_event``), so nothing is dropped
  silently.
* :func:`check_event_file` - a bulk file to store: every row checked, the good ones
  returned for the store, the bad ones returned whole with their coded problems
  (:class:`RejectedRow`), so that nothing is lost.

And one way out: :func:`interval_table` / :func:`write_interval_table`, one row per
consignment of a study with its milestones, dimensions, checks and durations.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
import polars as pl

from smartcustoms.errors import InvalidInputError, Problem, UnknownFormatError
from smartcustoms.model.columns import TIMESTAMP
from smartcustoms.model.events import EVENT_INPUT_FIELDS, parse_event_frame
from smartcustoms.model.timestamps import parse_timestamp
from smartcustoms.trs.columns import ATTRIBUTE_SCHEMA, CONSIGNMENT_ID, RELEASE_S, Span
from smartcustoms.trs.sequence import stage_table
from smartcustoms.trs.study import Study
from smartcustoms.trs.timelines import span_expr

__all__ = [
    "FORMATS",
    "RejectedRow",
    "check_event_file",
    "file_format",
    "interval_table",
    "read_attributes",
    "read_events",
    "write_interval_table",
]

FORMATS: Final = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
"""File suffixes understood, and their format."""

_REQUIRED: Final = ("consignment_id", "event_type", "occurred_at")


def file_format(path: str | Path) -> str:
    """``parquet``, ``csv`` or ``jsonl`` from the file's suffix.

    Raises:
        UnknownFormatError: Any other suffix.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UnknownFormatError(
            f"{Path(path).name}: unknown format {suffix or '(no suffix)'!r}; "
            f"use {', '.join(sorted(FORMATS))}"
        )
    return FORMATS[suffix]


def _scan(path: str | Path) -> pl.LazyFrame:
    fmt = file_format(path)
    if fmt == "parquet":
        return pl.scan_parquet(path)
    if fmt == "csv":
        return pl.scan_csv(path, infer_schema=False)
    return pl.scan_ndjson(path, infer_schema_length=None)


def read_events(path: str | Path) -> pl.LazyFrame:
    """Lifecycle events of a file, lazily, for a study.

    Text times are parsed as ISO 8601 (naive ones as UTC); unparseable ones become null and
    the study counts them. Columns other than the event fields are ignored.
    """
    frame = _scan(path)
    schema = frame.collect_schema()
    missing = [c for c in _REQUIRED if c not in schema]
    if missing:
        raise InvalidInputError(
            f"{Path(path).name} has no column {', '.join(missing)}",
            tuple(Problem("event.field", c, "required column missing") for c in missing),
        )
    at = schema["occurred_at"]
    if isinstance(at, pl.Datetime):
        time = (
            pl.col("occurred_at").dt.convert_time_zone("UTC")
            if at.time_zone
            else pl.col("occurred_at").dt.replace_time_zone("UTC")
        ).cast(TIMESTAMP)
    else:
        time = parse_timestamp(pl.col("occurred_at").cast(pl.String), allow_dates=False)
    office = pl.col("office").cast(pl.String) if "office" in schema else pl.lit(None, pl.String)
    ids = pl.col("consignment_id").cast(pl.String)
    if file_format(path) != "parquet":  # text formats: blanks around an id are not part of it
        ids = ids.str.strip_chars()
    return frame.select(
        ids,
        pl.col("event_type").cast(pl.String),
        time.alias("occurred_at"),
        office.alias("office"),
    )


def read_attributes(path: str | Path) -> pl.LazyFrame:
    """Consignment attributes of a file (any columns of ``ATTRIBUTE_SCHEMA``, id required)."""
    frame = _scan(path)
    names = frame.collect_schema().names()
    if CONSIGNMENT_ID not in names:
        raise InvalidInputError(
            f"{Path(path).name} has no column consignment_id",
            (Problem("trs.attributes", CONSIGNMENT_ID, "required column missing"),),
        )
    return frame.select(pl.col(c).cast(pl.String) for c in ATTRIBUTE_SCHEMA.names() if c in names)


@dataclass(frozen=True)
class RejectedRow:
    """A row of an event file that was not stored, exactly as it was, and why.

    Attributes:
        where: Its place in the file (``line 14``, ``row 3``).
        record: The row as read (the JSON line itself; CSV and Parquet rows as JSON).
        problems: Every problem found.
    """

    where: str
    record: str
    problems: tuple[Problem, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (a line of a rejects file)."""
        return {
            "where": self.where,
            "record": self.record,
            "problems": [p.as_dict() for p in self.problems],
        }


def _raw_rows(path: Path) -> tuple[pl.DataFrame, list[str], list[RejectedRow]]:
    """The rows of an event file as text, each row's location, and unreadable rows."""
    fmt = file_format(path)
    if fmt == "jsonl":
        return _jsonl_rows(path)
    if fmt == "csv":
        raw = pl.read_csv(path, infer_schema=False)
        first, label = 2, "line"  # the header is line 1
    else:
        raw = pl.read_parquet(path)
        first, label = 0, "row"
    unknown = sorted(set(raw.columns) - set(EVENT_INPUT_FIELDS))
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if unknown or missing:
        problems = [Problem("event.field", c, "unknown column") for c in unknown]
        problems += [Problem("event.field", c, "required column missing") for c in missing]
        raise InvalidInputError(
            f"{path.name}: the columns are not those of lifecycle events "
            f"({', '.join(EVENT_INPUT_FIELDS)}); nothing was stored",
            tuple(problems),
        )
    where = [f"{label} {i + first}" for i in range(raw.height)]
    return raw, where, []


def _jsonl_rows(path: Path) -> tuple[pl.DataFrame, list[str], list[RejectedRow]]:
    records: list[dict[str, Any]] = []
    where: list[str] = []
    rejected: list[RejectedRow] = []
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            text = line.decode("utf-8", errors="replace").rstrip("\r\n")
            if not text.strip():
                continue
            at = f"line {number}"
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                problem = Problem("event.json", at, f"not JSON: {exc}")
                rejected.append(RejectedRow(at, text, (problem,)))
                continue
            if not isinstance(value, dict):
                problem = Problem("event.json", at, "each line must be one JSON object")
                rejected.append(RejectedRow(at, text, (problem,)))
                continue
            unknown = sorted(set(value) - set(EVENT_INPUT_FIELDS))
            if unknown:
                problem = Problem("event.field", at, f"unknown field(s) {', '.join(unknown)}")
                rejected.append(RejectedRow(at, text, (problem,)))
                continue
            records.append(value)
            where.append(at)
    raw = pl.DataFrame(
        {
            f: [None if r.get(f) is None else str(r.get(f)) for r in records]
            for f in EVENT_INPUT_FIELDS
        },
        schema=dict.fromkeys(EVENT_INPUT_FIELDS, pl.String()),
    )
    return raw, where, rejected


def check_event_file(path: str | Path, *, source: str) -> tuple[pl.DataFrame, list[RejectedRow]]:
    """Read and check every row of an event file.

    Args:
        path: A ``.csv`` (header ``consignment_id,event_type,occurred_at[,office]``),
            ``.jsonl`` (one object per line) or ``.parquet`` file.
        source: Stored with each event (who reported it).

    Returns:
        The good events (``EVENT_SCHEMA``) and every rejected row in file order.

    Raises:
        UnknownFormatError: The suffix is not one of :data:`FORMATS`.
        InvalidInputError: The columns are not those of events (nothing can be read).
    """
    file = Path(path)
    raw, where, rejected = _raw_rows(file)
    good, problems, bad = parse_event_frame(raw, source=source, where=where.__getitem__)
    by_row: dict[str, list[Problem]] = {}
    for problem in problems:
        by_row.setdefault(problem.path, []).append(problem)
    lines = raw.with_columns(pl.col(c).cast(pl.String) for c in raw.columns)
    for index in bad.to_list():
        row = lines.row(index, named=True)
        at = where[index]
        record = (
            orjson.dumps({k: v for k, v in row.items() if v is not None}).decode()
            if file_format(file) != "jsonl"
            else orjson.dumps(row).decode()
        )
        rejected.append(RejectedRow(at, record, tuple(by_row.get(at, ()))))
    rejected.sort(key=lambda r: int(r.where.split()[-1]))
    return good, rejected


def interval_table(study: Study) -> pl.DataFrame:
    """One row per consignment of the study: its checked timeline and every duration.

    Columns: the timeline table (id, office, dimensions, milestone times, data-quality
    counts, ``exclusion``), then ``release_s`` and the other headline spans (``*_s``, null
    for excluded consignments) and one ``stage_*_s`` column per stage.
    """
    table = study.timelines.drop("reference_at", strict=False)
    included = pl.col("exclusion").is_null()
    spans = table.select(
        pl.when(included)
        .then(span_expr(span))
        .alias(RELEASE_S if span is Span.ARRIVAL_RELEASE else f"{span.value}_s")
        for span in Span
    )
    stages = (
        stage_table(table)
        .with_columns(table.get_column("exclusion").is_null().alias("_included"))
        .select(pl.when("_included").then(pl.all().exclude("_included")).name.keep())
    )
    return pl.concat([table, spans, stages], how="horizontal")


def write_interval_table(study: Study, path: str | Path) -> int:
    """Write :func:`interval_table` as Parquet or CSV (by suffix); return the rows written."""
    fmt = file_format(path)
    table = interval_table(study)
    if fmt == "parquet":
        table.write_parquet(path)
    elif fmt == "csv":
        table.write_csv(path)
    else:
        raise UnknownFormatError(f"{Path(path).name}: the interval table is Parquet or CSV")
    return table.height
