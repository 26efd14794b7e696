"""``smartcustoms clear`` and ``smartcustoms demo``."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from smartcustoms.clearance import ChunkOutcome, ClearSummary
from smartcustoms.cli._common import db_option, echo_json, json_option, make_platform
from smartcustoms.intake import explain_reasons

__all__ = ["clear_command", "demo_command"]


def _progress(console: Console, total: int | None) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _count_records(paths: list[Path]) -> int | None:
    """Lines in the input files, a cheap upper bound of records for the progress bar."""
    total = 0
    for path in paths:
        if path.suffix.lower() not in (".jsonl", ".ndjson", ".csv"):
            return None
        with path.open("rb") as fh:
            total += sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 24), b""))
    return total or None


def print_summary(console: Console, summary: ClearSummary) -> None:
    """The human-readable summary of a clearance run."""
    table = Table(title=f"clearance {summary.batch_id}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rate = summary.consignments / summary.seconds if summary.seconds else 0
    rows = [
        ("received (filings)", f"{summary.received:,}"),
        ("accepted", f"{summary.accepted:,}"),
        ("  of which already on file", f"{summary.duplicates:,}"),
        ("quarantined", f"{summary.quarantined:,}"),
        ("consignments stored", f"{summary.consignments:,}"),
        ("goods items stored", f"{summary.items:,}"),
        (f"duty ({summary.currency})", f"{summary.duty:,.2f}"),
        (f"VAT at the border ({summary.currency})", f"{summary.vat:,.2f}"),
        (f"excise ({summary.currency})", f"{summary.excise:,.2f}"),
        ("regime", summary.regime),
        ("time", f"{summary.seconds:.1f} s ({rate:,.0f} consignments/s)"),
    ]
    if summary.results:
        rows.append(("results", summary.results))
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)
    if summary.problem_codes:
        codes = Table(title="problems in quarantined filings")
        codes.add_column("code")
        codes.add_column("count", justify="right")
        for code, n in sorted(summary.problem_codes.items(), key=lambda kv: -kv[1]):
            codes.add_row(code, f"{n:,}")
        console.print(codes)


def run_clear(
    platform: Any,
    paths: list[Path],
    *,
    fmt: str | None,
    column_map: str | None,
    out: Path | None,
    quiet: bool,
    console: Console,
) -> ClearSummary:
    """Clear ``paths`` with a Rich progress bar unless ``quiet``."""
    if quiet:
        return platform.clear(paths, fmt=fmt, column_map=column_map, out=out)  # type: ignore[no-any-return]
    total = _count_records(paths)
    started = time.perf_counter()
    with _progress(console, total) as progress:
        task = progress.add_task("clearing", total=total, rate="")

        def on_chunk(outcome: ChunkOutcome, records: int) -> None:
            done = progress.tasks[0].completed + records
            elapsed = time.perf_counter() - started
            progress.update(task, completed=done, rate=f"{done / elapsed:,.0f} filings/s")

        summary: ClearSummary = platform.clear(
            paths, fmt=fmt, column_map=column_map, out=out, on_chunk=on_chunk
        )
        progress.update(task, total=summary.received, completed=summary.received)
    return summary


@click.command("clear")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "json", "csv", "postal"]),
    default=None,
    help="Input format (detected when omitted).",
)
@click.option("--column-map", default=None, help="Column map name or TOML file (CSV input).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Per-consignment results: .jsonl or .parquet.",
)
@click.option("--regime", default=None, help="Regime id (default: $SMARTCUSTOMS_REGIME).")
@click.option(
    "--rates",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Exchange-rate table (default: $SMARTCUSTOMS_EXCHANGE_RATES or the shipped demo table).",
)
@click.option(
    "--schedule",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Tariff schedule (default: $SMARTCUSTOMS_TARIFF_SCHEDULE or the shipped eu-demo).",
)
@click.option("--chunk-size", type=click.IntRange(1), default=None, help="Records per batch.")
@db_option
@json_option
def clear_command(
    files: tuple[Path, ...],
    fmt: str | None,
    column_map: str | None,
    out: Path | None,
    regime: str | None,
    rates: str | None,
    schedule: str | None,
    chunk_size: int | None,
    database_url: str | None,
    as_json: bool,
) -> None:
    """Ingest, validate, assess and store filings; rejected ones go to quarantine."""
    platform = make_platform(
        database_url,
        regime=regime,
        chunk_size=chunk_size,
        exchange_rates=rates,
        tariff_schedule=schedule,
    )
    console = Console(stderr=as_json)
    summary = run_clear(
        platform,
        list(files),
        fmt=fmt,
        column_map=column_map,
        out=out,
        quiet=as_json,
        console=console,
    )
    if as_json:
        echo_json(summary.as_dict())
    else:
        print_summary(console, summary)


@click.command("demo")
@click.option("--consignments", type=click.IntRange(1), default=100_000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("smartcustoms-demo"),
    show_default=True,
    help="Where the generated files go.",
)
@db_option
@json_option
def demo_command(
    consignments: int, seed: int, workdir: Path, database_url: str | None, as_json: bool
) -> None:
    """Generate a day of traffic at one office and clear it (SQLite by default)."""
    from smartcustoms.synth import TrafficConfig, write_bad_sample, write_traffic

    workdir.mkdir(parents=True, exist_ok=True)
    if database_url is None and "SMARTCUSTOMS_DATABASE_URL" not in os.environ:
        database_url = f"sqlite:///{workdir / 'smartcustoms.db'}"
    console = Console(stderr=as_json)
    traffic = workdir / "traffic.jsonl"
    bad = workdir / "bad-sample.jsonl"
    # today's traffic, so that every date is inside the validation window
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    config = TrafficConfig(consignments=consignments, seed=seed, days=1, start=today)
    if not as_json:
        console.print(f"[bold]1/3[/] generating {consignments:,} consignments (seed {seed})")
    with _progress(console, consignments) as progress:
        task = progress.add_task("generating", total=consignments, rate="", visible=not as_json)
        write_traffic(
            config,
            traffic,
            events=workdir / "events.parquet",
            labels=workdir / "labels.parquet",
            progress=lambda n: progress.update(task, completed=n),
        )
    # its own seed: the sample's good filings must not reuse the traffic's filing ids
    write_bad_sample(bad, seed=seed + 1, start=today)
    if not as_json:
        console.print("[bold]2/3[/] clearing the traffic and a deliberately bad sample")
    platform = make_platform(database_url)
    summary = run_clear(
        platform,
        [traffic, bad],
        fmt=None,
        column_map=None,
        out=workdir / "results.jsonl",
        quiet=as_json,
        console=console,
    )
    quarantined = platform.store.quarantine_entries(limit=3)
    if as_json:
        echo_json(
            {
                **summary.as_dict(),
                "database": platform.store.url.render_as_string(hide_password=True),
                "files": {"traffic": str(traffic), "bad_sample": str(bad)},
                "quarantine_sample": [q.as_dict(with_payload=False) for q in quarantined],
            }
        )
        return
    console.print("[bold]3/3[/] results")
    print_summary(console, summary)
    for entry in quarantined:
        console.print(
            f"quarantined {entry.quarantine_id} ({Path(entry.source or '').name}:{entry.line}): "
            + "; ".join(f"{p.code} at {p.path}" for p in entry.problems[:4])
        )
    sample = platform.store.consignment_ids(limit=1)
    if sample:
        record = platform.store.consignment(sample[0])
        if record is not None:
            reasons = explain_reasons(record.get("dq_reasons"))
            console.print(
                f"consignment {sample[0]}: data quality {record['dq_score']}/100"
                + (" - " + "; ".join(str(r["message"]) for r in reasons) if reasons else "")
            )
    console.print(
        f"\nTry: smartcustoms quarantine list --db {platform.store.url} | "
        "smartcustoms quarantine show ID | smartcustoms tariff lookup 610910"
    )
