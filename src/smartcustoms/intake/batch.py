"""The unit that flows through intake: a batch of raw records and their canonical frames.

A *record* is what a filer submitted as one filing: a JSON line, one JSON document, the CSV
rows sharing a filing id, one postal item. Records are numbered (``_record``) across a whole
run so that problems, quarantine entries and results can always be traced back to the file and
line they came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import polars as pl

from smartcustoms.model.columns import RECORD

__all__ = ["PATH", "FieldLabel", "ParsedBatch", "field_path"]

PATH: Final = "_path"
"""Internal column: where a row sits in its record (``consignments[0].items[2]``, ``line 14``)."""


@dataclass(frozen=True, slots=True)
class FieldLabel:
    """How a canonical column is named in the source format, for problem paths.

    Attributes:
        label: The field as the filer knows it (``seller.country``, ``"Country of Origin"``).
        absolute: The label is a full path on its own (filing-level JSON fields), not relative
            to the row's ``_path``.
    """

    label: str
    absolute: bool = False


@dataclass
class ParsedBatch:
    """Raw records of one chunk and the canonical frames parsed from them.

    Attributes:
        source: The file (or ``<api>``) the records came from.
        fmt: The input format (``jsonl``, ``json``, ``csv``, ``postal``).
        records: One row per record: ``_record``, ``line`` (1-based line where it starts,
            null when not line-based).
        payloads: The raw bytes of each record, in ``records`` order (kept for quarantine).
        consignments: Canonical consignments frame plus ``_record`` and ``_path``.
        items: Canonical goods-items frame plus ``_record`` and ``_path``.
        problems: Problems found while parsing (structure, types), a problem frame.
        labels: Canonical column -> label in the source format.
        separator: Joins a row's ``_path`` and a field label (``.`` for JSON, ``, `` for CSV).
        column_map: Name of the column map used (CSV), for resubmission.
        unchecked_code_columns: Columns whose code-list check is skipped because the source
            anonymises them (declared by the column map).
    """

    source: str
    fmt: str
    records: pl.DataFrame
    payloads: Sequence[bytes]
    consignments: pl.DataFrame
    items: pl.DataFrame
    problems: pl.DataFrame
    labels: Mapping[str, FieldLabel] = field(default_factory=dict)
    separator: str = "."
    column_map: str | None = None
    unchecked_code_columns: frozenset[str] = frozenset()

    @property
    def first_record(self) -> int:
        """Number of the first record in this batch (records are numbered across a run)."""
        return int(self.records[RECORD][0]) if self.records.height else 0

    def payload(self, record: int) -> bytes:
        """The raw bytes of record number ``record``."""
        return self.payloads[record - self.first_record]


def field_path(batch: ParsedBatch, column: str) -> pl.Expr:
    """Expression giving, per row, the path of ``column`` in the filer's own terms."""
    lab = batch.labels.get(column, FieldLabel(column))
    if lab.absolute:
        return pl.lit(lab.label)
    return pl.concat_str(pl.col(PATH), pl.lit(batch.separator + lab.label))
