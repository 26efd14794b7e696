"""What reading lane usage costs as the day's decisions grow, and what keeping it costs.

    .venv/bin/python benchmarks/bench_lane_usage.py [--decisions 30000 120000 1000000] [--runs 20]

The single-filing fast path re-reads each office's lane usage for the day every second
(``RiskRecords.lane_usage_rows``: a count per lane, with how many were chosen by rule and
how many at random). On a fresh SQLite store, ``--decisions`` decisions of one day are
written for four offices, then the usage of two of them is read two ways, on the same rows:

* **counters**: from ``lane_usage``, the counters the triggers of migration 0008 keep (as
  the store reads it now);
* **count**: counted from ``risk_decisions`` through its covering index (the query the store
  ran before migration 0008).

Then what the triggers cost the writers: the same decisions inserted into a store with the
triggers and into one without them (dropped), in transactions of 2 rows (a fast-path turn)
and of 5,000 (a bulk chunk); microseconds per decision, each the median of three passes.

Prints one JSON report: the median milliseconds of ``--runs`` reads for each size.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, python_speed
from smartcustoms.store import Store
from smartcustoms.store import tables as t
from smartcustoms.store.risk import RiskRecords

OFFICES = ["FRCDG", "FRORY", "BEBRU", "DEFRA"]
DAY = date(2026, 11, 23)
TRIGGERS = (
    "tr_lane_usage_insert",
    "tr_lane_usage_delete",
    "tr_lane_usage_update_old",
    "tr_lane_usage_update_new",
)


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


def _counted(store: Store) -> list[Any]:
    """The usage counted from the day's decisions: the read before migration 0008."""
    d = t.risk_decisions.c
    with store.engine.connect() as conn:
        return list(
            conn.execute(
                select(
                    d.office,
                    d.period,
                    d.lane,
                    func.count(),
                    func.sum(case((d.selection_basis == "rule", 1), else_=0)),
                    func.sum(case((d.is_random_pick, 1), else_=0)),
                )
                .where(d.office.in_(OFFICES[:2]), d.period.in_([DAY.isoformat()]))
                .group_by(d.office, d.period, d.lane)
            ).all()
        )


def _read_ms(read: Callable[[], object], runs: int) -> float:
    read()  # warm the page cache
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        read()
        times.append((time.perf_counter() - began) * 1000)
    return round(statistics.median(times), 3)


def _insert_us(folder: Path, rows: list[dict[str, Any]], group: int, *, triggers: bool) -> float:
    """Microseconds per decision inserted in transactions of ``group`` rows (best of 3 passes)."""
    passes = []
    for n in range(3):
        store = Store(f"sqlite:///{folder / f'w-{group}-{triggers}-{n}.db'}")
        if not triggers:
            with store.engine.begin() as conn:
                for name in TRIGGERS:
                    conn.execute(text(f"DROP TRIGGER {name}"))
        columns = list(rows[0])
        sql = (
            f"INSERT INTO risk_decisions ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})"
        )
        values = [
            tuple(r[c].isoformat() if isinstance(r[c], datetime) else r[c] for c in columns)
            for r in rows
        ]
        raw = store.engine.raw_connection()
        cur = raw.cursor()
        began = time.perf_counter()
        for i in range(0, len(values), group):
            cur.executemany(sql, values[i : i + group])
            raw.commit()
        passes.append((time.perf_counter() - began) / len(values) * 1e6)
        cur.close()
        raw.close()
        store.dispose()
    return round(statistics.median(passes), 1)


def main() -> None:
    """Measure; print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, nargs="+", default=[30_000, 120_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--insert-rows", type=int, default=20_000)
    args = parser.parse_args()
    report: dict[str, Any] = {
        "machine": describe(),
        "python_loop_s": python_speed(),
        "runs": args.runs,
        "reads": [],
    }
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = Store(f"sqlite:///{folder / 'usage.db'}")
        records = RiskRecords(store)
        written = 0
        for size in sorted(args.decisions):
            rows = _decisions(size - written, written, rng)
            with store.engine.begin() as conn:
                for i in range(0, len(rows), 5_000):
                    conn.execute(insert(t.risk_decisions), rows[i : i + 5_000])
                conn.execute(text("ANALYZE"))
            written = size
            kept = sorted(records.lane_usage_rows(OFFICES[:2], [DAY]))
            assert [r[3:] for r in kept] == [
                tuple(int(v) for v in r[3:]) for r in sorted(_counted(store))
            ], "the counters differ from the count"
            counters = _read_ms(lambda: records.lane_usage_rows(OFFICES[:2], [DAY]), args.runs)
            counted = _read_ms(lambda: _counted(store), args.runs)
            report["reads"].append(
                {
                    "decisions": size,
                    "counters_ms": counters,
                    "count_ms": counted,
                    "count_over_counters": round(counted / counters, 1),
                }
            )
        store.engine.dispose()
        rows = _decisions(args.insert_rows, 0, rng)
        report["insert_us_per_decision"] = {
            f"{group}_per_transaction": {
                "with_triggers": _insert_us(folder, rows, group, triggers=True),
                "without_triggers": _insert_us(folder, rows, group, triggers=False),
            }
            for group in (2, 5_000)
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
