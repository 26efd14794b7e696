"""Benchmark of the Time Release Study (issue 5): the full study with every breakdown, from
Parquet and from the store (SQLite, PostgreSQL), and the reads alone.

Events come from ``smartcustoms.synth.generate_timelines`` (the lifecycle generator of the
synthetic traffic, without goods, parties and filings), cached as Parquet under
``/tmp/smartcustoms-trs-bench``. Each measurement runs in a fresh subprocess (clean peak
RSS); the median of ``--runs`` runs is reported with the range, stages interleaved so that
the noise of the shared machine hits them alike.

    .venv/bin/python benchmarks/bench_trs.py --consignments 1000000 --runs 3
    .venv/bin/python benchmarks/bench_trs.py --consignments 10000000 --runs 3 --stages parquet_study
    .venv/bin/python benchmarks/bench_trs.py --consignments 1000000 --runs 3 \\
        --stages sqlite_read,sqlite_study,postgres_read,postgres_study

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
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
CACHE = Path(os.environ.get("SMARTCUSTOMS_TRS_BENCH", "/tmp/smartcustoms-trs-bench"))
PG_BASE = os.environ.get(
    "SMARTCUSTOMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

STAGES = {
    "parquet_read": "read the events from Parquet (no study)",
    "parquet_study": "full study from Parquet (events + attributes), every breakdown",
    "sqlite_read": "read the events from SQLite (TrsRecords.lifecycle_events)",
    "sqlite_study": "full study from SQLite",
    "postgres_read": "read the events from PostgreSQL (ADBC)",
    "postgres_study": "full study from PostgreSQL",
}


def child(stage: str, events: str, attributes: str, db: str) -> None:
    """Run one stage in this process; print a JSON line with seconds, rows and peak RSS."""
    from smartcustoms.trs import StudyParams, run_study, study_from_source
    from smartcustoms.trs.files import read_attributes, read_events

    params = StudyParams(timezone="Europe/Paris", as_of=datetime.now(UTC))
    started = time.perf_counter()
    if stage == "parquet_read":
        frame = read_events(events).collect()
        rows, consignments = frame.height, frame["consignment_id"].n_unique()
    elif stage == "parquet_study":
        study = run_study(read_events(events), read_attributes(attributes), params)
        rows, consignments = int(study.quality["events"][-1]), study.total
    else:
        from smartcustoms.store import Store
        from smartcustoms.store.trs import TrsRecords

        source = TrsRecords(Store(db, migrate=False))
        started = time.perf_counter()
        if stage.endswith("_read"):
            frame = source.lifecycle_events().collect()
            rows, consignments = frame.height, frame["consignment_id"].n_unique()
        else:
            study = study_from_source(source, params)
            rows, consignments = int(study.quality["events"][-1]), study.total
    seconds = time.perf_counter() - started
    rss_mb = peak_rss_mb()
    print(
        json.dumps(
            {
                "stage": stage,
                "seconds": seconds,
                "events": rows,
                "consignments": consignments,
                "peak_rss_mb": rss_mb,
            }
        )
    )


def peak_rss_mb() -> float:
    """This process's peak resident set (``VmHWM``: unlike ``ru_maxrss``, it starts afresh at
    ``exec``, so a child does not inherit the high-water mark of the parent that forked it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(n: int, seed: int) -> tuple[Path, Path]:
    """Events and attributes of ``n`` consignments as Parquet (cached)."""
    import pyarrow.parquet as pq

    from smartcustoms.synth import generate_timelines

    CACHE.mkdir(parents=True, exist_ok=True)
    events, attributes = (
        CACHE / f"events-{n}-{seed}.parquet",
        CACHE / f"attributes-{n}-{seed}.parquet",
    )
    if events.exists() and attributes.exists():
        return events, attributes
    t = time.perf_counter()
    ev_writer = at_writer = None
    total = 0
    for chunk in generate_timelines(n, seed=seed, days=28, chunk_size=500_000):
        ev, at = chunk.events.to_arrow(), chunk.attributes.to_arrow()
        ev_writer = ev_writer or pq.ParquetWriter(f"{events}.part", ev.schema)
        at_writer = at_writer or pq.ParquetWriter(f"{attributes}.part", at.schema)
        ev_writer.write_table(ev)
        at_writer.write_table(at)
        total += len(ev)
    assert ev_writer is not None
    assert at_writer is not None
    ev_writer.close()
    at_writer.close()
    Path(f"{events}.part").rename(events)
    Path(f"{attributes}.part").rename(attributes)
    print(f"generated {total:,} events in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return events, attributes


def load_store(url: str, events: Path) -> None:
    """Put the events into the store at ``url`` (lifecycle_events only), in chunks."""
    import polars as pl
    import pyarrow.parquet as pq

    from smartcustoms.store import Store

    store = Store(url)
    t = time.perf_counter()
    reader = pq.ParquetFile(events)
    for batch in reader.iter_batches(batch_size=500_000):
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        with store.writer() as writer:
            writer.insert("lifecycle_events", frame)
    store.dispose()
    print(
        f"loaded {events.name} into {url.split('?')[0]} in {time.perf_counter() - t:.1f} s",
        file=sys.stderr,
    )


def sqlite_store(n: int, seed: int, events: Path) -> str:
    path = CACHE / f"events-{n}-{seed}.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        load_store(f"sqlite:///{path}.part", events)
        Path(f"{path}.part").rename(path)
    return url


def postgres_store(n: int, seed: int, events: Path) -> str:
    """A schema holding the events (kept between runs of the benchmark; --drop-postgres)."""
    import psycopg

    schema = f"trs_bench_{n}_{seed}"
    url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_BASE.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        exists = c.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = 'lifecycle_events'",
            (schema,),
        ).fetchone()
        if exists:
            count = c.execute(f"SELECT count(*) FROM {schema}.lifecycle_events").fetchone()
            if count and count[0] > 0:
                return url
        c.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        c.execute(f"CREATE SCHEMA {schema}")
    load_store(url, events)
    with psycopg.connect(PG_BASE.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(f"ANALYZE {schema}.lifecycle_events")
    return url


def drop_postgres(n: int, seed: int) -> None:
    import psycopg

    with psycopg.connect(PG_BASE.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(f"DROP SCHEMA IF EXISTS trs_bench_{n}_{seed} CASCADE")


def run_stage(stage: str, events: Path, attributes: Path, db: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", stage, str(events), str(attributes), db],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"},
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--consignments", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--stages", default="parquet_read,parquet_study")
    ap.add_argument("--drop-postgres", action="store_true", help="drop the PostgreSQL schema")
    ap.add_argument(
        "--child", nargs=4, metavar=("STAGE", "EVENTS", "ATTR", "DB"), help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    stages = args.stages.split(",")
    events, attributes = generate(args.consignments, args.seed)
    dbs = {"parquet": ""}
    if any(s.startswith("sqlite") for s in stages):
        dbs["sqlite"] = sqlite_store(args.consignments, args.seed, events)
    if any(s.startswith("postgres") for s in stages):
        dbs["postgres"] = postgres_store(args.consignments, args.seed, events)
    results: dict[str, list[dict[str, float]]] = {s: [] for s in stages}
    try:
        for run in range(args.runs):
            for stage in stages:
                r = run_stage(stage, events, attributes, dbs[stage.split("_")[0]])
                results[stage].append(r)
                print(
                    f"run {run + 1} {stage}: {r['seconds']:.1f} s, {r['events']:,} events, "
                    f"{r['peak_rss_mb']:,.0f} MB",
                    file=sys.stderr,
                )
    finally:
        if args.drop_postgres:
            drop_postgres(args.consignments, args.seed)
    lines = [
        "| stage | consignments | events | seconds (median) | range | peak RSS MB |",
        "|---|---|---|---|---|---|",
    ]
    report: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "load_average": os.getloadavg(),
        "stages": results,
    }
    for stage, runs in results.items():
        secs = [r["seconds"] for r in runs]
        lines.append(
            f"| {STAGES[stage]} | {int(runs[0]['consignments']):,} | {int(runs[0]['events']):,} | "
            f"{statistics.median(secs):.1f} | {min(secs):.1f}-{max(secs):.1f} | "
            f"{max(r['peak_rss_mb'] for r in runs):,.0f} |"
        )
    OUT.mkdir(exist_ok=True)
    name = OUT / f"trs-{args.consignments}-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    name.write_text(json.dumps(report, indent=2))
    print("\n".join(lines))
    print(f"\nreport: {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
