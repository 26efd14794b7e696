"""Risk engine speed: scoring throughput, training time, and clearance with and without risk.

    .venv/bin/python benchmarks/bench_risk_speed.py [--items 1000000] [--clear 100000] [--runs 3]

Three measurements on synthetic traffic (deterministic per seed):

1. **score** - ``RiskPipeline.score_items`` (features + value controls + history profiles +
   LightGBM) on about ``--items`` goods items, goods items per second (median of runs);
2. **train** - ``RiskPipeline.fit`` on the same items with every label known, seconds;
3. **clear** - ``smartcustoms clear`` of ``--clear`` consignments into a fresh SQLite store with
   the risk engine (rules, value controls, the trained model, lane selection, reasons) and
   without it, interleaved, median consignments per second and their ratio.

Prints one JSON object; ``docs/benchmarks.md`` records the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # OpenMP spin-waits hurt 2 shared cores

import polars as pl

from smartcustoms.config import load_settings
from smartcustoms.platform import SmartCustoms
from smartcustoms.risk.columns import IS_NONCOMPLIANT, REVENUE_AT_STAKE
from smartcustoms.risk.pipeline import RiskPipeline
from smartcustoms.risk.view import build_risk_view
from smartcustoms.synth import TrafficConfig, generate_traffic, write_traffic
from smartcustoms.synth.revenue import tariff_assessor, with_revenue_at_stake
from smartcustoms.tariff import load_exchange_rates

START = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def labelled_view(items_wanted: int, seed: int) -> pl.DataFrame:
    """A risk view of about ``items_wanted`` goods items with ground-truth labels."""
    consignments = max(1, items_wanted // 3)  # about three goods items per consignment
    # revenue at stake from the tariff engine, so the revenue regressor is a realistic size
    assessor = tariff_assessor()
    config = TrafficConfig(consignments=consignments, seed=seed, start=START, days=7.0)
    chunks = [with_revenue_at_stake(chunk, assessor) for chunk in generate_traffic(config)]
    cons = pl.concat([ch.consignments for ch in chunks])
    items = pl.concat([ch.items for ch in chunks])
    labels = pl.concat([ch.labels for ch in chunks]).select(
        "consignment_id",
        IS_NONCOMPLIANT,
        pl.col(REVENUE_AT_STAKE).cast(pl.Float64).fill_null(0.0),
    )
    view = build_risk_view(cons, items, rates=load_exchange_rates(), currency="EUR")
    return view.join(labels, on="consignment_id").sort("filed_at")


def bench_model(items: int, runs: int, seed: int) -> tuple[dict[str, object], RiskPipeline]:
    """Train once on the whole view, then score it ``runs`` times."""
    view = labelled_view(items, seed)
    started = time.perf_counter()
    pipeline = RiskPipeline(seed=seed).fit(view)
    train_s = time.perf_counter() - started
    scoring = view.drop(IS_NONCOMPLIANT, REVENUE_AT_STAKE)
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        pipeline.score_items(scoring)
        rates.append(scoring.height / (time.perf_counter() - started))
    return (
        {
            "items": view.height,
            "train_seconds": round(train_s, 1),
            "classifier_trees": pipeline.model_.classifier_.num_trees(),
            "revenue_trees": (
                pipeline.model_.revenue_model_.num_trees() if pipeline.model_.revenue_model_ else 0
            ),
            "score_items_per_second": round(statistics.median(rates)),
            "score_runs": [round(r) for r in rates],
        },
        pipeline,
    )


def bench_clear(
    consignments: int, runs: int, seed: int, pipeline: RiskPipeline
) -> dict[str, object]:
    """Clear the same file with and without risk, interleaved, fresh store each run."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "traffic.jsonl"
        write_traffic(
            TrafficConfig(consignments=consignments, seed=seed + 1, start=START, days=1.0),
            path,
            compute_revenue=False,
        )
        rates: dict[str, list[float]] = {"with_risk": [], "without_risk": []}
        for run in range(runs):
            for mode in ("with_risk", "without_risk"):
                db = Path(tmp) / f"{mode}-{run}.db"
                platform = SmartCustoms(load_settings(database_url=f"sqlite:///{db}"))
                clearance = platform.clearance()
                if mode == "without_risk":
                    clearance.risk = None
                else:
                    assert clearance.risk is not None
                    clearance.risk.pipeline = pipeline
                    clearance.risk.reference = pipeline.reference_
                started = time.perf_counter()
                summary = clearance.clear([path], chunk_size=50_000)
                seconds = time.perf_counter() - started
                rates[mode].append(summary.consignments / seconds)
                platform.close()
        with_risk = statistics.median(rates["with_risk"])
        without = statistics.median(rates["without_risk"])
        return {
            "consignments": consignments,
            "with_risk_per_second": round(with_risk),
            "without_risk_per_second": round(without),
            "ratio": round(with_risk / without, 3),
            "runs": {k: [round(v) for v in vs] for k, vs in rates.items()},
        }


def main() -> None:
    """Run the benchmarks and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--clear", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    model, pipeline = bench_model(args.items, args.runs, args.seed)
    out = {
        "machine": f"{host.machine()} {os.cpu_count()} cores, {host.python_version()}",
        "model": model,
        "clear": bench_clear(args.clear, args.runs, args.seed, pipeline),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
