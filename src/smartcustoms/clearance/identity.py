"""Identity of filings and rejected records: canonical content hashes, quarantine ids."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import polars as pl

from smartcustoms.model import columns as c
from smartcustoms.model.columns import CONSIGNMENT_SCHEMA, ITEM_SCHEMA, RECORD

__all__ = ["content_hashes", "quarantine_id"]


def content_hashes(consignments: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """SHA-256 of each record's canonical content: ``_record``, ``filing_id``, ``content_hash``.

    Fields are rendered as text in schema order (nulls as a NUL character); consignments and
    items in the order the filer gave them.
    """

    def rendered(frame: pl.DataFrame, cols: Iterable[str]) -> pl.Expr:
        return pl.concat_str(
            [pl.col(col).cast(pl.String).fill_null("\x00") for col in cols], separator="\x1f"
        )

    item_text = items.group_by(c.CONSIGNMENT_ID, maintain_order=True).agg(
        rendered(items, ITEM_SCHEMA).str.join("\x1e").alias("_items")
    )
    record_text = (
        consignments.select(
            RECORD,
            c.FILING_ID,
            c.CONSIGNMENT_ID,
            rendered(consignments, CONSIGNMENT_SCHEMA).alias("_c"),
        )
        .join(item_text, on=c.CONSIGNMENT_ID, how="left", maintain_order="left")
        .group_by(RECORD, maintain_order=True)
        .agg(
            pl.col(c.FILING_ID).first(),
            pl.concat_str("_c", pl.lit("\x1d"), pl.col("_items").fill_null("")).str.join("\x1c"),
        )
    )
    texts = record_text["_c"].to_list()
    hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    return record_text.select(RECORD, c.FILING_ID).with_columns(
        pl.Series("content_hash", hashes, dtype=pl.String)
    )


def _quarantine_id(payload: bytes) -> str:
    return "q" + hashlib.sha256(payload).hexdigest()[:31]


def quarantine_id(payload: bytes) -> str:
    """Stable id of a rejected record: the same bytes received twice are one entry."""
    return "q" + hashlib.sha256(payload).hexdigest()[:31]
