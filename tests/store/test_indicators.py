"""Headline figures of a day, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
from sqlalchemy import func, select

from smartcustoms.platform import SmartCustoms
from smartcustoms.store import tables as t
from smartcustoms.store.events import EventRecords
from smartcustoms.store.indicators import Indicators
from smartcustoms.synth import TrafficConfig, write_traffic


def test_a_days_figures_add_up(platform: SmartCustoms, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    now = datetime.now(UTC)
    write_traffic(
        TrafficConfig(consignments=60, seed=5, start=now - timedelta(hours=6)),
        path,
        compute_revenue=False,
    )
    platform.clear([path])
    with platform.store.engine.connect() as conn:
        ids = list(conn.execute(select(t.consignments.c.consignment_id)).scalars())
        payable = conn.execute(select(t.assessments.c.total_payable)).scalars().all()
        lanes = dict(
            conn.execute(
                select(t.risk_decisions.c.lane, func.count()).group_by(t.risk_decisions.c.lane)
            ).all()
        )
    platform.targeting.record_inspections(
        [
            {
                "consignment_id": ids[0],
                "result": "noncompliant",
                "revenue_recovered": "12.5",
                "officer": "ana",
            },
            {"consignment_id": ids[1], "result": "compliant", "officer": "ana"},
        ],
        actor="test",
    )
    with platform.store.engine.connect() as conn:
        accepted_at = {
            r[0]: r[1]
            for r in conn.execute(
                select(t.lifecycle_events.c.consignment_id, t.lifecycle_events.c.occurred_at).where(
                    t.lifecycle_events.c.event_type == "acceptance"
                )
            )
        }
    release = pl.DataFrame(
        {
            "consignment_id": [ids[0], ids[1]],
            "event_type": ["release", "release"],
            "occurred_at": [
                accepted_at[ids[0]] + timedelta(hours=2),
                accepted_at[ids[1]] + timedelta(hours=4),
            ],
            "office": [None, None],
            "source": ["test", "test"],
        },
        schema_overrides={"office": pl.String, "occurred_at": pl.Datetime("us", "UTC")},
    )
    EventRecords(platform.store).add(release)
    day = Indicators(platform.store).day(now.date())
    assert day.consignments == len(ids)
    assert day.lanes == {str(k): int(v) for k, v in lanes.items()}
    assert (day.inspections, day.non_compliant, day.hit_rate) == (2, 1, 0.5)
    assert day.revenue_recovered == Decimal("12.5000")
    assert day.revenue_assessed == sum(payable, Decimal(0)).quantize(Decimal("0.0001"))
    assert (day.releases, day.median_release_hours) == (2, 3.0)
    assert Indicators(platform.store).day(now.date(), offices=frozenset({"XX"})).consignments == 0
