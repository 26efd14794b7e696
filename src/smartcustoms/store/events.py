"""Lifecycle events in the store: who may report them, and adding them in bulk."""

from __future__ import annotations

import polars as pl
from sqlalchemy import select

from smartcustoms.store import tables as t
from smartcustoms.store.database import Store

__all__ = ["EventRecords"]

_LOOKUP_CHUNK = 5_000


class EventRecords:
    """Lifecycle events of one store.

    Args:
        store: The platform's store.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def scopes(self, consignment_ids: list[str]) -> pl.DataFrame:
        """Filer id and office of each known consignment among ``consignment_ids``.

        Columns ``consignment_id``, ``filer_id``, ``office``; unknown ids are absent.
        """
        c, f = t.consignments, t.filings
        ids = sorted(set(consignment_ids))
        rows: list[tuple[str, str | None, str | None]] = []
        with self.store.engine.connect() as conn:
            for start in range(0, len(ids), _LOOKUP_CHUNK):
                chunk = ids[start : start + _LOOKUP_CHUNK]
                rows.extend(
                    (r[0], r[1], r[2])
                    for r in conn.execute(
                        select(c.c.consignment_id, f.c.filer_id, c.c.office_of_arrival)
                        .join(f, f.c.filing_id == c.c.filing_id)
                        .where(c.c.consignment_id.in_(chunk))
                    )
                )
        return pl.DataFrame(
            rows,
            schema={"consignment_id": pl.String(), "filer_id": pl.String(), "office": pl.String()},
            orient="row",
        )

    def add(self, events: pl.DataFrame) -> int:
        """Store ``events`` (an ``EVENT_SCHEMA`` frame) in one transaction; return the count."""
        with self.store.writer() as writer:
            return writer.insert("lifecycle_events", events)
