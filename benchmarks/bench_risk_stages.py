"""Where the risk engine's time goes: scoring probe, engine per consignment, clearance stages.

    .venv/bin/python benchmarks/bench_risk_stages.py [--items 600000] [--clear 100000]

Three measurements on synthetic traffic (seed 42, revenue at stake from the tariff engine):

1. **probe** - ``RiskPipeline.score_items`` on ``--items`` goods items (features, both
   boosters), and each part alone: features, classifier + revenue regressor;
2. **engine** - ``RiskEngine.assess`` (value controls, example rules, model, lanes, reasons)
   on one 50,000-consignment chunk, microseconds per consignment, and the share of its
   reasons step;
3. **stages** - ``Clearance.prepare`` (parse excluded: compute) and ``Clearance.commit``
   (database) summed over the chunks of a ``--clear``-consignment file, with and without the
   risk engine, so the cost on each side of the writer thread is visible.

Prints one JSON object; ``docs/benchmarks.md`` records the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_risk_speed import START, labelled_view
from smartcustoms.config import load_settings
from smartcustoms.intake import read_batches
from smartcustoms.platform import SmartCustoms
from smartcustoms.risk.columns import IS_NONCOMPLIANT, REVENUE_AT_STAKE
from smartcustoms.risk.engine import RiskEngine
from smartcustoms.risk.pipeline import RiskPipeline
from smartcustoms.risk.policy import default_policy
from smartcustoms.risk.rules import load_example_rules
from smartcustoms.synth import TrafficConfig, write_traffic


def _timed(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    """Run the three measurements and print them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=600_000)
    parser.add_argument("--clear", type=int, default=100_000)
    args = parser.parse_args()

    view = labelled_view(args.items, 42)
    pipeline = RiskPipeline(seed=42).fit(view)
    scoring = view.drop(IS_NONCOMPLIANT, REVENUE_AT_STAKE)
    pipeline.score_items(scoring.head(1000))  # warm-up
    features = pipeline.features(scoring)
    probe = {
        "items": scoring.height,
        "score_items_per_second": round(
            scoring.height / _timed(lambda: pipeline.score_items(scoring))
        ),
        "features_seconds": round(_timed(lambda: pipeline.features(scoring)), 3),
        "boosters_seconds": round(_timed(lambda: pipeline.model_.predict_scores(features)), 3),
    }

    chunk = scoring.filter(
        scoring["consignment_id"].is_in(scoring["consignment_id"].unique().head(50_000).implode())
    )
    engine = RiskEngine(policy=default_policy(), rules=load_example_rules(), pipeline=pipeline)
    engine.assess(chunk)  # warm-up
    started = time.perf_counter()
    outcome = engine.assess(chunk)
    seconds = time.perf_counter() - started
    consignments = outcome.decisions.height
    engine_figures = {
        "consignments": consignments,
        "items": chunk.height,
        "us_per_consignment": round(seconds / consignments * 1e6, 1),
    }

    stages: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "traffic.jsonl"
        write_traffic(
            TrafficConfig(consignments=args.clear, seed=43, start=START, days=1.0),
            path,
            compute_revenue=False,
        )
        for mode in ("without_risk", "with_risk"):
            platform = SmartCustoms(load_settings(database_url=f"sqlite:///{tmp}/{mode}.db"))
            clearance = platform.clearance()
            if mode == "without_risk":
                clearance.risk = None
            else:
                assert clearance.risk is not None
                clearance.risk.pipeline = pipeline
                clearance.risk.reference = pipeline.reference_
            prepare = commit = 0.0
            for batch in read_batches(path, chunk_size=50_000):
                started = time.perf_counter()
                prepared = clearance.prepare(batch)
                prepare += time.perf_counter() - started
                started = time.perf_counter()
                clearance.commit(prepared, batch_id="stages")
                commit += time.perf_counter() - started
            platform.close()
            stages[mode] = {
                "prepare_seconds": round(prepare, 2),
                "commit_seconds": round(commit, 2),
                "prepare_us_per_consignment": round(prepare / args.clear * 1e6, 1),
                "commit_us_per_consignment": round(commit / args.clear * 1e6, 1),
            }
    print(json.dumps({"probe": probe, "engine": engine_figures, "stages": stages}, indent=1))


if __name__ == "__main__":
    main()
