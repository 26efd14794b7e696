"""``smartcustoms tariff assess FILE``: duties and taxes of a file's filings, nothing stored."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl
from rich.console import Console
from rich.table import Table

from smartcustoms.cli._common import echo_json, json_option, make_platform
from smartcustoms.intake import normalise_codes, read_batches, validate_batch
from smartcustoms.model.columns import RECORD
from smartcustoms.tariff import assess
from smartcustoms.tariff import columns as tc

__all__ = ["assess_command"]


@click.command("assess")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "json", "csv", "postal"]))
@click.option("--column-map", default=None, help="Column map name or TOML file (CSV input).")
@click.option("--regime", default=None, help="Regime id or file (default: $SMARTCUSTOMS_REGIME).")
@click.option("--items", "show_items", is_flag=True, help="Show every item line with its rules.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write .parquet/.csv/.jsonl."
)
@json_option
def assess_command(
    file: Path,
    fmt: str | None,
    column_map: str | None,
    regime: str | None,
    show_items: bool,
    out: Path | None,
    as_json: bool,
) -> None:
    """Assess duties and taxes of the filings in FILE under a regime; nothing is stored.

    Filings with validation errors are skipped and counted; `smartcustoms clear` would
    quarantine them.
    """
    platform = make_platform(None, regime=regime)
    ctx = platform.validation_context()
    heads, lines, skipped = [], [], 0
    for batch in read_batches(file, fmt=fmt, column_map=column_map):
        cons, items = normalise_codes(batch.consignments, batch.items)
        problems = pl.concat(
            [batch.problems, validate_batch(batch, ctx, consignments=cons, items=items)]
        )
        bad = problems.filter(pl.col("severity") == "error")[RECORD].unique().implode()
        skipped += batch.records.filter(pl.col(RECORD).is_in(bad)).height
        ok_cons = cons.filter(~pl.col(RECORD).is_in(bad))
        ok_items = items.filter(~pl.col(RECORD).is_in(bad))
        if ok_cons.is_empty():
            continue
        result = assess(
            ok_cons,
            ok_items,
            regime=platform.regime,
            schedule=platform.schedule,
            rates=platform.rates,
        )
        heads.append(result.consignments)
        lines.append(result.items)
    head = pl.concat(heads) if heads else pl.DataFrame()
    item_lines = pl.concat(lines) if lines else pl.DataFrame()
    if out is not None:
        frame = item_lines if show_items else head
        if out.suffix == ".parquet":
            frame.write_parquet(out)
        elif out.suffix == ".csv":
            frame.with_columns(pl.col(pl.Decimal).cast(pl.String)).write_csv(out)
        else:
            frame.write_ndjson(out)
    if as_json:
        echo_json(
            {
                "regime": platform.regime.id,
                "assessed": head.height,
                "skipped_invalid": skipped,
                "consignments": _jsonable(head),
                **({"items": _jsonable(item_lines)} if show_items else {}),
            }
        )
        return
    console = Console()
    table = Table(title=f"{file.name} under {platform.regime.id} ({head.height:,} consignments)")
    cols = [tc.DUTY_TOTAL, tc.VAT_TOTAL, tc.EXCISE_TOTAL, tc.TOTAL_PAYABLE_AT_BORDER]
    table.add_column("consignment")
    for col in cols:
        table.add_column(col, justify="right")
    table.add_column("rules")
    for row in head.head(50).iter_rows(named=True):
        table.add_row(row["consignment_id"], *(f"{row[c]:.2f}" for c in cols), row[tc.RULES])
    console.print(table)
    if head.height > 50:
        console.print(f"... {head.height - 50:,} more (use --out or --json)")
    if not head.is_empty():
        totals = head.select(pl.col(cols).sum()).row(0)
        console.print(
            "totals: "
            + ", ".join(f"{c} {v:,.2f}" for c, v in zip(cols, totals, strict=True))
            + f" {platform.regime.currency}"
        )
    if skipped:
        console.print(f"[yellow]{skipped:,} filing(s) skipped: validation errors[/]")


def _jsonable(frame: pl.DataFrame) -> list[dict[str, object]]:
    if frame.is_empty():
        return []
    return frame.with_columns(
        pl.col(pl.Decimal).cast(pl.String), pl.col(pl.Date, pl.Datetime).cast(pl.String)
    ).to_dicts()
