"""What one clearance batch costs by its size: the floor under single-filing latency.

    .venv/bin/python benchmarks/bench_batch_cost.py [--sizes 1,10,50,200] [--repeats 3]

Clears batches of synthetic filings of each size through the stages the service's
``DecisionBatcher`` runs (parse, prepare = validate + assess + risk, commit) on a fresh SQLite
store, and prints the median milliseconds of each stage per size as JSON. A batch-first core
costs about the same for 1 filing as for 50: that fixed cost is what a synchronous decision
waits for at least.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from smartcustoms.config import load_settings
from smartcustoms.intake._json import parse_json_lines
from smartcustoms.intake.layouts import WCO_JSON_LAYOUT
from smartcustoms.platform import SmartCustoms
from smartcustoms.synth import TrafficConfig, write_traffic


def main() -> None:
    """Time each stage per batch size; print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,50,200")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    report: dict[str, object] = {
        "machine": f"{host.machine()} {os.cpu_count()} cores, {host.python_version()}"
    }
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "filings.jsonl"
        needed = sum(sizes) * (args.repeats + 1) + 100
        start = datetime.now(UTC) - timedelta(hours=12)
        write_traffic(TrafficConfig(consignments=needed, seed=2, start=start), source)
        lines = [line for line in source.read_bytes().splitlines() if line]
        platform = SmartCustoms(load_settings(database_url=f"sqlite:///{tmp}/cost.db"))
        clearance = platform.clearance(actor="bench")
        pos = 0
        for size in [1, *sizes]:  # the first batch warms caches and is not reported
            stages: dict[str, list[float]] = {"parse": [], "prepare": [], "commit": []}
            for _ in range(args.repeats):
                part, pos = lines[pos : pos + size], pos + size
                t0 = time.perf_counter()
                batch = parse_json_lines(
                    part,
                    [None] * len(part),
                    first_record=0,
                    source="bench",
                    fmt="json",
                    layout=WCO_JSON_LAYOUT,
                )
                t1 = time.perf_counter()
                prepared = clearance.prepare(batch)
                t2 = time.perf_counter()
                clearance.commit(prepared, batch_id=f"bench-{pos}")
                t3 = time.perf_counter()
                for name, seconds in (
                    ("parse", t1 - t0),
                    ("prepare", t2 - t1),
                    ("commit", t3 - t2),
                ):
                    stages[name].append(seconds * 1000)
            report[f"batch_of_{size}"] = {
                name: round(statistics.median(v), 1) for name, v in stages.items()
            } | {"total_ms": round(sum(statistics.median(v) for v in stages.values()), 1)}
        platform.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
