"""What the single-filing fast path costs: per stage, per filing, per turn, against a batch.

    .venv/bin/python benchmarks/bench_single.py [--filings 600] [--group 50] [--runs 5]
        [--model]

On a fresh SQLite store (with ``--model``: a model trained and value references refreshed
on labelled synthetic history first), new synthetic filings are decided three ways, in one
process, so the figures are ratios within one run:

1. **stages**: each fast-path stage alone on every filing (µs per filing);
2. **turns**: the batcher's fast path on groups of ``--group`` filings, written in one
   transaction with their outcomes and audit entries (ms per filing, and per turn of one);
3. **batch of one**: the same filings through the batch pipeline one at a time (ms each).

Prints one JSON report with the median of ``--runs`` runs of each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
import polars as pl

from _machine import describe, python_speed
from smartcustoms.clearance.batcher import DecisionBatcher, _Request
from smartcustoms.clearance.single.parse import parse_single
from smartcustoms.clearance.single.rules import SingleRuleResult
from smartcustoms.config import load_settings
from smartcustoms.platform import SmartCustoms
from smartcustoms.store.database import _CONFIGURATION_STAMP
from smartcustoms.synth import TrafficConfig, write_traffic


def _requests(lines: list[bytes], *, running: bool = True) -> list[_Request]:
    """Requests as the batcher holds them (``running``: as ``_clear`` hands them on)."""
    out = []
    for line in lines:
        request = _Request(
            body=line, fmt="json", tenant=orjson.loads(line)["filer"]["id"], actor="b"
        )
        if running:
            request.future.set_running_or_notify_cancel()
        out.append(request)
    return out


def _train(platform: SmartCustoms, folder: Path, start: datetime) -> None:
    history, labels = folder / "history.jsonl", folder / "labels.parquet"
    write_traffic(
        TrafficConfig(consignments=4_000, seed=5, start=start - timedelta(days=3)),
        history,
        labels=labels,
    )
    platform.clear([history])
    rows = pl.read_parquet(labels).head(2_000)
    platform.targeting.record_inspections(
        [
            {
                "consignment_id": r["consignment_id"],
                "result": "noncompliant" if r["is_noncompliant"] else "compliant",
                "revenue_recovered": r["revenue_at_stake"] if r["is_noncompliant"] else None,
                "finding": r["fraud_type"],
                "officer": "bench",
            }
            for r in rows.iter_rows(named=True)
        ]
    )
    platform.targeting.train(seed=3)
    platform.targeting.refresh_values()


def _stages(platform: SmartCustoms, docs: list[dict[str, Any]]) -> dict[str, float]:
    """Microseconds per filing of each stage (inputs prepared by the stage before)."""
    engine = platform.single_filing_engine()
    validator = engine._validator.at(datetime.now(UTC))
    parsed = [parse_single(doc, "json") for doc in docs]
    kept = [p for p in parsed if p is not None]
    quality = [validator.quality(p.consignments, p.items) or [] for p in kept]
    evaluated: list[SingleRuleResult | None] = []
    timings: dict[str, float] = {}

    def timed(name: str, work: Callable[[], object]) -> None:
        began = time.perf_counter()
        work()
        timings[name] = round((time.perf_counter() - began) / len(kept) * 1e6, 1)

    timed("parse", lambda: [parse_single(doc, "json") for doc in docs])
    timed("validate", lambda: [validator.is_clean(p.consignments, p.items) for p in kept])
    timed("quality", lambda: [validator.quality(p.consignments, p.items) for p in kept])
    timed("assess", lambda: [engine._assessor.assess(p.consignments, p.items) for p in kept])
    if engine._rules is not None:
        rules = engine._rules
        timed(
            "rules",
            lambda: evaluated.extend(
                rules.evaluate(p.consignments, p.items, q)
                for p, q in zip(kept, quality, strict=True)
            ),
        )
        if engine._scorer is not None:
            scorer = engine._scorer
            views = [e.view for e in evaluated if e is not None]
            timed("model_score", lambda: [scorer.score(v) for v in views])
            timed("model_contributions", lambda: [scorer.contributions(v[0]) for v in views])
    return timings


def _stamp_us(platform: SmartCustoms, calls: int = 2_000) -> dict[str, float]:
    """Microseconds per configuration stamp: as the store runs it, and as a Core statement."""
    store = platform.store

    def core() -> object:
        with store.engine.connect() as conn:
            return conn.execute(_CONFIGURATION_STAMP).first()

    out = {}
    for name, call in (("raw_cursor", store.configuration_stamp), ("core_statement", core)):
        call()
        began = time.perf_counter()
        for _ in range(calls):
            call()
        out[name] = round((time.perf_counter() - began) / calls * 1e6, 1)
    return out


def main() -> None:
    """Measure; print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filings", type=int, default=600)
    parser.add_argument("--group", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--model", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {
        "machine": describe(),
        "python_loop_s": python_speed(),
        "filings": args.filings,
        "group": args.group,
        "model": args.model,
    }
    start = datetime.now(UTC) - timedelta(hours=6)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "filings.jsonl"
        total = args.filings * (2 * args.runs + 1)
        write_traffic(TrafficConfig(consignments=total, seed=31, start=start), source)
        lines = [line for line in source.read_bytes().splitlines() if line]
        platform = SmartCustoms(load_settings(database_url=f"sqlite:///{folder / 'b.db'}"))
        if args.model:
            _train(platform, folder, start)
        fast = DecisionBatcher(
            lambda: platform.clearance(actor="api"), fast=platform.single_filing_engine
        )
        batch = DecisionBatcher(lambda: platform.clearance(actor="api"))
        stage_runs: list[dict[str, float]] = []
        per_filing, per_single, batch_one = [], [], []
        pos = 0
        for _ in range(args.runs):
            part, pos = lines[pos : pos + args.filings], pos + args.filings
            stage_runs.append(_stages(platform, [orjson.loads(x) for x in part]))
            began = time.perf_counter()
            for i in range(0, len(part), args.group):
                fast._clear_fast(_requests(part[i : i + args.group]))
            per_filing.append((time.perf_counter() - began) / len(part) * 1000)
            singles = _requests(lines[pos : pos + 30])
            pos += 30
            began = time.perf_counter()
            for request in singles:
                fast._clear_fast([request])
            per_single.append((time.perf_counter() - began) / len(singles) * 1000)
            began = time.perf_counter()
            for request in _requests(lines[pos : pos + 10]):
                batch._clear_batch([request])
            pos += 10
            batch_one.append((time.perf_counter() - began) / 10 * 1000)
        fast.close()
        batch.close()
        report["configuration_stamp_us"] = _stamp_us(platform)
        report["fast_filings"] = fast.fast_filings
        report["stages_us_per_filing"] = {
            name: statistics.median(run[name] for run in stage_runs) for name in stage_runs[0]
        }
        report["fast_turn_ms_per_filing"] = round(statistics.median(per_filing), 3)
        report["fast_turn_of_one_ms"] = round(statistics.median(per_single), 2)
        report["batch_of_one_ms"] = round(statistics.median(batch_one), 1)
        report["batch_of_one_over_fast_turn_of_one"] = round(
            statistics.median(batch_one) / statistics.median(per_single), 1
        )
        platform.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
