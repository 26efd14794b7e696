"""What the Time Release Study needs from storage, as a small protocol the store implements.

The study never imports the store: :class:`~smartcustoms.store.trs.TrsRecords` implements
:class:`EventSource` over SQLite or PostgreSQL, and any other source (files, a data lake)
can do the same. Sources may return a superset of what was asked; the study places every
consignment in the period and filters itself.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

import polars as pl

__all__ = ["EventSource"]


class EventSource(Protocol):
    """Where lifecycle events and consignment attributes come from."""

    def lifecycle_events(
        self,
        *,
        start: datetime | None,
        end: datetime | None,
        offices: Collection[str] | None,
    ) -> pl.LazyFrame:
        """Every event of each consignment with at least one event in ``[start, end)``.

        Args:
            start: Start of the period (``None``: unbounded).
            end: End of the period, exclusive (``None``: unbounded).
            offices: When given, consignments with an event at one of these offices (more
                may be returned).

        Returns:
            ``consignment_id``, ``event_type``, ``occurred_at`` (UTC), ``office``.
        """
        ...

    def consignment_attributes(
        self,
        *,
        start: datetime | None,
        end: datetime | None,
        offices: Collection[str] | None,
    ) -> pl.LazyFrame | None:
        """Facts of (at least) the same consignments, :data:`~.columns.ATTRIBUTE_SCHEMA`.

        ``None`` when the source knows none.
        """
        ...
