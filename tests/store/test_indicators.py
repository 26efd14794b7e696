"""Headline figures of a day, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
from sqlalchemy import func, select

from smartcustoms.platform import SmartCustoms
from smartcustoms.portal.trs import release_tiles
from smartcustoms.store import tables as t
from smartcustoms.store.events import EventRecords
from smartcustoms.store.indicators import Indicators
from smartcustoms.synth import TrafficConfig, write_traffic


def test_a_days_figures_add_up(platform: SmartCustoms, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    now = datetime.now(UTC)
    write_traffic(
        TrafficConfig(consignments=60, seed=5, start=now - timedelta(hours=30), days=1),
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
    # arrived 2 h and 4 h before acceptance (the clearance, a moment ago), released a minute
    # after it; a third one released without arrival is left out of the release times
    soon = timedelta(minutes=1)
    release = pl.DataFrame(
        {
            "consignment_id": [ids[0], ids[0], ids[1], ids[1], ids[2]],
            "event_type": ["arrival", "release", "arrival", "release", "release"],
            "occurred_at": [
                accepted_at[ids[0]] - timedelta(hours=2),
                accepted_at[ids[0]] + soon,
                accepted_at[ids[1]] - timedelta(hours=4),
                accepted_at[ids[1]] + soon,
                accepted_at[ids[2]] + soon,
            ],
            "office": [None] * 5,
            "source": ["test"] * 5,
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
    tiles = release_tiles(platform, now.date())
    # release times 2 h 01 and 4 h 01: mean and median 3 h 01 = 3.02 h
    assert (tiles.releases, tiles.measured, tiles.left_out) == (3, 2, 1)
    assert (tiles.mean_hours, tiles.median_hours) == (3.02, 3.02)
    assert release_tiles(platform, now.date(), offices=frozenset({"XX"})).releases == 0
    assert Indicators(platform.store).day(now.date(), offices=frozenset({"XX"})).consignments == 0
