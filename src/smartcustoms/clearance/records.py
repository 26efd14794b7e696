"""What a committed chunk writes: accepted filings with everything they carry, quarantine."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from smartcustoms.clearance.identity import quarantine_id
from smartcustoms.intake import ParsedBatch
from smartcustoms.model import columns as c
from smartcustoms.model.columns import RECORD
from smartcustoms.model.events import EventType
from smartcustoms.store import BulkWriter
from smartcustoms.store.tables import FILING_LEVEL_COLUMNS
from smartcustoms.tariff import Assessment
from smartcustoms.tariff import columns as tc

__all__ = ["assessment_rows", "write_accepted", "write_quarantine"]


def write_accepted(
    writer: BulkWriter,
    batch: ParsedBatch,
    cons: pl.DataFrame,
    items: pl.DataFrame,
    hashes: pl.DataFrame,
    quality: pl.DataFrame,
    assessment: Assessment | None,
    *,
    batch_id: str,
    now: datetime,
) -> None:
    """Insert accepted filings: filings, consignments, items, assessments, events, parties."""
    if cons.is_empty():
        return
    filing_rows = (
        cons.group_by(RECORD, maintain_order=True)
        .agg(
            *[pl.col(col).first() for col in FILING_LEVEL_COLUMNS],
            pl.len().cast(pl.Int64).alias("consignment_count"),
        )
        .join(hashes.select(RECORD, "content_hash"), on=RECORD, how="left")
        .join(batch.records.select(RECORD, "line"), on=RECORD, how="left")
        .with_columns(
            pl.lit(now, dtype=c.TIMESTAMP).alias("received_at"),
            pl.lit(batch_id).alias("batch_id"),
            pl.lit(batch.source).alias("source"),
        )
        .drop(RECORD)
    )
    writer.insert("filings", filing_rows)
    cons_rows = (
        cons.drop([col for col in FILING_LEVEL_COLUMNS if col != c.FILING_ID])
        .join(quality, on=c.CONSIGNMENT_ID, how="left")
        .with_columns(
            pl.lit(now, dtype=c.TIMESTAMP).alias("accepted_at"),
            pl.lit(batch_id).alias("batch_id"),
        )
        .drop(RECORD, "_path")
    )
    writer.insert("consignments", cons_rows)
    writer.insert("goods_items", items.drop(RECORD, "_path"))
    if assessment is not None:
        writer.insert("assessments", assessment_rows(assessment, cons, now))
    lodged = cons.select(
        c.CONSIGNMENT_ID,
        pl.lit(EventType.LODGEMENT.value).alias("event_type"),
        pl.col(c.FILED_AT).fill_null(now).alias("occurred_at"),
        pl.col(c.OFFICE_OF_ARRIVAL).alias("office"),
        pl.lit("clear").alias("source"),
    )
    accepted = lodged.with_columns(
        pl.lit(EventType.ACCEPTANCE.value).alias("event_type"),
        pl.lit(now, dtype=c.TIMESTAMP).alias("occurred_at"),
    )
    writer.insert("lifecycle_events", pl.concat([lodged, accepted]))
    parties = []
    for role in ("filer", "seller", "importer", "carrier"):
        parties.append(
            cons.filter(pl.col(f"{role}_id").is_not_null()).select(
                pl.col(f"{role}_id").alias("party_id"),
                pl.lit(role).alias("role"),
                pl.col(f"{role}_name").alias("name"),
                pl.col(f"{role}_country").alias("country"),
            )
        )
    party_rows = (
        pl.concat(parties)
        .unique(["party_id", "role"], keep="last", maintain_order=True)
        .with_columns(
            pl.lit(now, dtype=c.TIMESTAMP).alias("first_seen_at"),
            pl.lit(now, dtype=c.TIMESTAMP).alias("last_seen_at"),
        )
    )
    writer.upsert("parties", party_rows, ["party_id", "role"], ["name", "country", "last_seen_at"])


def write_quarantine(
    writer: BulkWriter,
    batch: ParsedBatch,
    bad: pl.Series,
    problems: pl.DataFrame,
    hashes: pl.DataFrame,
    *,
    batch_id: str,
    now: datetime,
    tenant: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Store rejected records whole; return ``_record`` -> ``quarantine_id``.

    ``tenant`` (``_record`` -> ``tenant``) names the filer who submitted each record through
    the service (recorded on new entries; an entry received again keeps its first tenant).
    """
    if bad.is_empty():
        return pl.DataFrame(schema={RECORD: pl.Int64(), "quarantine_id": pl.String()})
    records = sorted(int(r) for r in bad.to_list())
    payloads = [batch.payload(r) for r in records]
    errors = problems.filter(pl.col(RECORD).is_in(bad.implode()))
    per_record = errors.group_by(RECORD).agg(
        pl.struct("code", "path", "message", "severity")
        .struct.json_encode()
        .str.join(",")
        .alias("problems"),
        pl.col("code").unique().sort().str.join(",").alias("problem_codes"),
    )
    rows = (
        pl.DataFrame(
            {
                RECORD: pl.Series(records, dtype=pl.Int64),
                "quarantine_id": [quarantine_id(p) for p in payloads],
                "payload": pl.Series(payloads, dtype=pl.Binary),
            }
        )
        .join(per_record, on=RECORD, how="left")
        .join(batch.records.select(RECORD, "line"), on=RECORD, how="left")
        .join(hashes.select(RECORD, c.FILING_ID), on=RECORD, how="left")
        .with_columns(
            pl.concat_str(pl.lit("["), pl.col("problems"), pl.lit("]")).alias("problems"),
            pl.lit("open").alias("status"),
            pl.lit(batch.source).alias("source"),
            pl.col(RECORD).alias("record_no"),
            pl.lit(batch.fmt).alias("fmt"),
            pl.lit(batch.column_map, dtype=pl.String).alias("column_map"),
            pl.lit(now, dtype=c.TIMESTAMP).alias("received_at"),
            pl.lit(now, dtype=c.TIMESTAMP).alias("updated_at"),
            pl.lit(1, dtype=pl.Int64).alias("attempts"),
            pl.lit(batch_id).alias("batch_id"),
            pl.lit(None, dtype=pl.String).alias("resolved_filing_id"),
        )
    )
    if tenant is None:
        rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias("tenant"))
    else:
        rows = rows.join(tenant, on=RECORD, how="left")
    mapping = rows.select(RECORD, "quarantine_id")
    stored = rows.unique("quarantine_id", keep="first", maintain_order=True).drop(RECORD)
    # The same bad record received again is one entry seen once more.
    writer.upsert(
        "quarantine",
        stored,
        ["quarantine_id"],
        ["problems", "problem_codes", "updated_at", "batch_id"],
        increment=["attempts"],
    )
    return mapping


def assessment_rows(assessment: Assessment, cons: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """One ``assessments`` row per stored consignment, item lines as JSON ``details``."""
    item_cols = [
        col for col in assessment.items.columns if col not in (c.CONSIGNMENT_ID, RECORD, "_path")
    ]
    lines = assessment.items.group_by(c.CONSIGNMENT_ID).agg(
        pl.struct(
            [
                pl.col(col).cast(pl.String)
                if assessment.items.schema[col] != pl.Boolean
                else pl.col(col)
                for col in item_cols
            ]
        )
        .struct.json_encode()
        .str.join(",")
        .alias("_lines")
    )
    head_cols = [
        col for col in assessment.consignments.columns if col not in (c.CONSIGNMENT_ID, RECORD)
    ]
    return (
        assessment.consignments.join(cons.select(c.CONSIGNMENT_ID), on=c.CONSIGNMENT_ID, how="semi")
        .join(lines, on=c.CONSIGNMENT_ID, how="left")
        .select(
            c.CONSIGNMENT_ID,
            pl.col(tc.REGIME_ID).alias("regime_id"),
            pl.col(tc.CURRENCY).alias("currency"),
            pl.concat_str(
                pl.lit('{"consignment":'),
                pl.struct(
                    [
                        pl.col(col).cast(pl.String)
                        if assessment.consignments.schema[col] != pl.Boolean
                        else pl.col(col)
                        for col in head_cols
                    ]
                ).struct.json_encode(),
                pl.lit(',"items":['),
                pl.col("_lines").fill_null(""),
                pl.lit("]}"),
            ).alias("details"),
            pl.col(tc.DUTY_TOTAL).alias("duty_total"),
            pl.col(tc.VAT_TOTAL).alias("vat_total"),
            pl.col(tc.EXCISE_TOTAL).alias("excise_total"),
            pl.col(tc.TOTAL_PAYABLE_AT_BORDER).alias("total_payable"),
            pl.lit(now, dtype=c.TIMESTAMP).alias("assessed_at"),
        )
    )
