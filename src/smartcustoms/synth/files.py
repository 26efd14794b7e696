"""Writing a synthetic traffic run to files, streaming chunk by chunk.

:func:`write_traffic` generates the run (:func:`~smartcustoms.synth.traffic.generate_traffic`),
fills in revenue at stake when labels are asked for, and appends each chunk to the filings
file and the optional events and labels files before generating the next, so memory stays
bounded by the chunk size whatever the number of consignments.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

import polars as pl

from smartcustoms.errors import UnknownFormatError
from smartcustoms.model.columns import empty_consignments, empty_items
from smartcustoms.model.events import EVENT_SCHEMA
from smartcustoms.synth.bad_sample import manifest_path, write_bad_sample
from smartcustoms.synth.columns import FRAUD_TYPE, IS_NONCOMPLIANT, LABEL_SCHEMA, REVENUE_AT_STAKE
from smartcustoms.synth.config import TrafficConfig
from smartcustoms.synth.revenue import Assessor, tariff_assessor, with_revenue_at_stake
from smartcustoms.synth.traffic import TrafficChunk, TrafficGenerator
from smartcustoms.synth.writers import TableWriter, filing_records, item_rows, table_format

__all__ = ["FILING_FORMATS", "FilingFormat", "TrafficSummary", "write_traffic"]

FilingFormat = Literal["jsonl", "csv"]
FILING_FORMATS: Final = ("jsonl", "csv")
"""Formats of the filings file."""

Progress = Callable[[int], None]
"""Called after each chunk is written with the number of consignments written so far."""


@dataclass
class TrafficSummary:
    """What a run wrote.

    Attributes:
        seed: Run seed.
        consignments: Consignments written.
        filings: Filings written.
        items: Goods items written.
        events: Lifecycle events written (0 without an events file).
        noncompliant: Non-compliant consignments.
        by_fraud_type: Non-compliant consignments per fraud type.
        revenue_at_stake: Total revenue at stake (EUR), ``None`` when not computed.
        seconds: Wall-clock time.
        files: Paths written, by role (``filings``, ``events``, ``labels``, ``bad_sample``,
            ``bad_sample_manifest``).
    """

    seed: int
    consignments: int = 0
    filings: int = 0
    items: int = 0
    events: int = 0
    noncompliant: int = 0
    by_fraud_type: dict[str, int] = field(default_factory=dict)
    revenue_at_stake: Decimal | None = None
    seconds: float = 0.0
    files: dict[str, str] = field(default_factory=dict)

    @property
    def consignments_per_second(self) -> float:
        """Generation and writing rate."""
        return self.consignments / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``smartcustoms synth traffic --json`` prints)."""
        return {
            "seed": self.seed,
            "consignments": self.consignments,
            "filings": self.filings,
            "items": self.items,
            "events": self.events,
            "noncompliant": self.noncompliant,
            "by_fraud_type": dict(sorted(self.by_fraud_type.items())),
            "revenue_at_stake_eur": None
            if self.revenue_at_stake is None
            else str(self.revenue_at_stake.quantize(Decimal("0.01"))),
            "seconds": round(self.seconds, 3),
            "consignments_per_second": round(self.consignments_per_second, 1),
            "files": dict(self.files),
        }


def write_traffic(
    config: TrafficConfig,
    out: str | Path,
    *,
    fmt: FilingFormat = "jsonl",
    events: str | Path | None = None,
    labels: str | Path | None = None,
    bad_sample: str | Path | None = None,
    assessor: Assessor | None = None,
    compute_revenue: bool = True,
    progress: Progress | None = None,
) -> TrafficSummary:
    """Generate a run and write it: filings, and optionally events, labels and a bad sample.

    Args:
        config: The run.
        out: Filings file.
        fmt: ``jsonl`` (one filing per line) or ``csv`` (one goods item per row).
        events: Events file (``.parquet``, ``.jsonl``/``.ndjson`` or ``.csv``).
        labels: Labels file (``.parquet``, ``.csv`` or ``.jsonl``); never mixed with filings.
        bad_sample: Also write a deliberately bad JSONL sample (and its manifest) there.
        assessor: Computes tax due for revenue at stake (default: the tariff engine under
            ``eu-2026-07``).
        compute_revenue: Fill ``revenue_at_stake`` in the labels (needs the tariff engine).
        progress: Called after each chunk.

    Returns:
        The summary of what was written.

    Raises:
        UnknownFormatError: When ``fmt`` or a side-file extension is not supported.
    """
    if fmt not in FILING_FORMATS:
        raise UnknownFormatError(f"unknown filings format {fmt!r}; use jsonl or csv")
    for side in (events, labels):
        if side is not None:
            table_format(side)
    started = time.perf_counter()
    summary = TrafficSummary(seed=config.seed)
    revenue = compute_revenue and labels is not None
    if revenue and assessor is None:
        assessor = tariff_assessor()
    stake = Decimal(0)
    counts: dict[str, int] = {}
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    generator = TrafficGenerator(config, with_events=events is not None)
    with ExitStack() as stack:
        sink = stack.enter_context(target.open("wb"))
        event_writer = label_writer = None
        if events is not None:
            event_writer = stack.enter_context(TableWriter(events))
            stack.callback(event_writer.close, EVENT_SCHEMA)
        if labels is not None:
            label_writer = stack.enter_context(TableWriter(labels))
            stack.callback(label_writer.close, LABEL_SCHEMA)

        def write(chunk: TrafficChunk) -> None:
            if fmt == "jsonl":
                filing_records(chunk.consignments, chunk.items).write_ndjson(sink)
            else:
                rows = item_rows(chunk.consignments, chunk.items)
                rows.write_csv(sink, include_header=chunk.number == 0)
            if event_writer is not None:
                event_writer.write(chunk.events)
            if label_writer is not None:
                label_writer.write(chunk.labels)

        # Serialising a chunk takes about as long as generating one: a writer thread overlaps
        # the two (Polars and NumPy release the GIL), with at most one chunk waiting.
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=1))
        pending: Future[None] | None = None
        written = 0
        for chunk in generator:
            if revenue and assessor is not None:
                chunk = with_revenue_at_stake(chunk, assessor)
            if pending is not None:
                pending.result()
                if progress is not None:
                    progress(written)
            pending = pool.submit(write, chunk)
            written += chunk.consignments.height
            summary.consignments += chunk.consignments.height
            summary.filings += chunk.filings
            summary.items += chunk.items.height
            summary.events += chunk.events.height
            bad = chunk.labels.filter(pl.col(IS_NONCOMPLIANT))
            for name, n in bad.group_by(FRAUD_TYPE).len().iter_rows():
                counts[str(name)] = counts.get(str(name), 0) + int(n)
            if revenue:
                stake += Decimal(str(chunk.labels[REVENUE_AT_STAKE].sum() or 0))
        if pending is not None:
            pending.result()
        elif fmt == "csv":
            item_rows(empty_consignments(), empty_items()).write_csv(sink)
        if progress is not None:
            progress(written)
    summary.files["filings"] = str(target)
    if events is not None:
        summary.files["events"] = str(events)
    if labels is not None:
        summary.files["labels"] = str(labels)
    if bad_sample is not None:
        manifest = write_bad_sample(bad_sample, seed=config.seed, start=config.start)
        summary.files["bad_sample"] = manifest.path
        summary.files["bad_sample_manifest"] = str(manifest_path(manifest.path))
    summary.noncompliant = sum(counts.values())
    summary.by_fraud_type = counts
    summary.revenue_at_stake = stake if revenue else None
    summary.seconds = time.perf_counter() - started
    return summary
