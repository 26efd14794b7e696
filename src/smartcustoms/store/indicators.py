"""Headline figures for a day: volume, lanes, hit rate, revenue.

The portal's dashboard and management views read these. Money is summed exactly: in
PostgreSQL as ``NUMERIC``; in SQLite (money kept as text) in integer ten-thousandths.
Release times come from the Time Release Study (``smartcustoms.trs``), not from here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Numeric, and_, cast, func, select
from sqlalchemy.sql import ColumnElement

from smartcustoms.store import tables as t
from smartcustoms.store.database import Store

__all__ = ["DayIndicators", "Indicators"]


@dataclass(frozen=True, slots=True)
class DayIndicators:
    """The headline figures of one day (UTC), optionally for some offices only.

    Attributes:
        day: The day.
        consignments: Consignments accepted that day.
        quarantined_open: Filings waiting in quarantine (all days).
        lanes: Lane decisions taken that day, by lane.
        inspections: Inspection results recorded that day.
        non_compliant: Of those, non-compliant.
        hit_rate: ``non_compliant / inspections`` (``None`` without inspections).
        revenue_assessed: Duties and taxes assessed on the day's consignments.
        revenue_recovered: Revenue recovered by the day's inspections.
    """

    day: date
    consignments: int
    quarantined_open: int
    lanes: dict[str, int]
    inspections: int
    non_compliant: int
    hit_rate: float | None
    revenue_assessed: Decimal
    revenue_recovered: Decimal

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (amounts as strings)."""
        out = asdict(self)
        out["day"] = self.day.isoformat()
        out["revenue_assessed"] = str(self.revenue_assessed)
        out["revenue_recovered"] = str(self.revenue_recovered)
        return out


class Indicators:
    """Headline figures of one store.

    Args:
        store: The platform's store.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def _money_sum(self, column: Any) -> ColumnElement[Any]:
        if self.store.dialect == "sqlite":
            return func.sum(cast(func.round(cast(column, Numeric) * 10000), Integer))
        return func.sum(column)

    def _money(self, value: Any) -> Decimal:
        if value is None:
            return Decimal("0.0000")
        if self.store.dialect == "sqlite":
            return (Decimal(int(value)) / 10000).quantize(Decimal("0.0001"))
        return Decimal(str(value)).quantize(Decimal("0.0001"))

    def day(self, day: date, *, offices: frozenset[str] | None = None) -> DayIndicators:
        """Figures for ``day`` (UTC); ``offices`` limits them to those offices."""
        start = datetime.combine(day, time(0), tzinfo=UTC)
        end = start + timedelta(days=1)
        c, d, a, i, q = (
            t.consignments,
            t.risk_decisions,
            t.assessments,
            t.inspection_results,
            t.quarantine,
        )
        in_offices = (
            c.c.office_of_arrival.in_(sorted(offices)) if offices is not None else and_(True)
        )
        accepted_today = and_(c.c.accepted_at >= start, c.c.accepted_at < end, in_offices)
        with self.store.engine.connect() as conn:
            consignments = conn.execute(
                select(func.count()).select_from(c).where(accepted_today)
            ).scalar_one()
            quarantined = conn.execute(
                select(func.count()).select_from(q).where(q.c.status == "open")
            ).scalar_one()
            lanes: dict[Any, Any] = dict(
                conn.execute(
                    select(d.c.lane, func.count())
                    .join(c, c.c.consignment_id == d.c.consignment_id)
                    .where(d.c.decided_at >= start, d.c.decided_at < end, in_offices)
                    .group_by(d.c.lane)
                ).all()
            )
            assessed = conn.execute(
                select(self._money_sum(a.c.total_payable))
                .join(c, c.c.consignment_id == a.c.consignment_id)
                .where(accepted_today)
            ).scalar_one()
            inspected = conn.execute(
                select(
                    func.count(),
                    # "noncompliant": the vocabulary of targeting.feedback.RESULTS
                    func.sum(cast(i.c.result == "noncompliant", Integer)),
                    self._money_sum(i.c.revenue_recovered),
                )
                .join(c, c.c.consignment_id == i.c.consignment_id)
                .where(i.c.recorded_at >= start, i.c.recorded_at < end, in_offices)
            ).one()
        inspections, non_compliant = int(inspected[0] or 0), int(inspected[1] or 0)
        return DayIndicators(
            day=day,
            consignments=int(consignments),
            quarantined_open=int(quarantined),
            lanes={str(k): int(v) for k, v in lanes.items()},
            inspections=inspections,
            non_compliant=non_compliant,
            hit_rate=non_compliant / inspections if inspections else None,
            revenue_assessed=self._money(assessed),
            revenue_recovered=self._money(inspected[2]),
        )
