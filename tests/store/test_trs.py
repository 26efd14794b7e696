"""The store as a Time Release Study event source, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from sqlalchemy import insert, select

from smartcustoms.platform import SmartCustoms
from smartcustoms.store import tables as t
from smartcustoms.store.events import EventRecords
from smartcustoms.store.trs import TrsRecords
from smartcustoms.synth import TrafficConfig, write_traffic
from smartcustoms.trs import Dimension, Span, StudyParams, run_study, study_from_source
from tests.trs.fixture import AS_OF, MONDAY, events


def test_the_hand_computed_case_reads_back_identically(platform: SmartCustoms) -> None:
    fixture = events()
    EventRecords(platform.store).add(fixture.filter(pl.col("event_type") != "teleported"))
    source = TrsRecords(platform.store)
    stored = source.lifecycle_events().collect()
    assert stored.height == fixture.height - 1
    assert stored.sort("consignment_id", "occurred_at", "event_type").equals(
        fixture.filter(pl.col("event_type") != "teleported")
        .select(stored.columns)
        .sort("consignment_id", "occurred_at", "event_type")
    )
    params = StudyParams(as_of=AS_OF)
    from_store = study_from_source(source, params)
    in_memory = run_study(fixture.filter(pl.col("event_type") != "teleported"), None, params)
    assert from_store.as_dict() == in_memory.as_dict()
    assert from_store.span(Span.ARRIVAL_RELEASE)["mean_s"] == 374 * 60


def test_a_period_and_offices_are_pushed_down_without_losing_anyone(
    platform: SmartCustoms,
) -> None:
    EventRecords(platform.store).add(events())
    source = TrsRecords(platform.store)
    week = StudyParams(
        start=MONDAY,
        end=MONDAY + timedelta(days=7),
        as_of=AS_OF,
        filters={Dimension.OFFICE: frozenset({"A"})},
    )
    narrowed = source.lifecycle_events(start=week.start, end=week.end, offices={"A"}).collect()
    assert set(narrowed["consignment_id"]) == {"C1", "C2", "C5", "C6", "C8"}
    assert study_from_source(source, week).as_dict() == run_study(events(), None, week).as_dict()
    assert source.lifecycle_events(offices=set()).collect().is_empty()


def test_cleared_consignments_bring_their_attributes(
    platform: SmartCustoms, tmp_path: Path
) -> None:
    path = tmp_path / "t.jsonl"
    now = datetime.now(UTC)
    write_traffic(
        TrafficConfig(consignments=40, seed=3, start=now - timedelta(days=2), days=1),
        path,
        compute_revenue=False,
    )
    platform.clear([path])
    source = TrsRecords(platform.store)
    attributes = source.consignment_attributes().collect()
    with platform.store.engine.connect() as conn:
        decided = dict(
            conn.execute(select(t.risk_decisions.c.consignment_id, t.risk_decisions.c.lane)).all()
        )
        first = dict(
            conn.execute(
                select(t.goods_items.c.consignment_id, t.goods_items.c.hs_code).where(
                    t.goods_items.c.item_no == 1
                )
            ).all()
        )
        some = sorted(decided)[0]
        conn.execute(
            insert(t.lane_changes).values(
                consignment_id=some,
                from_lane=decided[some],
                to_lane="red",
                justification="a tip-off from the airline",
                officer="ana",
                changed_at=now,
            )
        )
        conn.commit()
    assert attributes.height == 40
    rows = {r["consignment_id"]: r for r in attributes.to_dicts()}
    assert {cid: r["lane"] for cid, r in rows.items()} == decided
    assert {cid: r["hs_code"] for cid, r in rows.items()} == first
    assert {r["transport_mode"] for r in rows.values()} <= {"4", "5"}
    assert {r["aeo_status"] for r in rows.values()} <= {"national", "mra", "none"}
    rerouted = source.consignment_attributes().collect().filter(pl.col("consignment_id") == some)
    assert rerouted["lane"][0] == "red"

    # clearance events, with decisions and assessments read as milestones: nobody released
    kinds = source.lifecycle_events().collect().group_by("event_type").len()
    assert dict(kinds.iter_rows()) == {
        "lodgement": 40,
        "acceptance": 40,
        "risk_decision": 40,
        "assessment": 40,
    }
    study = study_from_source(source, StudyParams(as_of=now + timedelta(minutes=1)))
    assert (study.total, study.excluded["no_release"]) == (40, 40)
    lanes = study.breakdowns[Dimension.LANE]
    assert lanes["excluded"].sum() == 40
