"""Writing traffic: filings (JSONL or CSV), lifecycle events and labels, chunk by chunk.

The filings file is what a filer would send:

* **JSONL** - one filing per line, exactly the shape of
  ``smartcustoms.model.Filing.model_dump(mode="json")`` (absent optional values are ``null``):
  amounts are JSON numbers with at most two decimals (none for currencies without minor
  units), datetimes ISO 8601 UTC with a ``Z``. Built as nested Polars struct/list columns and
  written with ``write_ndjson`` - no Python object per filing.
* **CSV** - one row per goods item: the canonical consignment columns then the item columns
  (:data:`~smartcustoms.model.CONSIGNMENT_SCHEMA` then :data:`~smartcustoms.model.ITEM_SCHEMA`
  without its ``consignment_id``), filing and consignment fields repeated on each item row.

Events and labels go to their own files, by extension: ``.parquet``, ``.jsonl``/``.ndjson`` or
``.csv``. Labels never appear in the filings.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Self

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from smartcustoms.errors import UnknownFormatError
from smartcustoms.model.columns import (
    CONSIGNMENT_ID,
    CONSIGNMENT_SCHEMA,
    ITEM_SCHEMA,
    MONEY,
    PARTY_ROLES,
    TIMESTAMP,
)

__all__ = [
    "TABLE_FORMATS",
    "TableWriter",
    "filing_records",
    "item_rows",
    "table_format",
]

TABLE_FORMATS: Final = {
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
}
"""Side-file formats by file extension."""

_ISO: Final = "%Y-%m-%dT%H:%M:%SZ"
_PARTY_FIELDS: Final = ("id", "name", "street", "city", "postcode", "country")
_FILING_FIELDS: Final = ("filing_id", "filed_at", "filer_role")
_ITEM_FIELDS: Final = tuple(c for c in ITEM_SCHEMA.names() if c != CONSIGNMENT_ID)


def _json_value(name: str, dtype: pl.DataType) -> pl.Expr:
    """A column as it appears in JSON: money as numbers, datetimes as ISO text."""
    col = pl.col(name)
    if dtype == MONEY:
        return col.cast(pl.Float64).alias(name)
    if dtype == TIMESTAMP:
        return col.dt.strftime(_ISO).alias(name)
    return col


def _party(role: str) -> pl.Expr:
    cols = [f"{role}_{f}" for f in _PARTY_FIELDS]
    return (
        pl.when(pl.any_horizontal(pl.col(c).is_not_null() for c in cols))
        .then(pl.struct([pl.col(f"{role}_{f}").alias(f) for f in _PARTY_FIELDS]))
        .alias(role)
    )


def _nest(values: pl.Series, lengths: pl.Series) -> pl.Series:
    """Group consecutive values into lists of the given lengths."""
    offsets = pa.array([0, *lengths.cum_sum().to_list()], pa.int32())
    array = pa.ListArray.from_arrays(offsets, values.to_arrow())
    return pl.Series(values.name, array)


def _in_filing_order(
    consignments: pl.DataFrame, items: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Consignments grouped by filing, items grouped by consignment, both in that order.

    Generated chunks already are; other frames are sorted (stable) by first appearance.
    """
    filing_runs = consignments["filing_id"].rle()
    item_runs = items[CONSIGNMENT_ID].rle().struct.field("value")
    if filing_runs.len() == consignments["filing_id"].n_unique() and item_runs.equals(
        consignments[CONSIGNMENT_ID]
    ):
        return consignments, items
    cons = (
        consignments.with_row_index("_c")
        .with_columns(pl.col("_c").min().over("filing_id").alias("_f"))
        .sort("_f", "_c", maintain_order=True)
    )
    order = cons.select(CONSIGNMENT_ID, pl.int_range(pl.len()).alias("_o"))
    sorted_items = (
        items.join(order, on=CONSIGNMENT_ID, how="inner")
        .sort("_o", "item_no", maintain_order=True)
        .drop("_o")
    )
    return cons.drop("_c", "_f"), sorted_items


def filing_records(consignments: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """Nest canonical frames into filing records: one row per filing, the JSON filing shape.

    Args:
        consignments: Canonical consignments (filing-level columns repeated per consignment).
        items: Canonical goods items. Consignments without items get an empty list.

    Returns:
        Columns ``filing_id``, ``filed_at``, ``filer_role``, ``filer`` (struct) and
        ``consignments`` (list of structs with nested ``items``), ready for ``write_ndjson``.
    """
    consignments, items = _in_filing_order(consignments, items)
    item_structs = items.select(
        pl.struct([_json_value(c, ITEM_SCHEMA[c]) for c in _ITEM_FIELDS]).alias("items")
    )["items"]
    counts = (
        consignments.select(CONSIGNMENT_ID)
        .join(
            items.group_by(CONSIGNMENT_ID).len(),
            on=CONSIGNMENT_ID,
            how="left",
            maintain_order="left",
        )["len"]
        .fill_null(0)
    )
    consignment_fields = [
        c
        for c in CONSIGNMENT_SCHEMA.names()
        if c not in _FILING_FIELDS and not any(c.startswith(f"{role}_") for role in PARTY_ROLES)
    ]
    cons = consignments.with_columns(_nest(item_structs, counts).alias("items"))
    consignment_structs = cons.select(
        pl.struct(
            [_json_value(c, CONSIGNMENT_SCHEMA[c]) for c in consignment_fields]
            + [_party(role) for role in PARTY_ROLES if role != "filer"]
            + [pl.col("items")]
        ).alias("consignments")
    )["consignments"]
    runs = consignments["filing_id"].rle()
    lengths = runs.struct.field("len")
    firsts = pl.concat([pl.Series([0], dtype=lengths.dtype), lengths.cum_sum()[:-1]])
    heads = consignments[firsts.cast(pl.Int64)]
    return heads.select(
        "filing_id",
        _json_value("filed_at", TIMESTAMP),
        "filer_role",
        _party("filer"),
        _nest(consignment_structs, lengths).alias("consignments"),
    )


def item_rows(consignments: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """One flat row per goods item with the canonical column names, for CSV.

    Consignment columns come first, in :data:`CONSIGNMENT_SCHEMA` order, then the item
    columns; datetimes as ISO 8601 UTC text, money as numbers.
    """
    joined = items.join(consignments, on=CONSIGNMENT_ID, how="left", maintain_order="left")
    return joined.select(
        [_json_value(c, t) for c, t in CONSIGNMENT_SCHEMA.items()]
        + [_json_value(c, ITEM_SCHEMA[c]) for c in _ITEM_FIELDS]
    )


def table_format(path: str | Path, allowed: Sequence[str] = ("parquet", "jsonl", "csv")) -> str:
    """The side-file format of ``path`` from its extension.

    Raises:
        UnknownFormatError: When the extension is not one of ``allowed``.
    """
    fmt = TABLE_FORMATS.get(Path(path).suffix.lower())
    if fmt is None or fmt not in allowed:
        exts = ", ".join(e for e, f in TABLE_FORMATS.items() if f in allowed)
        raise UnknownFormatError(f"cannot tell the format of {path}: use one of {exts}")
    return fmt


def _flat_for_text(frame: pl.DataFrame, *, lists_as_text: bool) -> pl.DataFrame:
    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.List) and lists_as_text:
            exprs.append(pl.col(name).list.join(" ").alias(name))
        else:
            exprs.append(_json_value(name, dtype))
    return frame.select(exprs)


class TableWriter:
    """Appends frames of one schema to a Parquet, JSONL or CSV file, chunk by chunk.

    CSV and JSONL render datetimes as ISO 8601 UTC text and money as numbers; CSV joins list
    columns with spaces. Use as a context manager.

    Args:
        path: Destination; the format comes from the extension (see :func:`table_format`).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.format = table_format(self.path)
        self.rows = 0
        self._has_header = False
        self._file: IO[bytes] | None = None
        self._parquet: pq.ParquetWriter | None = None

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format != "parquet":
            self._file = self.path.open("wb")
        return self

    def write(self, frame: pl.DataFrame) -> None:
        """Append ``frame`` (every call must pass the same schema)."""
        if self.format == "parquet":
            table = frame.to_arrow()
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            self._parquet.write_table(table)
        else:
            assert self._file is not None, "TableWriter is used outside its with-block"
            text = _flat_for_text(frame, lists_as_text=self.format == "csv")
            if self.format == "csv":
                text.write_csv(self._file, include_header=not self._has_header)
                self._has_header = True
            else:
                text.write_ndjson(self._file)
        self.rows += frame.height

    def close(self, empty_schema: pl.Schema | None = None) -> None:
        """Finish the file (an empty file with ``empty_schema`` when nothing was written)."""
        if self.rows == 0 and empty_schema is not None and self._parquet is None:
            self.write(pl.DataFrame(schema=empty_schema))
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
