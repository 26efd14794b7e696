"""The canonical model every domain reads: filings, consignments, goods items, parties, events.

One definition (the pydantic records) gives both forms: the record form for APIs and files,
and the columnar (Polars) form for the batch path. This package imports no domain.
"""

from __future__ import annotations

from smartcustoms.model import columns
from smartcustoms.model.columns import (
    CONSIGNMENT_SCHEMA,
    ITEM_SCHEMA,
    MONEY,
    TIMESTAMP,
    ColumnInfo,
    column_catalogue,
    empty_consignments,
    empty_items,
)
from smartcustoms.model.events import EVENT_SCHEMA, EventType
from smartcustoms.model.records import Consignment, Filing, GoodsItem, Party

__all__ = [
    "CONSIGNMENT_SCHEMA",
    "EVENT_SCHEMA",
    "ITEM_SCHEMA",
    "MONEY",
    "TIMESTAMP",
    "ColumnInfo",
    "Consignment",
    "EventType",
    "Filing",
    "GoodsItem",
    "Party",
    "column_catalogue",
    "columns",
    "empty_consignments",
    "empty_items",
]
