"""Outcome of a clearance run: counts, the per-consignment result lines and their sink."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import polars as pl
import pyarrow.parquet as pq

from smartcustoms.model.columns import RECORD

__all__ = [
    "ACCEPTED",
    "DUPLICATE",
    "QUARANTINED",
    "RESULT_SCHEMA",
    "ChunkOutcome",
    "ClearSummary",
    "ResultSink",
    "problem_json",
]

ACCEPTED: Final = "accepted"
DUPLICATE: Final = "duplicate"
QUARANTINED: Final = "quarantined"

RESULT_SCHEMA: Final = pl.Schema(
    [
        ("record", pl.Int64()),
        ("source", pl.String()),
        ("line", pl.Int64()),
        ("filing_id", pl.String()),
        ("consignment_id", pl.String()),
        ("status", pl.String()),
        ("quarantine_id", pl.String()),
        ("problems", pl.String()),
        ("warnings", pl.String()),
        ("dq_score", pl.Int64()),
        ("dq_reasons", pl.String()),
        ("currency", pl.String()),
        ("duty", pl.String()),
        ("vat", pl.String()),
        ("excise", pl.String()),
        ("total_payable", pl.String()),
        ("lane", pl.String()),
        ("risk_score", pl.Float64()),
        ("expected_revenue", pl.Float64()),
        ("model_version", pl.String()),
        ("rule_hits", pl.String()),
        ("reasons", pl.String()),
    ]
)
"""One result line per consignment (and per record that never got as far as a consignment).

``problems`` and ``warnings`` are JSON arrays of ``{code, path, message}``; amounts are exact
decimal strings in the regime currency.
"""


@dataclass
class ChunkOutcome:
    """Counts of one chunk."""

    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    consignments: int = 0
    items: int = 0
    duty: Decimal = Decimal(0)
    vat: Decimal = Decimal(0)
    excise: Decimal = Decimal(0)
    problem_codes: dict[str, int] = field(default_factory=dict)
    lanes: dict[str, int] = field(default_factory=dict)
    exceeded_by_rules: int = 0
    model_version: str | None = None


@dataclass(kw_only=True)
class ClearSummary(ChunkOutcome):
    """What a clearance run did: the counts of all its chunks, and the run's identity.

    ``accepted`` includes ``duplicates`` (idempotent re-sends); ``received`` always equals
    ``accepted + quarantined``.
    """

    batch_id: str
    regime: str
    currency: str
    seconds: float = 0.0
    results: str | None = None

    def add(self, chunk: ChunkOutcome) -> None:
        """Fold a chunk's counts in."""
        for f in fields(ChunkOutcome):
            if f.name in ("problem_codes", "lanes"):
                mine, theirs = getattr(self, f.name), getattr(chunk, f.name)
                for code, n in theirs.items():
                    mine[code] = mine.get(code, 0) + n
            elif f.name == "model_version":
                self.model_version = chunk.model_version or self.model_version
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(chunk, f.name))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (amounts as decimal strings)."""
        return {
            "batch_id": self.batch_id,
            "received": self.received,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "consignments": self.consignments,
            "items": self.items,
            "regime": self.regime,
            "currency": self.currency,
            "duty": str(self.duty),
            "vat": str(self.vat),
            "excise": str(self.excise),
            "problem_codes": dict(sorted(self.problem_codes.items())),
            "lanes": {lane: self.lanes.get(lane, 0) for lane in ("red", "yellow", "blue", "green")},
            "exceeded_by_rules": self.exceeded_by_rules,
            "model_version": self.model_version,
            "seconds": round(self.seconds, 3),
            "consignments_per_second": round(self.consignments / self.seconds)
            if self.seconds
            else None,
            "results": self.results,
        }


def problem_json(problems: pl.DataFrame) -> pl.DataFrame:
    """Per record: JSON arrays of its errors and of its warnings (``problems``, ``warnings``)."""
    obj = pl.struct("code", "path", "message")
    return (
        problems.group_by(RECORD)
        .agg(
            obj.filter(pl.col("severity") == "error").alias("_errors"),
            obj.filter(pl.col("severity") != "error").alias("_warnings"),
        )
        .with_columns(
            pl.concat_str(
                pl.lit("["),
                pl.col(name).list.eval(pl.element().struct.json_encode()).list.join(","),
                pl.lit("]"),
            ).alias(out)
            for name, out in (("_errors", "problems"), ("_warnings", "warnings"))
        )
        .select(RECORD, "problems", "warnings")
    )


class ResultSink:
    """Streams result rows to JSON Lines or Parquet."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._parquet = path.suffix.lower() == ".parquet"
        self._writer: pq.ParquetWriter | None = None
        self._fh = None if self._parquet else path.open("wb")
        if self._parquet:
            schema = pl.DataFrame(schema=RESULT_SCHEMA).to_arrow().schema
            self._writer = pq.ParquetWriter(str(path), schema)

    def write(self, rows: pl.DataFrame) -> None:
        """Append result rows."""
        if self._writer is not None:
            self._writer.write_table(rows.to_arrow())
        elif self._fh is not None:
            rows.write_ndjson(self._fh)

    def close(self) -> None:
        """Flush and close the file."""
        if self._writer is not None:
            self._writer.close()
        if self._fh is not None:
            self._fh.close()
