"""``smartcustoms clear`` and ``smartcustoms demo``."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import polars as pl
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
from smartcustoms.platform import SmartCustoms

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
        (
            "lanes red / yellow / blue / green",
            " / ".join(f"{summary.lanes.get(k, 0):,}" for k in ("red", "yellow", "blue", "green")),
        ),
        ("model", summary.model_version or "none (rules, value controls, random share)"),
        ("time", f"{summary.seconds:.1f} s ({rate:,.0f} consignments/s)"),
    ]
    if summary.exceeded_by_rules:
        rows.append(("capacity exceeded by rule-forced lanes", f"{summary.exceeded_by_rules:,}"))
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
@click.option(
    "--serve",
    is_flag=True,
    help="Then run the service and portal, with a demo user per role (passwords printed).",
)
@click.option("--port", default=8000, show_default=True, type=int, help="Port for --serve.")
@db_option
@json_option
def demo_command(
    consignments: int,
    seed: int,
    workdir: Path,
    serve: bool,
    port: int,
    database_url: str | None,
    as_json: bool,
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
        console.print(f"[bold]1/5[/] generating {consignments:,} consignments (seed {seed})")
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
        console.print("[bold]2/5[/] clearing the traffic and a deliberately bad sample")
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
    loop = _demo_risk_loop(platform, config, workdir, console, quiet=as_json)
    if as_json:
        echo_json(
            {
                **summary.as_dict(),
                "database": platform.store.url.render_as_string(hide_password=True),
                "files": {"traffic": str(traffic), "bad_sample": str(bad)},
                "quarantine_sample": [q.as_dict(with_payload=False) for q in quarantined],
                "risk_loop": loop,
            }
        )
        if serve:
            _demo_serve(platform, port, console)
        return
    console.print("[bold]5/5[/] day 1 in detail")
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
    if loop.get("explained"):
        console.print(f"\n[bold]why {loop['explained']['consignment_id']} went red[/] (day 2)")
        for reason in loop["explained"]["reasons"]:
            console.print(f"  - {reason['text']}")
    console.print(
        f"\nTry: smartcustoms quarantine list --db {platform.store.url} | "
        "smartcustoms risk explain ID | smartcustoms risk evaluate | "
        "smartcustoms tariff lookup 610910"
    )
    if serve:
        _demo_serve(platform, port, console)


def demo_users(platform: SmartCustoms) -> dict[str, str]:
    """A demo user per role with a fresh random password; returns ``{user id: password}``.

    The filer is the most active filer of the demo traffic, the officer works its office.
    Users that already exist get a new password (so a rerun prints working credentials).
    """
    import secrets

    from sqlalchemy import func, select

    from smartcustoms.errors import UserNotFoundError
    from smartcustoms.store import tables as t
    from smartcustoms.synth.config import DEFAULT_OFFICE

    with platform.store.engine.connect() as conn:
        top = conn.execute(
            select(t.filings.c.filer_id)
            .where(t.filings.c.filer_id.is_not(None))
            .group_by(t.filings.c.filer_id)
            .order_by(func.count().desc(), t.filings.c.filer_id)
            .limit(1)
        ).scalar()
    specs: dict[str, dict[str, Any]] = {
        "demo-officer": {"role": "officer", "offices": [DEFAULT_OFFICE]},
        "demo-analyst": {"role": "analyst"},
        "demo-admin": {"role": "admin"},
        "demo-filer": {"role": "filer", "filer_id": top or "DEMO-FILER"},
        "demo-partner": {"role": "partner"},
    }
    passwords: dict[str, str] = {}
    for user_id, spec in specs.items():
        password = secrets.token_urlsafe(12)
        try:
            platform.access.user(user_id)
            platform.access.set_password(user_id, password, actor="demo")
        except UserNotFoundError:
            platform.access.add_user(user_id, password=password, actor="demo", **spec)
        passwords[user_id] = password
    return passwords


def _demo_serve(platform: SmartCustoms, port: int, console: Console) -> None:
    """Create the demo users and run the service until interrupted."""
    import uvicorn

    from smartcustoms.api import create_app

    passwords = demo_users(platform)
    url = f"http://127.0.0.1:{port}/portal/"
    console.print(f"\n[bold]portal[/] {url}  (API docs: http://127.0.0.1:{port}/api/v1/docs)")
    for user_id, password in passwords.items():
        console.print(f"  {user_id:14} {password}")
    uvicorn.run(create_app(platform), host="127.0.0.1", port=port, log_level="warning")


def _demo_risk_loop(
    platform: SmartCustoms, config: Any, workdir: Path, console: Console, *, quiet: bool
) -> dict[str, Any]:
    """Controls return outcomes for day 1's red and yellow lanes; train; clear day 2."""
    from datetime import timedelta

    from smartcustoms.errors import InsufficientLabelsError
    from smartcustoms.synth import TrafficConfig, write_traffic
    from smartcustoms.targeting import read_results_file

    if not quiet:
        console.print(
            "[bold]3/5[/] controls report outcomes for day 1's red and yellow lanes "
            "(from the synthetic ground truth); training a model on them"
        )
    controlled = platform.risk_records.controlled_ids()
    rows = [
        r
        for r in read_results_file(workdir / "labels.parquet", officer="demo")
        if r["consignment_id"] in controlled
    ]
    out: dict[str, Any] = {"inspections": 0, "model_version": None}
    if not rows:
        return out
    out["inspections"] = platform.targeting.record_inspections(rows, actor="demo")
    try:
        record = platform.targeting.train()
    except InsufficientLabelsError as exc:
        out["training"] = str(exc)
        return out
    out["model_version"] = record.version
    if not quiet:
        console.print(
            f"      {out['inspections']:,} outcomes recorded; model {record.version} trained "
            f"on {record.n_train:,} labelled goods items"
        )
    day2 = TrafficConfig(
        consignments=max(1, config.consignments // 5),
        seed=config.seed + 2,
        days=1,
        start=config.start + timedelta(days=1),
    )
    traffic = workdir / "traffic-day2.jsonl"
    write_traffic(day2, traffic, labels=workdir / "labels-day2.parquet")
    if not quiet:
        console.print(f"[bold]4/5[/] clearing day 2 ({day2.consignments:,} consignments) with it")
    results = workdir / "results-day2.jsonl"
    summary = platform.clear([traffic], out=results)
    out["day2"] = summary.as_dict()
    if not quiet:
        print_summary(console, summary)
    red = (
        pl.read_ndjson(results, infer_schema_length=None)
        .filter((pl.col("lane") == "red") & pl.col("risk_score").is_not_null())
        .sort("risk_score", descending=True)
    )
    if red.height:
        cid = red["consignment_id"][0]
        out["explained"] = {"consignment_id": cid, **platform.targeting.explain(cid)}
    return out
