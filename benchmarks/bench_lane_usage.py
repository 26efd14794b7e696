"""What the fast path's lane-usage re-read costs as the day's decisions grow.

    .venv/bin/python benchmarks/bench_lane_usage.py [--decisions 30000 120000] [--runs 20]

The single-filing fast path re-reads each office's lane usage for the day every second
(``RiskRecords.lane_usage_rows``: a count per lane, with how many were chosen by rule and
how many at random). On a fresh SQLite store, ``--decisions`` decisions of one day are
written for four offices; the re-read for two of them is timed with the covering index of
migration 0007, then again, on the same rows, with the index it replaced (office, period,
lane), so the two figures are a ratio within one run.

Prints one JSON report: the median milliseconds of ``--runs`` reads for each size and index.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, python_speed
from smartcustoms.store import Store
from smartcustoms.store import tables as t
from smartcustoms.store.risk import RiskRecords

OFFICES = ["FRCDG", "FRORY", "BEBRU", "DEFRA"]
DAY = date(2026, 11, 23)
COVERING = "office, period, lane, selection_basis, is_random_pick"
REPLACED = "office, period, lane"


def _decisions(n: int, start: int, rng: random.Random) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "consignment_id": f"C{start + i:09d}",
            "lane": rng.choice(["green", "green", "green", "yellow", "red"]),
            "office": rng.choice(OFFICES),
            "period": DAY.isoformat(),
            "rule_score": rng.random(),
            "is_random_pick": rng.random() < 0.02,
            "selection_basis": rng.choice(["rule", "score", "none"]),
            "policy_id": "default",
            "reasons": '["a reason a filer may see, as the decisions carry them"]',
            "decided_at": now,
            "batch_id": "bench",
        }
        for i in range(n)
    ]


def _index(store: Store, columns: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_risk_decisions_usage"))
        conn.execute(text(f"CREATE INDEX ix_risk_decisions_usage ON risk_decisions ({columns})"))
        conn.execute(text("ANALYZE"))


def _read_ms(records: RiskRecords, runs: int) -> float:
    records.lane_usage_rows(OFFICES[:2], [DAY])  # warm the page cache
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        records.lane_usage_rows(OFFICES[:2], [DAY])
        times.append((time.perf_counter() - began) * 1000)
    return round(statistics.median(times), 2)


def main() -> None:
    """Measure; print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, nargs="+", default=[30_000, 120_000])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    report: dict[str, Any] = {
        "machine": describe(),
        "python_loop_s": python_speed(),
        "runs": args.runs,
        "reads": [],
    }
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'usage.db'}")
        records = RiskRecords(store)
        written = 0
        for size in sorted(args.decisions):
            rows = _decisions(size - written, written, rng)
            with store.engine.begin() as conn:
                for i in range(0, len(rows), 5_000):
                    conn.execute(insert(t.risk_decisions), rows[i : i + 5_000])
            written = size
            _index(store, COVERING)
            covering = _read_ms(records, args.runs)
            _index(store, REPLACED)
            replaced = _read_ms(records, args.runs)
            _index(store, COVERING)
            report["reads"].append(
                {
                    "decisions": size,
                    "covering_index_ms": covering,
                    "replaced_index_ms": replaced,
                    "replaced_over_covering": round(replaced / covering, 1),
                }
            )
        store.engine.dispose()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
