"""Ledger benchmark: durable appends/s, and proof generation on a 10^8-leaf tiled log.

(a) Durable appends: a fresh ``TiledLog`` (fsync on) takes batches of ~300-byte statements;
    entries per second, median of ``--runs`` runs per batch size.
(b) Proofs: a tiled log of ``--leaves`` leaves (default 10^8) is built once, directly as C2SP
    hash tiles from deterministic leaf hashes (leaf i = SHA-256(0x00 || uint64-BE(i)), as in the
    shared large-tree-regression vectors; no entry bundles) with the inner-rows file of each full
    level-0 tile as ``TiledLog`` writes it, cached under ``--dir`` and reused.
    Inclusion and consistency proof generation through ``TiledLog`` are timed one by one after a
    warm-up; p50/p99 per run, median over runs. A sample of proofs is verified against the root.
(c) pymerkle (GPL, dev-only, used here and nowhere else) in the same run: ``SqliteTree`` appends
    with the same batches (one SQLite transaction per batch, synchronous=FULL) and proofs on a
    ``--compare-size`` tree, against our log at the same size.

Run (from the repository root):

    OMP_WAIT_POLICY=PASSIVE PYTHONPATH=src nice -n 5 .venv/bin/python benchmarks/bench_ledger.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from smartcustoms.ledger import merkle
from smartcustoms.ledger.log import STATE_FILE, LogState, TiledLog
from smartcustoms.ledger.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    TileCache,
    TileCoord,
    TileHashReader,
    encode_entry_bundle,
    encode_inner,
    inner_path,
    tile_pyramid,
)

DEFAULT_DIR = Path(tempfile.gettempdir()) / "smartcustoms-bench-ledger"
BUILT_MARKER = "bench-built.json"
BUILD_FORMAT = 2  # 2: with inner-rows files beside the level-0 tiles


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.machine()}, {os.cpu_count()} cores visible ({model or 'unknown CPU'}), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def statement(i: int) -> bytes:
    """A deterministic ~300-byte JSON statement, like a customs decision record."""
    body = {
        "type": "decision",
        "consignment": f"CN-{i:012d}",
        "office": f"FR{i % 997:06d}",
        "lane": ("green", "yellow", "red")[i % 3],
        "declared_value": f"{(i * 7919) % 1_000_000 / 100:.2f}",
        "currency": "EUR",
        "decided_at": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
        "rule_ids": [f"R{(i * 31) % 500:04d}", f"R{(i * 17) % 500:04d}"],
        "model": "risk-lgbm-2026.11",
        "digest": hashlib.sha256(i.to_bytes(8, "big")).hexdigest()[:32],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --------------------------------------------------------------------------- (a) appends


def bench_appends(batch: int, total: int, runs: int) -> list[float]:
    entries = [statement(i) for i in range(total)]
    rates = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(dir=tempfile.gettempdir()) as tmp, TiledLog(tmp) as log:
            start = time.perf_counter()
            for offset in range(0, total, batch):
                log.append_batch(entries[offset : offset + batch])
            rates.append(total / (time.perf_counter() - start))
    return rates


def bench_pymerkle_appends(batch: int, total: int, runs: int) -> list[float]:
    from pymerkle import SqliteTree

    entries = [statement(i) for i in range(total)]
    rates = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(dir=tempfile.gettempdir()) as tmp:
            tree = SqliteTree(os.path.join(tmp, "merkle.db"))
            start = time.perf_counter()
            for offset in range(0, total, batch):
                tree.append_entries(entries[offset : offset + batch])
            rates.append(total / (time.perf_counter() - start))
            tree.close()
    return rates


# --------------------------------------------------------------------------- (b) big log


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _build_level0(root: str, first: int, last: int) -> bytes:
    """Write level-0 tiles [first, last) and return their roots, concatenated."""
    sha256 = hashlib.sha256
    base = Path(root)
    roots = []
    for tile in range(first, last):
        inputs = np.arange(tile * TILE_WIDTH, (tile + 1) * TILE_WIDTH, dtype=">u8").tobytes()
        data = b"".join([sha256(b"\x00" + inputs[j : j + 8]).digest() for j in range(0, 2048, 8)])
        _write(base / TileCoord(0, tile).path, data)
        _write(base / inner_path(tile), encode_inner(data))
        roots.append(tile_pyramid(data)[-1])
    return b"".join(roots)


def _build_partial_level0(root: Path, size: int) -> bytes:
    tile, width = divmod(size, TILE_WIDTH)
    if not width:
        return b""
    data = b"".join(merkle.leaf_hash(i.to_bytes(8, "big")) for i in range(tile * TILE_WIDTH, size))
    _write(root / TileCoord(0, tile, width).path, data)
    bundle = encode_entry_bundle(i.to_bytes(8, "big") for i in range(tile * TILE_WIDTH, size))
    _write(root / TileCoord(0, tile, width, is_entries=True).path, bundle)
    return data


def build_big_log(directory: Path, size: int, workers: int) -> LogState:
    """Write the hash tiles of a ``size``-leaf log, plus a state file, unless already there."""
    marker = directory / BUILT_MARKER
    if marker.exists():
        built = json.loads(marker.read_text())
        if built["size"] == size and built.get("format") == BUILD_FORMAT:
            print(f"reusing the {size:,}-leaf log in {directory}", flush=True)
            return LogState(size, bytes.fromhex(built["root"]))
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    print(f"building a {size:,}-leaf tiled log in {directory} ...", flush=True)
    start = time.perf_counter()
    full = size // TILE_WIDTH
    step = 2048
    chunks = [(str(directory), a, min(a + step, full)) for a in range(0, full, step)]
    roots = bytearray()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for done, part in enumerate(pool.map(_build_level0, *zip(*chunks, strict=True)), 1):
            roots += part
            if done % 20 == 0:
                print(f"  level 0: {done * step * TILE_WIDTH:,} leaves", flush=True)
    _build_partial_level0(directory, size)
    level, hashes = 1, bytes(roots)
    while hashes:  # hashes = every level-(8*level) hash of the tree
        count = len(hashes) // 32
        next_level = bytearray()
        for tile in range(count // TILE_WIDTH):
            data = hashes[tile * 8192 : (tile + 1) * 8192]
            _write(directory / TileCoord(level, tile).path, data)
            next_level += tile_pyramid(data)[-1]
        if count % TILE_WIDTH:
            tile = count // TILE_WIDTH
            _write(
                directory / TileCoord(level, tile, count % TILE_WIDTH).path, hashes[tile * 8192 :]
            )
        level, hashes = level + 1, bytes(next_level)
    reader = TileHashReader(_Exact(directory, size), size, TileCache(0))
    state = LogState(size, merkle.tree_root(reader, size))
    (directory / STATE_FILE).write_bytes(state.encode())
    marker.write_text(json.dumps({"size": size, "root": state.root.hex(), "format": BUILD_FORMAT}))
    print(f"built in {time.perf_counter() - start:.0f} s; root {state.root.hex()}", flush=True)
    return state


class _Exact:
    """Reads a tile at the width the tree of ``size`` has (only the latest partial exists)."""

    def __init__(self, root: Path, size: int) -> None:
        self.root, self.size = root, size

    def read_tile(self, level: int, index: int, width: int) -> bytes:
        hashes = self.size >> (TILE_HEIGHT * level)
        stored = min(TILE_WIDTH, hashes - index * TILE_WIDTH)
        return (self.root / TileCoord(level, index, stored).path).read_bytes()


def time_calls(calls: list[Callable[[], object]]) -> list[float]:
    out = []
    for call in calls:
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def time_calls_cpu(calls: list[Callable[[], object]]) -> tuple[list[float], list[float]]:
    """Wall-clock and this thread's CPU time of each call.

    On a shared machine the wall-clock tail is mostly time spent waiting for a core; the CPU
    time is the work the call itself does.
    """
    wall, cpu = [], []
    for call in calls:
        start, start_cpu = time.perf_counter(), time.thread_time()
        call()
        cpu.append(time.thread_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    return wall, cpu


def bench_proofs(log: TiledLog, count: int, runs: int, seed: int) -> dict[str, list[float]]:
    size = log.size
    rng = random.Random(seed)
    warm = [rng.randrange(size) for _ in range(count)]
    for index in warm:  # warm the tile cache and the OS page cache
        log.inclusion_proof(index)
    result: dict[str, list[float]] = {}
    for _ in range(runs):
        indices = [rng.randrange(size) for _ in range(count)]
        pairs = [tuple(sorted(rng.sample(range(1, size + 1), 2))) for _ in range(count)]
        olds = [rng.randrange(1, size) for _ in range(count)]
        inc = time_calls_cpu([lambda i=i: log.inclusion_proof(i) for i in indices])
        con = time_calls_cpu([lambda p=p: log.consistency_proof(p[0], p[1]) for p in pairs])
        latest = time_calls_cpu([lambda m=m: log.consistency_proof(m) for m in olds])
        for key, (wall, cpu) in (("inc", inc), ("con", con), ("lat", latest)):
            for suffix, values in (("", wall), ("cpu", cpu)):
                result.setdefault(f"{key}50{suffix}", []).append(percentile(values, 0.5))
                result.setdefault(f"{key}99{suffix}", []).append(percentile(values, 0.99))
    return result


def check_proofs(log: TiledLog, samples: int, seed: int) -> None:
    rng = random.Random(seed)
    size, root = log.size, log.root()
    reader = TileHashReader(log, size, TileCache(0))
    for _ in range(samples):
        index = rng.randrange(size)
        proof = log.inclusion_proof(index)
        merkle.verify_inclusion(reader.subtree_hash(0, index), index, size, proof, root)
        old = rng.randrange(1, size)
        merkle.verify_consistency(old, size, log.consistency_proof(old), log.root(old), root)


def bench_pymerkle_proofs(size: int, count: int, seed: int) -> dict[str, float]:
    from pymerkle import SqliteTree

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(dir=tempfile.gettempdir()) as tmp:
        tree = SqliteTree(os.path.join(tmp, "merkle.db"))
        for offset in range(0, size, 65536):
            tree.append_entries(
                [i.to_bytes(8, "big") for i in range(offset, min(size, offset + 65536))]
            )
        indices = [rng.randrange(size) for _ in range(count)]
        olds = [rng.randrange(1, size) for _ in range(count)]
        inc = time_calls([lambda i=i: tree.prove_inclusion(i + 1, size) for i in indices])
        con = time_calls([lambda m=m: tree.prove_consistency(m, size) for m in olds])
        tree.close()
    return {
        "inc50": percentile(inc, 0.5),
        "inc99": percentile(inc, 0.99),
        "con50": percentile(con, 0.5),
        "con99": percentile(con, 0.99),
    }


def build_compare_log(directory: Path, size: int) -> TiledLog:
    shutil.rmtree(directory, ignore_errors=True)
    log = TiledLog(directory, durable=False)
    for offset in range(0, size, 65536):
        log.append_batch([i.to_bytes(8, "big") for i in range(offset, min(size, offset + 65536))])
    return log


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="cache of the big log")
    parser.add_argument("--leaves", type=int, default=100_000_000, help="size of the big log")
    parser.add_argument("--workers", type=int, default=2, help="processes building the big log")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--batches", default="256,1024,4096", help="append batch sizes")
    parser.add_argument("--append-total", type=int, default=65536, help="entries per append run")
    parser.add_argument("--proofs", type=int, default=2000, help="proofs per run and kind")
    parser.add_argument("--compare-size", type=int, default=1 << 20, help="tree size vs pymerkle")
    parser.add_argument("--compare-proofs", type=int, default=30, help="pymerkle proofs per kind")
    parser.add_argument("--skip-pymerkle", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]
    started = time.perf_counter()
    print(f"machine: {machine()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"command: {' '.join(sys.argv)}\n", flush=True)

    print("## (a) durable appends (fsync on), entries/s, median of runs (runs interleaved)")
    print(
        f"{'batch':>6} | {'smartcustoms':>13} | {'range':>15} | {'pymerkle sqlite':>15} | "
        f"{'range':>15} | {'ratio':>6}"
    )
    ours: dict[int, list[float]] = {batch: [] for batch in batches}
    theirs: dict[int, list[float]] = {batch: [] for batch in batches}
    for _ in range(args.runs):  # run 1 of everything, then run 2, ...: noise hits all alike
        for batch in batches:
            ours[batch] += bench_appends(batch, args.append_total, 1)
            if not args.skip_pymerkle:
                theirs[batch] += bench_pymerkle_appends(batch, args.append_total, 1)
    for batch in batches:
        a = statistics.median(ours[batch])
        b = statistics.median(theirs[batch]) if theirs[batch] else float("nan")
        ra = f"{min(ours[batch]):,.0f}-{max(ours[batch]):,.0f}"
        rb = f"{min(theirs[batch]):,.0f}-{max(theirs[batch]):,.0f}" if theirs[batch] else ""
        print(f"{batch:>6} | {a:>13,.0f} | {ra:>15} | {b:>15,.0f} | {rb:>15} | {a / b:>6.2f}")
    sys.stdout.flush()

    print(f"\n## (b) proof generation on a {args.leaves:,}-leaf tiled log, ms")
    state = build_big_log(args.dir, args.leaves, args.workers)
    with TiledLog(args.dir, durable=False) as log:
        assert log.root() == state.root
        check_proofs(log, 200, args.seed)
        big = bench_proofs(log, args.proofs, args.runs, args.seed)
    ms = {key: statistics.median(values) * 1e3 for key, values in big.items()}
    print(f"{'':34} | {'wall p50':>8} | {'wall p99':>8} | {'CPU p50':>8} | {'CPU p99':>8}")
    for key, label in (
        ("inc", "inclusion, random entry"),
        ("con", "consistency, random m < n"),
        ("lat", "consistency, random m -> log size"),
    ):
        print(
            f"{label:34} | {ms[key + '50']:>8.3f} | {ms[key + '99']:>8.3f} | "
            f"{ms[key + '50cpu']:>8.3f} | {ms[key + '99cpu']:>8.3f}"
        )

    if not args.skip_pymerkle:
        size = args.compare_size
        print(f"\n## (c) proofs on a {size:,}-leaf tree: smartcustoms vs pymerkle SqliteTree, ms")
        with build_compare_log(Path(tempfile.mkdtemp(dir=tempfile.gettempdir())), size) as log:
            small = bench_proofs(log, args.proofs, args.runs, args.seed)
            shutil.rmtree(log.directory)
        ours = {key: statistics.median(values) * 1e3 for key, values in small.items()}
        theirs = {
            key: value * 1e3
            for key, value in bench_pymerkle_proofs(size, args.compare_proofs, args.seed).items()
        }
        print(f"{'':12} | {'smartcustoms':>12} | {'pymerkle':>10} | {'ratio':>7}")
        for key, label in (
            ("inc50", "incl. p50"),
            ("inc99", "incl. p99"),
            ("con50", "cons. p50"),
            ("con99", "cons. p99"),
        ):
            ratio = theirs[key] / ours[key]
            print(f"{label:12} | {ours[key]:>12.3f} | {theirs[key]:>10.3f} | {ratio:>6.0f}x")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
