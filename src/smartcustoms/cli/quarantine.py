"""``smartcustoms quarantine``: rejected filings, kept whole and resubmittable."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from smartcustoms.cli._common import db_option, echo_json, json_option, make_platform

__all__ = ["quarantine_group"]


@click.group("quarantine")
def quarantine_group() -> None:
    """Rejected filings: list, show, resubmit."""


@quarantine_group.command("list")
@click.option(
    "--status",
    type=click.Choice(["open", "resolved", "all"]),
    default="open",
    show_default=True,
)
@click.option("--code", default=None, help="Only entries with this problem code.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@db_option
@json_option
def list_entries(
    status: str,
    code: str | None,
    limit: int,
    offset: int,
    database_url: str | None,
    as_json: bool,
) -> None:
    """List quarantine entries, oldest first."""
    store = make_platform(database_url).store
    wanted = None if status == "all" else status
    entries = store.quarantine_entries(status=wanted, code=code, limit=limit, offset=offset)
    if as_json:
        echo_json(
            {
                "total": store.quarantine_count(status=wanted),
                "entries": [e.as_dict(with_payload=False) for e in entries],
            }
        )
        return
    table = Table(title=f"quarantine ({store.quarantine_count(status=wanted):,} {status})")
    for col in ("id", "status", "source:line", "filing", "problems"):
        table.add_column(col)
    for e in entries:
        codes = sorted({p.code for p in e.problems})
        table.add_row(
            e.quarantine_id,
            e.status,
            f"{Path(e.source or '-').name}:{e.line if e.line is not None else '-'}",
            e.filing_id or "-",
            f"{len(e.problems)}: " + ", ".join(codes),
        )
    Console().print(table)


@quarantine_group.command("show")
@click.argument("quarantine_id")
@db_option
@json_option
def show(quarantine_id: str, database_url: str | None, as_json: bool) -> None:
    """Show one entry: its problems and the payload as received."""
    entry = make_platform(database_url).quarantine_entry(quarantine_id)
    if as_json:
        echo_json(entry.as_dict())
        return
    click.echo(f"quarantine entry {entry.quarantine_id} ({entry.status})")
    click.echo(f"  source    {entry.source}:{entry.line}  (record {entry.record_no}, {entry.fmt})")
    click.echo(f"  filing    {entry.filing_id or '-'}")
    click.echo(f"  received  {entry.received_at:%Y-%m-%d %H:%M:%S}Z, attempts {entry.attempts}")
    click.echo(f"  problems ({len(entry.problems)}):")
    for p in entry.problems:
        click.echo(f"    {p.severity}[{p.code}] at {p.path}: {p.message}")
    click.echo("  payload:")
    click.echo("    " + entry.payload.decode("utf-8", errors="replace")[:4000])


@quarantine_group.command("resubmit")
@click.argument("quarantine_id")
@click.option(
    "--file",
    "corrected",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The corrected filing (default: resubmit the stored payload as it is).",
)
@db_option
@json_option
def resubmit(
    quarantine_id: str, corrected: Path | None, database_url: str | None, as_json: bool
) -> None:
    """Resubmit a quarantined filing through the full clearance path."""
    platform = make_platform(database_url)
    result = platform.resubmit(
        quarantine_id, corrected=corrected.read_bytes() if corrected else None
    )
    if as_json:
        echo_json(result.as_dict())
    elif result.accepted:
        note = " (already on file)" if result.duplicate else ""
        click.echo(f"accepted: filing {result.filing_id}{note}; entry {quarantine_id} resolved")
    else:
        click.echo(f"still rejected ({len(result.problems)} problems):")
        for p in result.problems:
            click.echo(f"  {p.severity}[{p.code}] at {p.path}: {p.message}")
    if not result.accepted:
        raise SystemExit(1)
