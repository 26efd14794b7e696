"""Benchmark of the clearance path (issue 2): end-to-end ``clear`` into SQLite and PostgreSQL,
the validation step alone, and naive per-record pydantic validation of the same file.

Each measurement runs in a fresh subprocess (clean peak RSS, cold caches of the process);
the median of ``--runs`` runs is reported with the spread. Compare figures as ratios within
one run: the machine is shared and noisy.

    .venv/bin/python benchmarks/bench_clear.py --consignments 1000000 --runs 3
    .venv/bin/python benchmarks/bench_clear.py --consignments 100000 --runs 3 --postgres

Writes a JSON report to benchmarks/out/ and prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

STAGES = {
    "clear_sqlite": "end-to-end clear into SQLite (WAL), results file written",
    "clear_postgres": "end-to-end clear into PostgreSQL",
    "validate": "read + parse + normalise + validate + quality score (no tariff, no store)",
    "pydantic": "naive: Filing.model_validate_json line by line (pydantic v2), nothing else",
}


def child(stage: str, path: str, db: str) -> None:
    """Run one stage in this process and print a JSON line with seconds and peak RSS."""
    import resource

    started = time.perf_counter()
    n = 0
    if stage.startswith("clear"):
        from smartcustoms.config import load_settings
        from smartcustoms.platform import SmartCustoms

        sc = SmartCustoms(load_settings(database_url=db))
        sc.store  # migrations are not part of the measurement  # noqa: B018
        sc.regime, sc.schedule, sc.rates  # noqa: B018
        started = time.perf_counter()
        summary = sc.clear([Path(path)], out=Path(path).with_suffix(".results.parquet"))
        n = summary.consignments
        extra = {"received": summary.received, "quarantined": summary.quarantined}
    elif stage == "validate":
        import polars as pl

        from smartcustoms.intake import (
            ValidationContext,
            normalise_codes,
            read_batches,
            score_quality,
            validate_batch,
        )

        ctx = ValidationContext()
        errors = 0
        for batch in read_batches(Path(path)):
            cons, items = normalise_codes(batch.consignments, batch.items)
            found = validate_batch(batch, ctx, consignments=cons, items=items)
            score_quality(cons, items)
            errors += found.filter(pl.col("severity") == "error").height
            n += cons.height
        extra = {"errors": errors}
    elif stage == "pydantic":
        from pydantic import ValidationError

        from smartcustoms.model import Filing

        invalid = 0
        with open(path, "rb") as fh:
            for line in fh:
                try:
                    filing = Filing.model_validate_json(line)
                    n += len(filing.consignments)
                except ValidationError:
                    invalid += 1
        extra = {"invalid": invalid}
    else:
        raise SystemExit(f"unknown stage {stage}")
    seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"stage": stage, "seconds": seconds, "consignments": n, "peak_rss_mb": rss_mb, **extra}
        )
    )


def generate(n: int, seed: int) -> Path:
    """The benchmark input (cached): n synthetic consignments, dates around today."""
    OUT.mkdir(parents=True, exist_ok=True)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    path = OUT / f"traffic-{n}-{seed}-{today:%Y%m%d}.jsonl"
    if not path.exists():
        from smartcustoms.synth import TrafficConfig, write_traffic

        t = time.perf_counter()
        write_traffic(
            TrafficConfig(consignments=n, seed=seed, start=today), path, compute_revenue=False
        )
        print(f"generated {path.name} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return path


def fresh_pg_schema(base: str) -> tuple[str, str]:
    import psycopg

    schema = "bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(base.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    return f"{base}?options=-csearch_path%3D{schema}", schema


def drop_pg_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(f"DROP SCHEMA {schema} CASCADE")


def run_stage(stage: str, path: Path, pg_base: str) -> dict[str, float]:
    db, schema = "", ""
    if stage == "clear_sqlite":
        dbfile = OUT / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{dbfile}{suffix}").unlink(missing_ok=True)
        db = f"sqlite:///{dbfile}"
    elif stage == "clear_postgres":
        db, schema = fresh_pg_schema(pg_base)
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", stage, str(path), db],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        if schema:
            drop_pg_schema(pg_base, schema)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--consignments", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--postgres", action="store_true", help="also measure PostgreSQL")
    ap.add_argument("--stages", default="validate,pydantic,clear_sqlite")
    ap.add_argument("--child", nargs=3, metavar=("STAGE", "PATH", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    pg_base = os.environ.get(
        "SMARTCUSTOMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    stages = args.stages.split(",") + (["clear_postgres"] if args.postgres else [])
    path = generate(args.consignments, args.seed)
    results: dict[str, list[dict[str, float]]] = {s: [] for s in stages}
    for run in range(args.runs):
        for stage in stages:  # interleaved, so noise hits every stage alike
            r = run_stage(stage, path, pg_base)
            results[stage].append(r)
            print(
                f"run {run + 1} {stage}: {r['seconds']:.1f} s, "
                f"{r['consignments'] / r['seconds']:,.0f}/s, {r['peak_rss_mb']:.0f} MB",
                file=sys.stderr,
            )
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "input": {
            "file": path.name,
            "bytes": path.stat().st_size,
            "consignments": args.consignments,
        },
        "stages": {},
    }
    lines = [
        "| stage | consignments/s (median) | range | seconds (median) | peak RSS MB |",
        "|---|---|---|---|---|",
    ]
    for stage, runs in results.items():
        rates = [r["consignments"] / r["seconds"] for r in runs]
        secs = statistics.median(r["seconds"] for r in runs)
        rss = max(r["peak_rss_mb"] for r in runs)
        report["stages"][stage] = {"runs": runs, "median_rate": statistics.median(rates)}
        lines.append(
            f"| {STAGES[stage]} | {statistics.median(rates):,.0f} | "
            f"{min(rates):,.0f}-{max(rates):,.0f} | {secs:.1f} | {rss:,.0f} |"
        )
    OUT.mkdir(exist_ok=True)
    name = OUT / f"clear-{args.consignments}-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    name.write_text(json.dumps(report, indent=2))
    print("\n".join(lines))
    print(f"\nreport: {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
