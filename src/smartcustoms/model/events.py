"""Lifecycle events: the milestones of a consignment from arrival to exit.

The vocabulary follows the stages the WCO Time Release Study guide measures (arrival, lodgement,
acceptance, risk decision, documentary and physical controls, other-agency holds, assessment,
payment, release, exit). Events are the source of truth for release-time measurement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any, Final

import polars as pl

from smartcustoms.errors import Problem
from smartcustoms.model.columns import TIMESTAMP
from smartcustoms.model.timestamps import parse_timestamp

__all__ = [
    "EVENT_INPUT_FIELDS",
    "EVENT_SCHEMA",
    "EventType",
    "parse_event_frame",
    "parse_events",
]


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
    checked = _checked(raw)
    types = [t.value for t in EventType]
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


def _checked(raw: pl.DataFrame) -> pl.DataFrame:
    """``raw`` with ``_at`` (parsed time), ``_type_ok`` and ``_id_ok``.

    ``occurred_at`` may be text (ISO 8601) or already a datetime (naive taken as UTC).
    """
    types = [t.value for t in EventType]
    at = raw.schema["occurred_at"]
    if isinstance(at, pl.Datetime):
        parsed = (
            pl.col("occurred_at").dt.convert_time_zone("UTC")
            if at.time_zone
            else pl.col("occurred_at").dt.replace_time_zone("UTC")
        ).cast(TIMESTAMP)
    else:
        parsed = parse_timestamp(pl.col("occurred_at").cast(pl.String), allow_dates=False)
    return raw.with_columns(
        parsed.alias("_at"),
        pl.col("event_type").is_in(types).fill_null(False).alias("_type_ok"),
        (pl.col("consignment_id").str.strip_chars().str.len_chars() > 0)
        .fill_null(False)
        .alias("_id_ok"),
    )


def parse_event_frame(
    raw: pl.DataFrame, *, source: str, where: Callable[[int], str] | None = None
) -> tuple[pl.DataFrame, list[Problem], pl.Series]:
    """Check a frame of filed events (a bulk file) and keep the good rows.

    Unlike :func:`parse_events`, which is all or nothing, the good rows are returned for
    storing and the bad ones are named, so a caller can store the first and keep the others.

    Args:
        raw: Columns ``consignment_id``, ``event_type``, ``occurred_at`` (ISO 8601 text or a
            datetime) and optionally ``office``; values as text.
        source: Who reported them (stored with each event).
        where: Location of row ``i`` in problems (default ``events[i]``).

    Returns:
        The valid events (:data:`EVENT_SCHEMA`, in row order), every problem of the bad rows
        (codes ``event.consignment``, ``event.type``, ``event.time``), and the indices of the
        bad rows (``UInt32``).
    """
    locate = where or (lambda i: f"events[{i}]")
    frame = raw if "office" in raw.columns else raw.with_columns(office=pl.lit(None, pl.String))
    frame = frame.with_columns(
        *(pl.col(c).cast(pl.String) for c in ("consignment_id", "event_type", "office"))
    ).with_row_index("_i")
    checked = _checked(frame)
    ok = pl.col("_type_ok") & pl.col("_id_ok") & pl.col("_at").is_not_null()
    problems: list[Problem] = []
    bad = checked.filter(~ok)
    for row in bad.iter_rows(named=True):
        at = locate(int(row["_i"]))
        if not row["_id_ok"]:
            problems.append(Problem("event.consignment", at, "consignment id missing"))
        if not row["_type_ok"]:
            problems.append(Problem("event.type", at, f"unknown event type {row['event_type']!r}"))
        if row["_at"] is None:
            problems.append(
                Problem(
                    "event.time",
                    at,
                    f"occurred_at {row['occurred_at']!r} is not an ISO 8601 date-time",
                )
            )
    good = checked.filter(ok).select(
        pl.col("consignment_id").str.strip_chars(),
        "event_type",
        pl.col("_at").alias("occurred_at"),
        "office",
        pl.lit(source).alias("source"),
    )
    return good.cast(dict(EVENT_SCHEMA)), problems, bad.get_column("_i")  # type: ignore[arg-type]


def _index(path: str) -> int:
    start = path.find("[")
    return int(path[start + 1 : path.index("]")]) if start >= 0 else -1
