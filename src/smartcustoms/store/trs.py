"""The store as an event source for the Time Release Study (:class:`~smartcustoms.trs.EventSource`).

Studies read whole periods of events, millions of rows, so this module bypasses the ORM:

* **PostgreSQL** - one query through ADBC, answered as Arrow columns (no Python object per
  value);
* **SQLite** - the standard library driver (the one SQLite library of the process, see
  :mod:`.bulk`), fetched in blocks of rows turned into Polars frames, the stored text times
  parsed in one vectorised step.

Both return every event of each consignment with at least one event in the period (the study
then places each consignment exactly), and the attributes of the same consignments: the lane
in force (the last re-routing, else the decision), the mode of transport, the AEO status
(``none`` when a decision found none) and the first goods item's HS code.

Clearance stores two lifecycle events per consignment (lodgement, acceptance); the risk
decision and the assessment it also records are read as ``risk_decision`` and ``assessment``
milestones from their own tables (``decided_at``, ``assessed_at``), so the clearance path
writes no extra rows for them. The same milestone reported again as an event counts as a
repeat and the earliest time is used.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from typing import Any, Final

import polars as pl

from smartcustoms.model.columns import TIMESTAMP
from smartcustoms.store.bulk import adbc_connect
from smartcustoms.store.database import Store
from smartcustoms.store.types import SQLITE_DATETIME_FORMAT

__all__ = ["FETCH_ROWS", "TrsRecords"]

FETCH_ROWS: Final = 500_000
"""Rows fetched at once from SQLite."""

_EVENT_COLUMNS: Final = ("consignment_id", "event_type", "occurred_at", "office")
_ATTRIBUTE_COLUMNS: Final = ("consignment_id", "lane", "transport_mode", "aeo_status", "hs_code")
_ATTRIBUTES_SQL: Final = """
SELECT c.consignment_id,
       COALESCE(
           (SELECT lc.to_lane FROM lane_changes lc
             WHERE lc.consignment_id = c.consignment_id ORDER BY lc.id DESC LIMIT 1),
           d.lane) AS lane,
       c.transport_mode,
       CASE WHEN d.consignment_id IS NULL THEN NULL
            ELSE COALESCE(d.aeo_status, 'none') END AS aeo_status,
       g.hs_code
  FROM consignments c
  LEFT JOIN risk_decisions d ON d.consignment_id = c.consignment_id
  LEFT JOIN goods_items g ON g.consignment_id = c.consignment_id AND g.item_no = 1
"""


def _quote(value: str) -> str:
    """A SQL string literal (standard quoting: both databases use it)."""
    return "'" + value.replace("'", "''") + "'"


class TrsRecords:
    """Lifecycle events and consignment attributes of one store, for studies.

    Args:
        store: The platform's store.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ SQL

    def _instant(self, moment: datetime) -> str:
        utc = moment.astimezone(UTC)
        if self.store.dialect == "sqlite":
            return _quote(utc.replace(tzinfo=None).strftime(SQLITE_DATETIME_FORMAT))
        return _quote(utc.isoformat()) + "::timestamptz"

    def _scope(
        self, start: datetime | None, end: datetime | None, offices: Collection[str] | None
    ) -> str:
        """``WHERE`` clause on ``consignment_id``: consignments with an event in scope."""
        conditions = []
        if start is not None:
            conditions.append(f"occurred_at >= {self._instant(start)}")
        if end is not None:
            conditions.append(f"occurred_at < {self._instant(end)}")
        if offices is not None:
            listed = ", ".join(_quote(o) for o in sorted(offices)) or "NULL"
            conditions.append(f"office IN ({listed})")
        if not conditions:
            return ""
        return (
            "WHERE consignment_id IN (SELECT consignment_id FROM lifecycle_events WHERE "
            + " AND ".join(conditions)
            + ")"
        )

    # ------------------------------------------------------------------ reading

    def _rows(self, sql: str, columns: tuple[str, ...]) -> pl.DataFrame:
        """Run ``sql`` and return its rows as a frame of text columns (PostgreSQL: typed)."""
        schema = dict.fromkeys(columns, pl.String())
        if self.store.dialect == "postgresql":
            conn = adbc_connect(self.store.url)
            try:
                with conn.cursor() as cur:
                    cur.execute(sql)
                    table = cur.fetch_arrow_table()
            finally:
                conn.close()
            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            return frame
        parts = list(self._sqlite_blocks(sql, schema))
        return pl.concat(parts) if parts else pl.DataFrame(schema=schema)

    def _sqlite_blocks(self, sql: str, schema: dict[str, Any]) -> Iterator[pl.DataFrame]:
        raw = self.store.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(sql)
            while rows := cur.fetchmany(FETCH_ROWS):
                yield pl.DataFrame(rows, schema=schema, orient="row")
            cur.close()
        finally:
            raw.close()

    def lifecycle_events(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        offices: Collection[str] | None = None,
    ) -> pl.LazyFrame:
        """Every event of each consignment with an event in ``[start, end)`` (and offices).

        Returns:
            ``consignment_id``, ``event_type``, ``occurred_at`` (UTC), ``office``.
        """
        scope = self._scope(start, end, offices)
        sql = f"""
SELECT {", ".join(_EVENT_COLUMNS)} FROM lifecycle_events {scope}
UNION ALL
SELECT consignment_id, CAST('risk_decision' AS TEXT), decided_at, office
  FROM risk_decisions {scope}
UNION ALL
SELECT consignment_id, CAST('assessment' AS TEXT), assessed_at, CAST(NULL AS TEXT)
  FROM assessments {scope}
"""
        frame = self._rows(sql, _EVENT_COLUMNS)
        if self.store.dialect == "sqlite":
            time = pl.col("occurred_at").str.to_datetime(
                "%Y-%m-%d %H:%M:%S%.f", time_zone="UTC", time_unit="us", strict=False
            )
        else:
            time = pl.col("occurred_at").dt.convert_time_zone("UTC")
        return frame.lazy().select(
            pl.col("consignment_id").cast(pl.String),
            pl.col("event_type").cast(pl.String),
            time.cast(TIMESTAMP).alias("occurred_at"),
            pl.col("office").cast(pl.String),
        )

    def consignment_attributes(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        offices: Collection[str] | None = None,
    ) -> pl.LazyFrame:
        """Lane, mode of transport, AEO status and first HS code of the same consignments."""
        scope = self._scope(start, end, offices).replace(
            "WHERE consignment_id", "WHERE c.consignment_id", 1
        )
        frame = self._rows(_ATTRIBUTES_SQL + scope, _ATTRIBUTE_COLUMNS)
        return frame.lazy().select(pl.col(c).cast(pl.String) for c in _ATTRIBUTE_COLUMNS)
