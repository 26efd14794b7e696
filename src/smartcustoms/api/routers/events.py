"""Lifecycle events (arrival, release, exit...), singly or in bulk.

Filers report events of their own consignments, officers of their offices' consignments,
admins of any. A batch is all or nothing: when any event has a problem nothing is stored and
every problem is listed, so the corrected batch can be sent again whole. An event for a
consignment the caller may not see is reported exactly like one for an unknown consignment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import polars as pl
from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from smartcustoms.access import Principal, Role
from smartcustoms.api.security import PlatformDep, require
from smartcustoms.errors import InvalidInputError, Problem
from smartcustoms.model.events import EventType, parse_events
from smartcustoms.store.events import EventRecords

__all__ = ["router"]

router = APIRouter(tags=["events"])

Reporter = Annotated[Principal, Depends(require(Role.FILER, Role.OFFICER, Role.ADMIN))]

MAX_EVENTS = 100_000
"""Largest batch accepted in one request (bigger files: several requests)."""


class EventIn(BaseModel):
    """One lifecycle event as reported."""

    consignment_id: str = Field(min_length=1, max_length=128)
    event_type: EventType
    occurred_at: datetime = Field(
        description="ISO 8601 with an offset; a time without one is taken as UTC."
    )
    office: str | None = Field(default=None, max_length=64)


class EventBatch(BaseModel):
    """Events to add, in one transaction."""

    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)


class EventsAdded(BaseModel):
    """How many events were stored."""

    added: int


@router.post(
    "/events",
    status_code=status.HTTP_201_CREATED,
    summary="Add lifecycle events (one or many, all or nothing)",
)
def add_events(batch: EventBatch, principal: Reporter, platform: PlatformDep) -> EventsAdded:
    """Store the events, or none of them with every problem listed (422 ``event.invalid``)."""
    records = [
        {
            "consignment_id": e.consignment_id,
            "event_type": e.event_type.value,
            "occurred_at": e.occurred_at.isoformat(),
            "office": e.office,
        }
        for e in batch.events
    ]
    frame, problems = parse_events(records, source=f"api:{principal.user_id}")
    records_store = EventRecords(platform.store)
    scopes = records_store.scopes(frame["consignment_id"].to_list())
    visible = {
        row["consignment_id"]
        for row in scopes.iter_rows(named=True)
        if principal.role is Role.ADMIN
        or (principal.role is Role.FILER and principal.can_see_filer(row["filer_id"]))
        or (principal.role is Role.OFFICER and principal.can_see_office(row["office"]))
    }
    unseen = frame.with_row_index("_i").filter(~pl.col("consignment_id").is_in(sorted(visible)))
    problems.extend(
        Problem("consignment.not_found", f"events[{i}].consignment_id", f"no consignment {cid!r}")
        for i, cid in unseen.select("_i", "consignment_id").iter_rows()
    )
    if problems:
        raise InvalidInputError(
            f"{len(problems)} problem(s) in {len(records)} event(s); nothing was stored",
            tuple(problems),
        )
    # an event without an office happened at the consignment's office of arrival
    frame = frame.join(
        scopes.select("consignment_id", pl.col("office").alias("_office")),
        on="consignment_id",
        how="left",
        maintain_order="left",
    ).select(
        "consignment_id",
        "event_type",
        "occurred_at",
        pl.coalesce("office", "_office").alias("office"),
        "source",
    )
    added = records_store.add(frame)
    platform.store.record_audit(
        actor=principal.user_id,
        action="events.add",
        subject_type="consignment",
        subject_id=frame["consignment_id"][0] if added == 1 else None,
        details={"events": added, "consignments": frame["consignment_id"].n_unique()},
    )
    return EventsAdded(added=added)
