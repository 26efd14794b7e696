"""Lifecycle events: the milestones of a consignment from arrival to exit.

The vocabulary follows the stages the WCO Time Release Study guide measures (arrival, lodgement,
acceptance, risk decision, documentary and physical controls, other-agency holds, assessment,
payment, release, exit). Events are the source of truth for release-time measurement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Final

import polars as pl

from smartcustoms.errors import Problem
from smartcustoms.model.columns import TIMESTAMP
from smartcustoms.model.timestamps import parse_timestamp

__all__ = ["EVENT_INPUT_FIELDS", "EVENT_SCHEMA", "EventType", "parse_events"]


class EventType(StrEnum):
    """Milestones in the life of a consignment, in their usual order."""

    LODGEMENT = "lodgement"
    """The filer lodged the advance data (may precede arrival: pre-arrival processing)."""
    ARRIVAL = "arrival"
    """The goods arrived at the office."""
    UNLOADING = "unloading"
    """The goods were unloaded / placed in temporary storage."""
    ACCEPTANCE = "acceptance"
    """Customs registered and accepted the filing (WCO DM 023)."""
    RISK_DECISION = "risk_decision"
    """A lane was selected."""
    DOCUMENT_CHECK_START = "document_check_start"
    DOCUMENT_CHECK_END = "document_check_end"
    PHYSICAL_INSPECTION_START = "physical_inspection_start"
    PHYSICAL_INSPECTION_END = "physical_inspection_end"
    AGENCY_HOLD = "agency_hold"
    """Another government agency put the goods on hold."""
    AGENCY_RELEASE = "agency_release"
    """The other agency lifted its hold."""
    ASSESSMENT = "assessment"
    """Duties and taxes were assessed."""
    PAYMENT = "payment"
    """Duties and taxes were paid or secured."""
    RELEASE = "release"
    """Customs released the goods."""
    EXIT = "exit"
    """The goods left the customs area."""


EVENT_SCHEMA: Final = pl.Schema(
    [
        ("consignment_id", pl.String()),
        ("event_type", pl.String()),
        ("occurred_at", TIMESTAMP),
        ("office", pl.String()),
        ("source", pl.String()),
    ]
)
"""Schema of a lifecycle-events frame."""

EVENT_INPUT_FIELDS: Final = ("consignment_id", "event_type", "occurred_at", "office")
"""Fields of an event as filed (``office`` optional; ``source`` is set by the receiver)."""


def parse_events(
    records: Iterable[Mapping[str, Any]], *, source: str, path: str = "events"
) -> tuple[pl.DataFrame, list[Problem]]:
    """Check filed events and turn them into an :data:`EVENT_SCHEMA` frame.

    Vectorised over the whole list (a bulk file of millions of events is one frame); only
    the rows with problems are visited in Python, to word them.

    Args:
        records: Events as mappings with :data:`EVENT_INPUT_FIELDS` (values as text).
        source: Who reported them (stored with each event).
        path: Prefix of each problem's path (``events[3].event_type``).

    Returns:
        The valid events, and every problem found (codes ``event.consignment``,
        ``event.type``, ``event.time``, ``event.field``). Callers store nothing when any
        problem is found, so a corrected file can be sent again whole.
    """
    rows = [dict(r) for r in records]
    problems: list[Problem] = []
    for i, row in enumerate(rows):
        unknown = sorted(set(row) - set(EVENT_INPUT_FIELDS))
        if unknown:
            problems.append(
                Problem(
                    "event.field",
                    f"{path}[{i}]",
                    f"unknown field(s) {', '.join(unknown)}; events have "
                    f"{', '.join(EVENT_INPUT_FIELDS)}",
                )
            )
    raw = pl.DataFrame(
        {
            f: [None if r.get(f) is None else str(r.get(f)) for r in rows]
            for f in EVENT_INPUT_FIELDS
        },
        schema=dict.fromkeys(EVENT_INPUT_FIELDS, pl.String()),
    ).with_row_index("_i")
    types = [t.value for t in EventType]
    checked = raw.with_columns(
        parse_timestamp(pl.col("occurred_at"), allow_dates=False).alias("_at"),
        pl.col("event_type").is_in(types).fill_null(False).alias("_type_ok"),
        (pl.col("consignment_id").str.strip_chars().str.len_chars() > 0)
        .fill_null(False)
        .alias("_id_ok"),
    )
    bad = checked.filter(~pl.col("_type_ok") | ~pl.col("_id_ok") | pl.col("_at").is_null())
    for row in bad.iter_rows(named=True):
        where = f"{path}[{row['_i']}]"
        if not row["_id_ok"]:
            problems.append(
                Problem("event.consignment", f"{where}.consignment_id", "consignment id missing")
            )
        if not row["_type_ok"]:
            problems.append(
                Problem(
                    "event.type",
                    f"{where}.event_type",
                    f"unknown event type {row['event_type']!r}; one of {', '.join(types)}",
                )
            )
        if row["_at"] is None:
            problems.append(
                Problem(
                    "event.time",
                    f"{where}.occurred_at",
                    f"occurred_at {row['occurred_at']!r} is not an ISO 8601 date-time "
                    "(e.g. 2026-11-22T09:30:00+01:00)",
                )
            )
    frame = checked.select(
        pl.col("consignment_id").str.strip_chars(),
        "event_type",
        pl.col("_at").alias("occurred_at"),
        "office",
        pl.lit(source).alias("source"),
    ).cast(dict(EVENT_SCHEMA))  # type: ignore[arg-type]
    return frame, sorted(problems, key=lambda p: (_index(p.path), p.path))


def _index(path: str) -> int:
    start = path.find("[")
    return int(path[start + 1 : path.index("]")]) if start >= 0 else -1
