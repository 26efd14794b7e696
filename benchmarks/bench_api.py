"""Latency of a synchronous filing through the HTTP API (in process, SQLite).

    .venv/bin/python benchmarks/bench_api.py [--filings 300] [--warm 2000]

A filer's system posts one filing at a time to ``POST /api/v1/filings`` and waits for the
customs response (lane, duties, reasons). This measures that round trip through the whole
stack - FastAPI, authentication, intake, validation, tariff, risk engine with the shipped
rules, store writes, audit - on a store already holding ``--warm`` cleared consignments.
In process (Starlette's test client), so no network time is included. Prints JSON with the
median, p95 and max latency in milliseconds and the throughput of one sequential client.
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

import orjson
from fastapi.testclient import TestClient

from smartcustoms.access import Role
from smartcustoms.api import create_app
from smartcustoms.config import load_settings
from smartcustoms.platform import SmartCustoms
from smartcustoms.synth import TrafficConfig, write_traffic


def main() -> None:
    """Warm a store, then time single filings one after another."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filings", type=int, default=300)
    parser.add_argument("--warm", type=int, default=2000)
    args = parser.parse_args()
    start = datetime.now(UTC) - timedelta(hours=12)
    with tempfile.TemporaryDirectory() as tmp:
        warm, probe = Path(tmp) / "warm.jsonl", Path(tmp) / "probe.jsonl"
        write_traffic(TrafficConfig(consignments=args.warm, seed=1, start=start), warm)
        write_traffic(TrafficConfig(consignments=args.filings, seed=2, start=start), probe)
        platform = SmartCustoms(load_settings(database_url=f"sqlite:///{tmp}/api.db"))
        platform.clear([warm])
        filings = [orjson.loads(line) for line in probe.read_bytes().splitlines() if line]
        filer_ids = {f.get("filer", {}).get("id") for f in filings}
        headers = {}
        for i, filer_id in enumerate(sorted(x for x in filer_ids if x)):
            platform.access.add_user(f"filer-{i}", Role.FILER, filer_id=filer_id)
            headers[filer_id] = {
                "Authorization": f"Bearer {platform.access.issue_key(f'filer-{i}').token}"
            }
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        with TestClient(create_app(platform, portal=False)) as client:
            for body in filings:
                filer_id = body.get("filer", {}).get("id")
                started = time.perf_counter()
                r = client.post("/api/v1/filings", json=body, headers=headers[filer_id])
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        platform.close()
    latencies.sort()
    print(
        json.dumps(
            {
                "machine": f"{host.machine()} {os.cpu_count()} cores, {host.python_version()}",
                "filings": len(latencies),
                "warm_consignments": args.warm,
                "statuses": statuses,
                "median_ms": round(statistics.median(latencies), 1),
                "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
                "max_ms": round(latencies[-1], 1),
                "sequential_filings_per_second": round(1000 / statistics.mean(latencies), 1),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
