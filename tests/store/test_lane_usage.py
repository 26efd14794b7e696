"""Lane usage counters (migration 0008): equal to counting the decisions, whoever wrote them."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest
from alembic import command
from alembic.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import case, create_engine, delete, event, func, insert, select, text, update

from smartcustoms.clearance.batcher import DecisionBatcher
from smartcustoms.platform import SmartCustoms
from smartcustoms.store import Store
from smartcustoms.store import tables as t
from smartcustoms.store.risk import RiskRecords
from smartcustoms.synth import TrafficConfig, write_traffic

Usage = list[tuple[str, date, str, int, int, int]]

OFFICES = ["FRCDG", "FRORY", "BEBRU"]
LANES = ["green", "yellow", "red"]
DAY = date(2026, 11, 23)


def _counted(store: Store) -> Usage:
    """The usage as the decisions on file give it: the oracle the counters must equal."""
    d = t.risk_decisions.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                d.office,
                d.period,
                d.lane,
                func.count(),
                func.sum(case((d.selection_basis == "rule", 1), else_=0)),
                func.sum(case((d.is_random_pick, 1), else_=0)),
            )
            .where(d.office.is_not(None))
            .group_by(d.office, d.period, d.lane)
        ).all()
    return sorted(
        (r[0], date.fromisoformat(r[1]), r[2], int(r[3]), int(r[4]), int(r[5])) for r in rows
    )


def _kept(store: Store) -> Usage:
    """The usage as the counters give it, for every office and period on file."""
    d = t.risk_decisions.c
    with store.engine.connect() as conn:
        offices = sorted(o for o in conn.execute(select(d.office).distinct()).scalars() if o)
        periods = [
            date.fromisoformat(p) for p in conn.execute(select(d.period).distinct()).scalars()
        ]
    return sorted(RiskRecords(store).lane_usage_rows(offices, periods))


def _decision(
    cid: str, *, office: str | None, lane: str, rule: bool, random: bool
) -> dict[str, Any]:
    return {
        "consignment_id": cid,
        "lane": lane,
        "office": office,
        "period": DAY.isoformat(),
        "rule_score": 0.5,
        "is_random_pick": random,
        "selection_basis": "rule" if rule else "score",
        "policy_id": "default",
        "reasons": "[]",
        "decided_at": datetime(2026, 11, 23, 9, tzinfo=UTC),
        "batch_id": "test",
    }


def test_counters_follow_the_batch_path_the_fast_path_and_re_routing(
    platform: SmartCustoms, tmp_path: Path
) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    history, live = tmp_path / "history.jsonl", tmp_path / "live.jsonl"
    write_traffic(TrafficConfig(consignments=400, seed=3, start=start), history)
    write_traffic(TrafficConfig(consignments=60, seed=4, start=start), live)
    platform.clear([history])  # the batch path (a bulk frame insert)
    store = platform.store
    after_batch = _kept(store)
    assert after_batch == _counted(store)
    assert sum(row[3] for row in after_batch) > 300

    batcher = DecisionBatcher(
        lambda: platform.clearance(actor="api"), fast=platform.single_filing_engine
    )
    try:
        futures = [
            batcher.submit(line, fmt="json", tenant=orjson.loads(line)["filer"]["id"], actor="t")
            for line in live.read_bytes().splitlines()
            if line
        ]
        for future in futures:
            future.result(60)
    finally:
        batcher.close()
    assert batcher.fast_filings > 0  # the fast path's row inserts were counted too
    after_fast = _kept(store)
    assert after_fast == _counted(store)
    assert sum(r[3] for r in after_fast) > sum(r[3] for r in after_batch)

    d = t.risk_decisions.c
    with store.engine.connect() as conn:
        cid, lane = conn.execute(
            select(d.consignment_id, d.lane).where(d.lane == "green", d.office.is_not(None))
        ).first()  # type: ignore[misc]
    RiskRecords(store).change_lane(
        cid, from_lane=lane, to_lane="red", justification="intelligence report", officer="o1"
    )
    rerouted = _kept(store)
    assert rerouted == _counted(store)
    assert rerouted != after_fast


def test_a_lane_emptied_by_re_routing_is_not_reported(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'u.db'}")
    with store.engine.begin() as conn:
        conn.execute(
            insert(t.risk_decisions),
            [_decision("C1", office="FRCDG", lane="red", rule=True, random=False)],
        )
    records = RiskRecords(store)
    assert records.lane_usage_rows(["FRCDG"], [DAY]) == [("FRCDG", DAY, "red", 1, 1, 0)]
    records.change_lane(
        "C1", from_lane="red", to_lane="green", justification="cleared", officer="o"
    )
    assert records.lane_usage_rows(["FRCDG"], [DAY]) == [("FRCDG", DAY, "green", 1, 1, 0)]
    store.dispose()


def test_the_read_touches_the_counters_not_the_decisions(tmp_path: Path) -> None:
    """The fast path re-reads usage every second: never a scan of the day's decisions."""
    store = Store(f"sqlite:///{tmp_path / 'usage.db'}")
    statements: list[str] = []
    event.listen(
        store.engine,
        "before_cursor_execute",
        lambda *a: statements.append(a[2]),
    )
    assert RiskRecords(store).lane_usage_rows(["FRCDG"], [DAY]) == []
    assert len(statements) == 1
    assert "lane_usage" in statements[0]
    assert "risk_decisions" not in statements[0]
    store.dispose()


def test_the_migration_counts_the_decisions_already_on_file(database_url: str) -> None:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("smartcustoms.store") / "migrations")
    )
    engine = create_engine(database_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0007")
    rows = [
        _decision(
            f"C{i}", office=OFFICES[i % 3], lane=LANES[i % 2], rule=i % 4 == 0, random=i % 5 == 0
        )
        for i in range(50)
    ] + [_decision("CX", office=None, lane="red", rule=True, random=True)]
    with engine.begin() as conn:
        conn.execute(insert(t.risk_decisions), rows)
    engine.dispose()
    store = Store(database_url)  # upgrades to the newest revision
    assert _kept(store) == _counted(store)
    assert sum(r[3] for r in _kept(store)) == 50  # the decision with no office is not counted
    store.dispose()


_ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("insert"),
            st.sampled_from([*OFFICES, None]),
            st.sampled_from(LANES),
            st.booleans(),
            st.booleans(),
        ),
        st.tuples(st.just("reroute"), st.integers(0, 40), st.sampled_from(LANES)),
        st.tuples(st.just("move"), st.integers(0, 40), st.sampled_from([*OFFICES, None])),
        st.tuples(st.just("delete"), st.integers(0, 40)),
    ),
    max_size=40,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=_ops)
def test_any_history_of_writes_leaves_counters_equal_to_the_count(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[Any, ...]]
) -> None:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('h') / 'h.db'}")
    d = t.risk_decisions.c
    ids: list[str] = []
    try:
        for op in ops:
            with store.engine.begin() as conn:
                if op[0] == "insert":
                    cid = f"C{len(ids)}"
                    ids.append(cid)
                    row = _decision(cid, office=op[1], lane=op[2], rule=op[3], random=op[4])
                    conn.execute(insert(t.risk_decisions), [row])
                elif ids and op[0] == "reroute":
                    conn.execute(
                        update(t.risk_decisions)
                        .where(d.consignment_id == ids[op[1] % len(ids)])
                        .values(lane=op[2])
                    )
                elif ids and op[0] == "move":
                    conn.execute(
                        update(t.risk_decisions)
                        .where(d.consignment_id == ids[op[1] % len(ids)])
                        .values(office=op[2])
                    )
                elif ids and op[0] == "delete":
                    conn.execute(
                        delete(t.risk_decisions).where(d.consignment_id == ids[op[1] % len(ids)])
                    )
        assert _kept(store) == _counted(store)
    finally:
        store.dispose()


@pytest.mark.postgres
def test_concurrent_writers_never_wait_on_each_others_counters(postgres_url: str) -> None:
    """A long transaction (a bulk job's) holding decisions of an office and lane does not
    make another writer of the same office and lane wait (each backend keeps its own rows)."""
    from tests.conftest import _drop_schema, _fresh_schema

    url, schema = _fresh_schema(postgres_url)
    store = Store(url)
    long = store.engine.connect()
    try:
        tx = long.begin()
        long.execute(
            insert(t.risk_decisions),
            [_decision("L1", office="FRCDG", lane="green", rule=False, random=False)],
        )
        failure: list[BaseException] = []

        def other_writer() -> None:
            try:
                with store.engine.begin() as conn:
                    conn.execute(text("SET LOCAL statement_timeout = '3s'"))
                    conn.execute(
                        insert(t.risk_decisions),
                        [_decision("S1", office="FRCDG", lane="green", rule=True, random=False)],
                    )
            except BaseException as error:  # reported below
                failure.append(error)

        thread = threading.Thread(target=other_writer)
        thread.start()
        thread.join(20)
        assert not thread.is_alive()
        assert failure == []
        assert RiskRecords(store).lane_usage_rows(["FRCDG"], [DAY]) == [
            ("FRCDG", DAY, "green", 1, 1, 0)
        ]
        tx.commit()
        assert RiskRecords(store).lane_usage_rows(["FRCDG"], [DAY]) == [
            ("FRCDG", DAY, "green", 2, 1, 0)
        ]
        assert _kept(store) == _counted(store)
    finally:
        long.close()  # rolls back what is still open, so the schema can be dropped
        store.dispose()
        _drop_schema(postgres_url, schema)
