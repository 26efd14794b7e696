"""The fast path against the batch path, end to end: the same filings, the same answers, rows.

Two stores start identical (same trained model and value reference when a test asks for
one). The same filings go through a :class:`DecisionBatcher` without the fast path (every
filing alone through the batch pipeline: the reference) and through one with it. With the
clock frozen, every result line, every outcome and every stored row must be equal, row for
row, including the filings the fast path declines (problems, duplicates, conflicts, another
filer's id, malformed JSON), which both send down the batch path.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import text

from smartcustoms.clearance.batcher import DecidedFiling, DecisionBatcher
from smartcustoms.config import load_settings
from smartcustoms.platform import SmartCustoms
from smartcustoms.store.database import ConsignmentOutcome
from smartcustoms.store.risk import ModelRecord
from smartcustoms.synth import TrafficConfig, write_traffic
from smartcustoms.testing import make_filing
from tests.conftest import _drop_schema, _fresh_schema

NOW = datetime.now(UTC).replace(microsecond=123456)
START = NOW - timedelta(hours=20)

# what each table is compared on: every column but the autoincrement id and, for the audit
# log, the time the store stamps itself
_TABLES = {
    "filings": "filing_id",
    "consignments": "consignment_id",
    "goods_items": "consignment_id, item_no",
    "assessments": "consignment_id",
    "lifecycle_events": "id",
    "parties": "party_id, role",
    "risk_decisions": "consignment_id",
    "rule_hits": "consignment_id, rule_id",
    "quarantine": "quarantine_id",
}


class _Frozen(datetime):
    """``datetime`` whose ``now`` is :data:`NOW`: both paths stamp the same instant."""

    @classmethod
    def now(cls, tz: Any = None) -> _Frozen:  # type: ignore[override]
        return cls.fromtimestamp(NOW.timestamp(), tz or UTC)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("smartcustoms.clearance.batcher.datetime", _Frozen)
    monkeypatch.setattr("smartcustoms.clearance.runner.datetime", _Frozen)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def twins(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[SmartCustoms, ...]]:
    """Two empty stores of the same kind: (batch only, fast path)."""
    if request.param == "sqlite":
        urls = [f"sqlite:///{tmp_path / name}.db" for name in ("batch", "fast")]
        schemas: list[str] = []
    else:
        base = request.getfixturevalue("postgres_url")
        made = [_fresh_schema(base) for _ in range(2)]
        urls, schemas = [u for u, _ in made], [s for _, s in made]
    platforms = tuple(
        SmartCustoms(load_settings(database_url=url, ledger_dir=str(tmp_path / f"ledger{i}")))
        for i, url in enumerate(urls)
    )
    yield platforms
    for p in platforms:
        p.close()
    for schema in schemas:
        _drop_schema(request.getfixturevalue("postgres_url"), schema)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelRecord, bytes, int]:
    """A model and a value reference trained once on labelled synthetic history."""
    folder = tmp_path_factory.mktemp("trained")
    history, labels = folder / "history.jsonl", folder / "labels.parquet"
    write_traffic(
        TrafficConfig(consignments=2_500, seed=5, start=NOW - timedelta(days=4), days=1.0),
        history,
        labels=labels,
    )
    platform = SmartCustoms(load_settings(database_url=f"sqlite:///{folder / 'train.db'}"))
    platform.clear([history])
    rows = pl.read_parquet(labels).head(1_200)
    platform.targeting.record_inspections(
        [
            {
                "consignment_id": r["consignment_id"],
                "result": "noncompliant" if r["is_noncompliant"] else "compliant",
                "revenue_recovered": r["revenue_at_stake"] if r["is_noncompliant"] else None,
                "finding": r["fraud_type"],
                "officer": "test",
            }
            for r in rows.iter_rows(named=True)
        ]
    )
    record = platform.targeting.train(seed=3)
    refreshed = platform.targeting.refresh_values()
    found = platform.risk_records.value_reference()
    assert found is not None
    model = platform.risk_records.model(record.version)
    platform.close()
    return model, found[1], int(refreshed["references"])


def _install(platform: SmartCustoms, trained: tuple[ModelRecord, bytes, int]) -> None:
    model, reference, rows = trained
    platform.risk_records.save_model(model)
    platform.risk_records.save_value_reference(
        reference, rows=rows, window_start=None, window_end=None
    )


def _traffic(tmp_path: Path, n: int, seed: int) -> list[bytes]:
    path = tmp_path / f"traffic-{seed}.jsonl"
    write_traffic(TrafficConfig(consignments=n, seed=seed, start=START, days=0.8), path)
    return [line for line in path.read_bytes().splitlines() if line]


def _awkward(lines: list[bytes]) -> list[bytes]:
    """Filings the fast path must decline, mixed with some it must take."""
    first = orjson.loads(lines[0])
    conflict = orjson.loads(lines[1])
    conflict["consignments"][0]["items"][0]["description"] += " (changed)"
    bad_total = orjson.loads(lines[2])
    bad_total["filing_id"] = "AWK-TOTAL"
    bad_total["consignments"][0]["consignment_id"] = "AWK-TOTAL-C1"
    bad_total["consignments"][0]["items"][0]["value"] = "-5"
    multi = make_filing("AWK-MULTI", consignments=3, items=4, filed_at=START.isoformat())
    multi["filer"]["id"] = first["filer"]["id"]
    return [
        lines[0],  # a re-send: duplicate
        orjson.dumps(conflict),  # same filing id, other content: conflict
        orjson.dumps(bad_total),  # a negative value: quarantined
        b'{"filing_id": "AWK-BROKEN", ',  # malformed JSON
        orjson.dumps(multi),  # three consignments of four items
    ]


def _tenant(body: bytes) -> str | None:
    try:
        return str(orjson.loads(body)["filer"]["id"])
    except Exception:
        return None


def _submit_each(batcher: DecisionBatcher, bodies: list[bytes]) -> list[DecidedFiling]:
    out = []
    for body in bodies:
        out.append(batcher.submit(body, fmt="json", tenant=_tenant(body), actor="shop").result(120))
    return out


def _dump(platform: SmartCustoms) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    with platform.store.engine.connect() as conn:
        for table, order in _TABLES.items():
            result = conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))
            keys = list(result.keys())
            keep = [i for i, k in enumerate(keys) if k != "id"]
            out[table] = [tuple(row[i] for i in keep) for row in result]
        audits = conn.execute(
            text(
                "SELECT actor, action, subject_type, subject_id, details FROM audit_log ORDER BY id"
            )
        )
        out["audit_log"] = [tuple(r) for r in audits]
    return out


def _exact(outcomes: dict[str, ConsignmentOutcome]) -> dict[str, list[tuple[str, str]]]:
    """Outcomes with every field's type and text (``Decimal("1.10") == Decimal("1.1")``)."""
    return {
        cid: [(type(v).__name__, str(v)) for v in astuple(outcome)]
        for cid, outcome in outcomes.items()
    }


def _compare(
    batch: tuple[SmartCustoms, list[DecidedFiling]], fast: tuple[SmartCustoms, list[DecidedFiling]]
) -> None:
    (a, decided_a), (b, decided_b) = batch, fast
    assert len(decided_a) == len(decided_b)
    for i, (x, y) in enumerate(zip(decided_a, decided_b, strict=True)):
        assert_frame_equal(x.results, y.results, check_exact=True)
        assert _exact(x.outcomes) == _exact(y.outcomes), i
        # built from the rows written, they are what the store reads back (amounts' scale too)
        assert _exact(y.outcomes) == _exact(b.store.consignment_outcomes(list(y.outcomes))), i
    dump_a, dump_b = _dump(a), _dump(b)
    for table in dump_a:
        assert len(dump_a[table]) == len(dump_b[table]), table
        for row_a, row_b in zip(dump_a[table], dump_b[table], strict=True):
            assert row_a == row_b, table


def test_the_fast_path_answers_and_stores_what_the_batch_path_does(
    twins: tuple[SmartCustoms, SmartCustoms], tmp_path: Path, frozen: None
) -> None:
    a, b = twins
    bodies = _traffic(tmp_path, 300, seed=21)
    bodies += _awkward(bodies)
    reference = DecisionBatcher(lambda: a.clearance(actor="api"))
    fast = DecisionBatcher(lambda: b.clearance(actor="api"), fast=b.single_filing_engine)
    try:
        decided_a = _submit_each(reference, bodies)
        decided_b = _submit_each(fast, bodies)
    finally:
        reference.close()
        fast.close()
    assert reference.fast_filings == 0
    accepted = sum(
        1 for d in decided_a if d.results["status"].to_list() == ["accepted"] * d.results.height
    )
    # the fast path is not vacuous: it decided nearly every clean, new filing
    assert fast.fast_filings >= 0.95 * (accepted - 1)
    _compare((a, decided_a), (b, decided_b))


def test_with_a_trained_model_and_value_references(
    twins: tuple[SmartCustoms, SmartCustoms],
    trained: tuple[ModelRecord, bytes, int],
    tmp_path: Path,
    frozen: None,
) -> None:
    a, b = twins
    _install(a, trained)
    _install(b, trained)
    bodies = _traffic(tmp_path, 250, seed=22)
    reference = DecisionBatcher(lambda: a.clearance(actor="api"))
    fast = DecisionBatcher(lambda: b.clearance(actor="api"), fast=b.single_filing_engine)
    try:
        decided_a = _submit_each(reference, bodies)
        decided_b = _submit_each(fast, bodies)
    finally:
        reference.close()
        fast.close()
    lanes = {lane for d in decided_a for lane in d.results["lane"].to_list()}
    assert {"red", "green"} <= lanes  # controlled lanes carry model contributions
    assert all(d.results["model_version"].drop_nulls().len() for d in decided_a)
    assert fast.fast_filings >= 0.95 * len(bodies)
    _compare((a, decided_a), (b, decided_b))


def test_filings_decided_together_equal_filings_decided_one_by_one(
    twins: tuple[SmartCustoms, SmartCustoms], tmp_path: Path, frozen: None
) -> None:
    """Group commit: many filings waiting are decided in arrival order, as if one by one."""
    a, b = twins
    bodies = _traffic(tmp_path, 200, seed=23)
    # a probe store says which filings the fast path takes: a declined one would be cleared
    # after its group, so the two runs would see lane usage in another order
    probe = SmartCustoms(load_settings(database_url=f"sqlite:///{tmp_path / 'probe.db'}"))
    prober = DecisionBatcher(lambda: probe.clearance(actor="api"), fast=probe.single_filing_engine)
    taken = []
    try:
        for body in bodies:
            before = prober.fast_filings
            _submit_each(prober, [body])
            taken.append(prober.fast_filings > before)
    finally:
        prober.close()
        probe.close()
    bodies = [body for body, took in zip(bodies, taken, strict=True) if took]
    assert len(bodies) >= 190
    reference = DecisionBatcher(lambda: a.clearance(actor="api"))
    fast = DecisionBatcher(lambda: b.clearance(actor="api"), fast=b.single_filing_engine)
    try:
        decided_a = _submit_each(reference, bodies)
        futures: list[Future[DecidedFiling]] = [
            fast.submit(body, fmt="json", tenant=_tenant(body), actor="shop") for body in bodies
        ]
        decided_b = [f.result(120) for f in futures]
    finally:
        reference.close()
        fast.close()
    assert fast.batches < len(bodies)  # they really were grouped
    assert fast.fast_filings == len(bodies)
    _compare((a, decided_a), (b, decided_b))


def test_a_copy_of_a_store_is_a_fair_twin(tmp_path: Path) -> None:
    """The SQLite twins start equal: a sanity check of the comparison itself."""
    a = SmartCustoms(load_settings(database_url=f"sqlite:///{tmp_path / 'a.db'}"))
    bodies = _traffic(tmp_path, 20, seed=24)
    batcher = DecisionBatcher(lambda: a.clearance(actor="api"))
    try:
        _submit_each(batcher, bodies)
    finally:
        batcher.close()
    a.close()
    shutil.copy(tmp_path / "a.db", tmp_path / "b.db")
    b = SmartCustoms(load_settings(database_url=f"sqlite:///{tmp_path / 'b.db'}"))
    a = SmartCustoms(load_settings(database_url=f"sqlite:///{tmp_path / 'a.db'}"))
    assert _dump(a) == _dump(b)
    with b.store.engine.begin() as conn:
        conn.execute(text("UPDATE consignments SET dq_score = dq_score + 1"))
    assert _dump(a) != _dump(b)  # and the comparison sees a one-column change
    a.close()
    b.close()
