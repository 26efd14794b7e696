"""``smartcustoms synth``: synthetic cross-border e-commerce traffic."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from smartcustoms.synth import (
    DEFAULT_OFFICE,
    TrafficConfig,
    TrafficSummary,
    write_bad_sample,
    write_traffic,
)

__all__ = ["synth_group"]

_DATETIME_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S"]


@click.group("synth")
def synth_group() -> None:
    """Synthetic traffic with planted fraud, for demos, tests and benchmarks."""


def _utc(value: datetime | None) -> datetime:
    """The given time in UTC (naive = UTC); today 00:00 UTC when none is given."""
    if value is None:
        return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _print_summary(console: Console, summary: TrafficSummary) -> None:
    table = Table(title=f"synthetic traffic (seed {summary.seed})", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("consignments", f"{summary.consignments:,}"),
        ("filings", f"{summary.filings:,}"),
        ("goods items", f"{summary.items:,}"),
        ("lifecycle events", f"{summary.events:,}"),
        ("non-compliant", f"{summary.noncompliant:,}"),
        *((f"  {name}", f"{n:,}") for name, n in sorted(summary.by_fraud_type.items())),
    ]
    if summary.revenue_at_stake is not None:
        rows.append(("revenue at stake (EUR)", f"{summary.revenue_at_stake:,.2f}"))
    rows.append(
        (
            "time",
            f"{summary.seconds:.1f} s ({summary.consignments_per_second:,.0f} consignments/s)",
        )
    )
    rows += [(role, path) for role, path in summary.files.items()]
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


@synth_group.command("traffic")
@click.option(
    "--consignments", type=click.IntRange(0), required=True, help="Consignments to generate."
)
@click.option("--seed", type=click.IntRange(0), default=42, show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Filings file.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="jsonl: one filing per line; csv: one goods item per row.",
)
@click.option(
    "--start",
    type=click.DateTime(_DATETIME_FORMATS),
    default=None,
    help="Start of the period (UTC). Default: today 00:00 UTC, so that the traffic lies "
    "inside the date window `clear` accepts. Give it explicitly for reproducible files.",
)
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True)
@click.option(
    "--office",
    "offices",
    multiple=True,
    default=[DEFAULT_OFFICE],
    show_default=True,
    help="Office of arrival; repeat for several.",
)
@click.option(
    "--events",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Lifecycle events file (.parquet, .jsonl or .csv).",
)
@click.option(
    "--labels",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Ground-truth labels file (.parquet, .csv or .jsonl).",
)
@click.option(
    "--bad-sample",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a deliberately bad JSONL sample and its .manifest.json.",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(1),
    default=50_000,
    show_default=True,
    help="Consignments per chunk (memory bound; the output does not depend on it).",
)
@click.option(
    "--no-revenue",
    is_flag=True,
    help="Leave revenue_at_stake empty in the labels (skips the tariff engine).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary for scripts.")
def traffic_command(
    consignments: int,
    seed: int,
    out: Path,
    fmt: str,
    start: datetime | None,
    days: float,
    offices: tuple[str, ...],
    events: Path | None,
    labels: Path | None,
    bad_sample: Path | None,
    chunk_size: int,
    no_revenue: bool,
    as_json: bool,
) -> None:
    """Generate realistic cross-border e-commerce traffic with planted fraud."""
    config = TrafficConfig(
        consignments=consignments,
        seed=seed,
        start=_utc(start),
        days=days,
        offices=tuple(offices),
        chunk_size=chunk_size,
    )
    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=as_json) as progress:
        task = progress.add_task("generating", total=consignments)
        summary = write_traffic(
            config,
            out,
            fmt="csv" if fmt == "csv" else "jsonl",
            events=events,
            labels=labels,
            bad_sample=bad_sample,
            compute_revenue=not no_revenue,
            progress=lambda done: progress.update(task, completed=done),
        )
    if as_json:
        click.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        _print_summary(Console(), summary)


@synth_group.command("bad-sample")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the bad JSONL sample (its manifest goes to OUT.manifest.json).",
)
@click.option("--seed", type=click.IntRange(0), default=42, show_default=True)
@click.option("--lines", type=click.IntRange(40), default=60, show_default=True)
@click.option(
    "--start",
    type=click.DateTime(_DATETIME_FORMATS),
    default=None,
    help="Start of the good filings' period (UTC). Default: today 00:00 UTC.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def bad_sample_command(
    out: Path, seed: int, lines: int, start: datetime | None, as_json: bool
) -> None:
    """Write a deliberately bad filings sample with a manifest of the expected problems."""
    manifest = write_bad_sample(out, seed=seed, n=lines, start=_utc(start))
    if as_json:
        click.echo(json.dumps(manifest.as_dict(), ensure_ascii=False))
        return
    rejected = sum(1 for line in manifest.lines if line.problems)
    click.echo(
        f"wrote {len(manifest.lines)} lines to {out} ({rejected} with problems); "
        f"manifest: {out}.manifest.json"
    )
