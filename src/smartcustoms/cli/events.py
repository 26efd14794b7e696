"""``smartcustoms events``: report lifecycle events, one at a time or a whole file.

``events add`` stores one event or nothing (every problem listed). ``events import`` stores
every good row of a CSV, JSON Lines or Parquet file and lists each rejected row with its coded
problems; the rejected rows are written, exactly as they were, to a rejects file (JSON Lines,
``<file>.rejects.jsonl`` unless ``--rejects`` says otherwise), so nothing is lost. The command
then exits 1 (``error[events.rejected]``).

An event without an office takes the office of arrival of its consignment when the store
knows the consignment. Events of consignments the store does not know are stored too (a
history imported from another system), unless ``--known-only`` rejects them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import click
import orjson
import polars as pl

from smartcustoms.cli._common import db_option, echo_json, json_option, make_platform
from smartcustoms.errors import EventsRejectedError, InvalidInputError, Problem
from smartcustoms.model.events import EventType, parse_events
from smartcustoms.store.events import EventRecords
from smartcustoms.trs.files import RejectedRow, check_event_file

__all__ = ["events_group"]

CHUNK_ROWS: Final = 200_000
"""Events stored per transaction."""
_SHOWN: Final = 20


@click.group("events")
def events_group() -> None:
    """Lifecycle events (arrival, checks, release, exit...): add one, import a file."""


def _with_offices(records: EventRecords, frame: pl.DataFrame) -> tuple[pl.DataFrame, set[str]]:
    """Fill missing offices from the consignments on file; return the ids on file too."""
    scopes = records.scopes(frame.get_column("consignment_id").unique().to_list())
    filled = frame.join(
        scopes.select("consignment_id", pl.col("office").alias("_office")),
        on="consignment_id",
        how="left",
        maintain_order="left",
    ).with_columns(pl.coalesce("office", "_office").alias("office"))
    return filled.drop("_office"), set(scopes.get_column("consignment_id").to_list())


@events_group.command("add")
@click.argument("consignment_id")
@click.argument("event_type", type=click.Choice([e.value for e in EventType]))
@click.option("--at", "occurred_at", default=None, help="ISO 8601 time (default: now).")
@click.option("--office", default=None, help="Office (default: the consignment's).")
@click.option("--source", default="cli", show_default=True, help="Who reports it.")
@click.option("--known-only", is_flag=True, help="Refuse a consignment the store does not know.")
@db_option
@json_option
def add(
    consignment_id: str,
    event_type: str,
    occurred_at: str | None,
    office: str | None,
    source: str,
    known_only: bool,
    database_url: str | None,
    as_json: bool,
) -> None:
    """Add one lifecycle event to a consignment."""
    when = occurred_at or datetime.now(UTC).isoformat()
    record = {
        "consignment_id": consignment_id,
        "event_type": event_type,
        "occurred_at": when,
        "office": office,
    }
    frame, problems = parse_events([record], source=source, path="event")
    if problems:
        raise InvalidInputError("the event was not stored", tuple(problems))
    platform = make_platform(database_url)
    records = EventRecords(platform.store)
    frame, known = _with_offices(records, frame)
    if known_only and consignment_id not in known:
        raise InvalidInputError(
            "the event was not stored",
            (Problem("consignment.not_found", "event.consignment_id", "not on file"),),
        )
    records.add(frame)
    platform.store.record_audit(
        actor=source, action="events.add", subject_type="consignment", subject_id=consignment_id
    )
    row = frame.to_dicts()[0]
    if as_json:
        echo_json({"added": 1, "event": row})
    else:
        click.echo(
            f"added {row['event_type']} of {row['consignment_id']} at "
            f"{row['occurred_at']:%Y-%m-%d %H:%M:%S}Z ({row['office'] or 'no office'})"
        )


@events_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where rejected rows go (default: FILE.rejects.jsonl, only when rows are rejected).",
)
@click.option("--source", default=None, help="Who reports them (default: import:FILE).")
@click.option("--known-only", is_flag=True, help="Reject consignments the store does not know.")
@db_option
@json_option
def import_events(
    file: Path,
    rejects: Path | None,
    source: str | None,
    known_only: bool,
    database_url: str | None,
    as_json: bool,
) -> None:
    """Import a CSV, JSON Lines or Parquet file of events; bad rows are listed, not lost."""
    good, rejected = check_event_file(file, source=source or f"import:{file.name}")
    platform = make_platform(database_url)
    records = EventRecords(platform.store)
    good, known = _with_offices(records, good)
    if known_only:
        unknown = good.with_row_index("_i").filter(~pl.col("consignment_id").is_in(sorted(known)))
        rejected += [
            RejectedRow(
                f"event of {row['consignment_id']}",
                orjson.dumps({k: str(v) for k, v in row.items() if k != "_i"}).decode(),
                (Problem("consignment.not_found", "consignment_id", "not on file"),),
            )
            for row in unknown.iter_rows(named=True)
        ]
        good = good.filter(pl.col("consignment_id").is_in(sorted(known)))
    stored = 0
    for lo in range(0, good.height, CHUNK_ROWS):
        stored += records.add(good.slice(lo, CHUNK_ROWS))
    target = None
    if rejected:
        target = rejects or file.with_name(file.name + ".rejects.jsonl")
        with target.open("wb") as out:
            for row in rejected:
                out.write(orjson.dumps(row.as_dict()) + b"\n")
    platform.store.record_audit(
        actor=source or "cli",
        action="events.import",
        subject_type="file",
        subject_id=file.name,
        details={"stored": stored, "rejected": len(rejected)},
    )
    summary = {
        "file": str(file),
        "stored": stored,
        "rejected": len(rejected),
        "rejects_file": str(target) if target else None,
        "consignments": int(good.get_column("consignment_id").n_unique()),
        "unknown_consignments": int(
            good.filter(~pl.col("consignment_id").is_in(sorted(known)))
            .get_column("consignment_id")
            .n_unique()
        ),
    }
    if as_json:
        echo_json(summary | {"rejected_rows": [r.as_dict() for r in rejected[:_SHOWN]]})
    else:
        click.echo(
            f"{file.name}: {stored:,} events stored for {summary['consignments']:,} "
            f"consignments ({summary['unknown_consignments']:,} not on file), "
            f"{len(rejected):,} rejected"
        )
    if rejected:
        problems = [p for row in rejected for p in row.problems]
        raise EventsRejectedError(
            f"{len(rejected)} row(s) of {file.name} rejected, written whole to {target}; "
            f"the other {stored} events were stored",
            tuple(problems[:200]),
        )
