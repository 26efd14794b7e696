"""Load on the HTTP service over loopback: single filings at a fixed rate, then bulk files.

    .venv/bin/python benchmarks/bench_api_load.py [--rate 500] [--seconds 60] [--runs 2]
        [--bulk 200000] [--warm 20000] [--connections 256] [--workers 2 [--shared-socket]]
        [--gc-probe [--no-freeze-gc]] [--server-nice N]
        [--floor [--floor-cpu-ms X [--floor-thread]]] [--no-client-freeze]

The service runs as ``smartcustoms serve`` would (uvicorn, one process, API only) on a
SQLite store in a temporary folder, already holding ``--warm`` cleared consignments. This
process is the load generator:

1. **Single filings, open loop.** Filings (synthetic traffic, every one new, from 12 filers
   with their own API keys) are sent to ``POST /api/v1/filings`` at ``--rate`` per second for
   ``--seconds``, over up to ``--connections`` keep-alive connections. Latency runs from the
   moment a request was *due*, not when a connection was free, so a server that falls
   behind is charged for the queue it builds (no coordinated omission). A connection the
   server closed while it was idle (uvicorn's keep-alive timeout, 5 s) is opened again
   before it is used, as an HTTP client's pool does (``connections_reopened``); at low
   rates the connections are idle longer than that between uses. Repeated ``--runs``
   times on the same server, with the server's resident memory read after each run.
2. **Bulk files.** ``--bulk`` consignments as one JSON Lines upload to
   ``POST /api/v1/filings/bulk``; reports how fast the upload is taken (until 202) and how
   fast the job then clears it (until the job is ``done``).

Prints one JSON report. The client is hand-written on asyncio streams (HTTP/1.1, keep-alive)
so that it costs the shared cores as little as possible.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, python_speed


def _serve(database_url: str, port: int) -> None:
    """The server process (``--serve``): the API as ``smartcustoms serve`` runs it."""
    import uvicorn

    if os.environ.get("BENCH_SWITCH_INTERVAL_MS"):  # --switch-interval-ms, an experiment
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL_MS"]) / 1000)
    if os.environ.get("BENCH_FLOOR") == "1":  # --floor: the same server, no service behind it
        uvicorn.run(
            "bench_api_load:_floor_app",
            workers=int(os.environ.get("BENCH_WORKERS") or 1),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
        return

    from smartcustoms.api import create_app
    from smartcustoms.config import load_settings
    from smartcustoms.platform import SmartCustoms

    freeze = os.environ.get("BENCH_NO_FREEZE_GC") != "1"  # --no-freeze-gc, an experiment
    if os.environ.get("BENCH_GC_LOG"):  # --gc-probe
        _time_full_collections(Path(os.environ["BENCH_GC_LOG"]))
    workers = int(os.environ.get("BENCH_WORKERS") or 1)
    if workers > 1 and os.environ.get("BENCH_SHARED_SOCKET") == "1":  # --shared-socket
        os.environ["BENCH_DATABASE_URL"] = database_url
        uvicorn.run(
            "bench_api_load:_factory",
            factory=True,
            workers=workers,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
        return
    if workers > 1:  # as `smartcustoms serve --workers N` runs them
        from smartcustoms.api.workers import run_workers

        sys.exit(
            run_workers(
                workers,
                host="127.0.0.1",
                port=port,
                log_level="warning",
                database_url=database_url,
                decider=os.environ.get("BENCH_DECIDER") == "1",
            )
        )
    platform = SmartCustoms(load_settings(database_url=database_url))
    uvicorn.run(
        create_app(platform, portal=False, freeze_gc=freeze),  # as `smartcustoms serve`
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


def _factory() -> Any:
    """One worker of ``--shared-socket``: the service as each ``serve --workers`` worker is."""
    from smartcustoms.api import create_app
    from smartcustoms.config import load_settings
    from smartcustoms.platform import SmartCustoms

    url = os.environ["BENCH_DATABASE_URL"]
    return create_app(SmartCustoms(load_settings(database_url=url)), freeze_gc=True)


_FLOOR_CPU_S = float(os.environ.get("BENCH_FLOOR_CPU_MS") or 0) / 1000
_FLOOR_THREAD = os.environ.get("BENCH_FLOOR_THREAD") == "1"
_floor_turner: threading.Thread | None = None
_floor_turns: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = (
    queue.SimpleQueue()
)


def _burn(seconds: float) -> None:
    """Spend ``seconds`` of this thread's CPU."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


def _floor_turn_thread() -> None:
    """``--floor-thread``: spend the CPU in turns on a thread, as the decision batcher does.

    Takes every filing queued, spends ``--floor-cpu-ms`` on each, then answers them all.
    """
    while True:
        taken = [_floor_turns.get()]
        while True:
            try:
                taken.append(_floor_turns.get_nowait())
            except queue.Empty:
                break
        _burn(_FLOOR_CPU_S * len(taken))
        for loop, future in taken:
            loop.call_soon_threadsafe(future.set_result, None)


async def _floor_spend() -> None:
    """Spend ``--floor-cpu-ms`` on one filing, on the event loop or in a turn on a thread."""
    if not _FLOOR_THREAD:
        _burn(_FLOOR_CPU_S)
        return
    global _floor_turner
    if _floor_turner is None:  # the event loop's thread only: no race
        _floor_turner = threading.Thread(target=_floor_turn_thread, name="floor-turns", daemon=True)
        _floor_turner.start()
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()
    _floor_turns.put((loop, future))
    await future


async def _floor_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``--floor``: an ASGI app that reads each filing, parses it and answers at once.

    What the machine, uvicorn and this load generator cost on their own: the floor under
    any Python service answering the same requests on this machine. With
    ``--floor-cpu-ms`` it first spends that much CPU on each filing: a service of known cost.
    """
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    status, answer = 200, b'{"status":"ok"}'
    if scope["method"] == "POST":
        if _FLOOR_CPU_S:  # --floor-cpu-ms: this much CPU per filing, as if deciding it
            await _floor_spend()
        status, answer = 201, orjson.dumps({"filing_id": orjson.loads(body).get("filing_id")})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


def _time_full_collections(log: Path) -> None:
    """Append ``(wall time, milliseconds)`` of each full (generation 2) collection to ``log``."""
    began = [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        elif info["generation"] == 2:
            took = (time.perf_counter() - began[0]) * 1000
            with log.open("a") as out:
                out.write(f"{time.time()} {took}\n")

    gc.callbacks.append(timed)


def _full_collections(log: Path, since: float, until: float) -> dict[str, Any]:
    """The full collections ``--gc-probe`` logged between two wall times."""
    pauses = []
    if log.exists():
        for line in log.read_text().splitlines():
            at, took = (float(x) for x in line.split())
            if since <= at <= until:
                pauses.append(took)
    return {"count": len(pauses), "longest_ms": round(max(pauses), 1) if pauses else 0.0}


def _wait_for_workers(pid: int, workers: int, timeout: float = 180) -> None:
    """Wait until the server's ``workers`` processes have all finished starting.

    The health check answers as soon as one worker listens. Keep-alive connections opened
    before the others listen would all stay with that one (seen: 22.5 s of CPU against
    0.4 s), so the load must wait until every worker is up and idle.
    """
    deadline = time.monotonic() + timeout
    before = _cpu_by_process(pid)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = _cpu_by_process(pid)
        spawned = [p for p in now if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
        settled = all(now[p] - before.get(p, 0.0) < 0.05 for p in spawned)
        if len(spawned) >= workers and settled:
            return
        before = now
    raise RuntimeError("the server's workers did not all start")


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the server's worker processes, if any)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += _tree(int(child))
    return found


def _user_system(stat: Path) -> tuple[float, float]:
    """User and system CPU seconds read from a ``/proc`` ``stat`` file (process or thread)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _cpu_by_process(pid: int) -> dict[int, float]:
    """CPU seconds so far of a process and of each of its descendants."""
    return {each: sum(_user_system(Path(f"/proc/{each}/stat"))) for each in _tree(pid)}


def _cpu_by_thread(pid: int) -> dict[tuple[int, int], float]:
    """CPU seconds so far of each thread of a process and its descendants, by (pid, tid)."""
    out = {}
    for each in _tree(pid):
        for task in Path(f"/proc/{each}/task").iterdir():
            try:
                out[(each, int(task.name))] = sum(_user_system(task / "stat"))
            except FileNotFoundError:  # the thread ended meanwhile
                continue
    return out


def _thread_split(
    before: dict[tuple[int, int], float], after: dict[tuple[int, int], float], requests: int
) -> dict[str, float]:
    """Server CPU per request on the processes' main threads and on all their other threads.

    A worker's main thread runs its event loop (HTTP, authentication, the answer); its other
    threads are the decision threads (the fast path's turns and the batch path) and the
    thread pool. A thread that ended during the run is not counted.
    """
    main = other = 0.0
    for (pid, tid), cpu in after.items():
        used = cpu - before.get((pid, tid), 0.0)
        if pid == tid:
            main += used
        else:
            other += used
    return {
        "main_threads": round(main * 1000 / requests, 2),
        "other_threads": round(other * 1000 / requests, 2),
    }


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time of a process and its workers so far (every thread)."""
    user = system = 0.0
    for each in _tree(pid):
        u, s = _user_system(Path(f"/proc/{each}/stat"))
        user, system = user + u, system + s
    return user, system


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its workers, in MB."""
    kb = 0
    for each in _tree(pid):
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                kb += int(line.split()[1])
    return round(kb / 1024, 1)


class _Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**24)
        return cls(reader, writer)

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def closed(self) -> bool:
        """Whether the server closed this connection (an idle keep-alive timed out)."""
        return self.reader.at_eof() or self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


async def _wait_until_up(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = await _Connection.open(port)
            status, _ = await conn.request("GET", "/api/v1/health", {})
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the server did not come up")


async def _open_loop(
    port: int,
    bodies: list[tuple[bytes, str]],
    *,
    rate: float,
    connections: int,
    timeline: list[tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """Send ``bodies`` at ``rate`` per second; latency from each request's due time.

    ``timeline``, if given, receives ``(due, latency)`` of each answered request: seconds
    from the run's start and milliseconds.
    """
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await _Connection.open(port))
    latencies: list[float] = []
    lags: list[float] = []  # how late each request left the client: its own share of latency
    statuses: dict[int, int] = {}
    errors: list[str] = []
    reopened = [0]  # connections the server had closed while idle, opened again before use
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05

    async def one(i: int, body: bytes, token: str) -> None:
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        conn = await pool.get()
        if conn.closed():  # as an HTTP client's pool does: never send on a closed connection
            conn.close()
            reopened[0] += 1
            try:
                conn = await _Connection.open(port)
            except OSError as error:
                errors.append(repr(error))
                pool.put_nowait(conn)
                return
        lags.append((loop.time() - due) * 1000)
        try:
            status, _ = await conn.request(
                "POST",
                "/api/v1/filings",
                {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                body,
            )
        except Exception as error:  # counted as an error, the run goes on
            errors.append(repr(error))
            conn.close()
            conn = await _Connection.open(port)
        else:
            statuses[status] = statuses.get(status, 0) + 1
            latencies.append((loop.time() - due) * 1000)
            if timeline is not None:
                timeline.append((due - start, latencies[-1]))
        pool.put_nowait(conn)

    began, cpu_began = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i, b, t) for i, (b, t) in enumerate(bodies)))
    elapsed, client_cpu = time.perf_counter() - began, time.process_time() - cpu_began
    while not pool.empty():
        pool.get_nowait().close()
    latencies.sort()
    lags.sort()
    n = len(latencies)

    def pct(q: float, values: list[float] = latencies) -> float:
        if not values:
            return float("nan")
        return round(values[min(len(values) - 1, int(q * len(values)))], 1)

    ok = sum(v for k, v in statuses.items() if k in (200, 201))
    return {
        "requests": len(bodies),
        "seconds": round(elapsed, 1),
        "achieved_per_second": round(len(bodies) / elapsed, 1),
        "statuses": statuses,
        "errors": len(errors),
        "error_kinds": sorted({e.split("(")[0] for e in errors}),
        "connections_reopened": reopened[0],
        "non_2xx": len(bodies) - ok,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1], 1) if n else float("nan"),
        "client_cpu_ms_per_request": round(client_cpu * 1000 / len(bodies), 2),
        "client_send_lag_p50_ms": pct(0.50, lags),
        "client_send_lag_p99_ms": pct(0.99, lags),
    }


async def _bulk(port: int, body: bytes, token: str, consignments: int) -> dict[str, Any]:
    conn = await _Connection.open(port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    began = time.perf_counter()
    status, answer = await conn.request("POST", "/api/v1/filings/bulk", headers, body)
    taken = time.perf_counter() - began
    if status != 202:
        raise RuntimeError(f"bulk upload answered {status}: {answer[:300]!r}")
    job = orjson.loads(answer)
    job_id = job["job_id"]
    while job["status"] not in ("done", "failed"):
        await asyncio.sleep(0.5)
        status, answer = await conn.request("GET", f"/api/v1/jobs/{job_id}", headers)
        job = orjson.loads(answer)
    done = time.perf_counter() - began
    conn.close()
    return {
        "consignments": consignments,
        "upload_mb": round(len(body) / 2**20, 1),
        "accepted_in_s": round(taken, 2),
        "upload_consignments_per_second": round(consignments / taken),
        "job_status": job["status"],
        "job_counts": {
            k: job.get(k) for k in ("received", "accepted", "quarantined", "duplicates")
        },
        "cleared_in_s": round(done, 1),
        "end_to_end_consignments_per_second": round(consignments / done),
    }


def main() -> None:
    """Prepare a store, start the server, run the load, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--bulk", type=int, default=200_000)
    parser.add_argument("--warm", type=int, default=20_000)
    parser.add_argument(
        "--model",
        action="store_true",
        help="train a model and refresh value references on the warm store first "
        "(inspection results for 6,000 of its consignments)",
    )
    parser.add_argument(
        "--batch-only",
        action="store_true",
        help="turn the single-filing fast path off (SMARTCUSTOMS_FAST_DECISIONS=false)",
    )
    parser.add_argument(
        "--switch-interval-ms",
        type=float,
        default=None,
        help="the server's GIL switch interval (sys.setswitchinterval; Python's default 5 ms)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes on the port, as `smartcustoms serve --workers N` runs them",
    )
    parser.add_argument(
        "--decider",
        action="store_true",
        help="with --workers: one decision process decides every worker's single filings "
        "(`serve --workers N --decider`), instead of each worker its own",
    )
    parser.add_argument(
        "--shared-socket",
        action="store_true",
        help="with --workers: one listening socket shared by the workers (`uvicorn --workers`), "
        "instead of one SO_REUSEPORT socket each",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="serve a bare ASGI app that parses each filing and answers 201 at once, on the "
        "same uvicorn settings and workers: the floor under any Python service here",
    )
    parser.add_argument(
        "--floor-cpu-ms",
        type=float,
        default=0.0,
        help="with --floor: spend this much CPU on each filing before answering (on the "
        "event loop): what latency a service of that cost per request could reach here",
    )
    parser.add_argument(
        "--floor-thread",
        action="store_true",
        help="with --floor-cpu-ms: spend it in turns on a thread of each worker (every filing "
        "queued meanwhile in one turn), as the decision batcher does, not on the event loop",
    )
    parser.add_argument(
        "--no-client-freeze",
        action="store_true",
        help="leave the load generator's heap in its collector's sight, as before "
        "2026-11-23 (an experiment: its full collections then pause the load)",
    )
    parser.add_argument(
        "--server-nice",
        type=int,
        default=0,
        help="run the server at this niceness (an experiment: a positive value lets the load "
        "generator have a core when it needs one, as on a machine of its own)",
    )
    parser.add_argument(
        "--timeline",
        type=Path,
        default=None,
        help="write each answered single filing as a CSV row: run, due (s from the run's "
        "start), latency (ms)",
    )
    parser.add_argument(
        "--gc-probe",
        action="store_true",
        help="one process: report the full garbage collections during each run",
    )
    parser.add_argument(
        "--no-freeze-gc",
        action="store_true",
        help="one process: build the service without freeze_gc (an experiment)",
    )
    parser.add_argument(
        "--serve", nargs=2, metavar=("DATABASE_URL", "PORT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve[0], int(args.serve[1]))
        return

    from smartcustoms.access import Role
    from smartcustoms.config import load_settings
    from smartcustoms.platform import SmartCustoms
    from smartcustoms.synth import TrafficConfig, write_traffic

    per_run = int(args.rate * args.seconds)
    start = datetime.now(UTC) - timedelta(hours=6)
    report: dict[str, Any] = {
        "machine": describe(),
        "python_loop_s": python_speed(),
        "rate": args.rate,
        "seconds": args.seconds,
        "connections": args.connections,
        "fast_path": not args.batch_only,
        "switch_interval_ms": args.switch_interval_ms,
        "workers": args.workers,
        "shared_socket": args.shared_socket,
        "decider": args.workers > 1 and args.decider and not args.shared_socket,
        "freeze_gc": not args.no_freeze_gc,
        "server_nice": args.server_nice,
        "floor": args.floor,
        "floor_cpu_ms": args.floor_cpu_ms if args.floor else None,
        "floor_thread": args.floor and args.floor_thread,
        "client_freeze": not args.no_client_freeze,
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'load.db'}"
        warm, probe, bulk = folder / "warm.jsonl", folder / "probe.jsonl", folder / "bulk.jsonl"
        labels = folder / "warm-labels.parquet"
        write_traffic(
            TrafficConfig(consignments=args.warm, seed=11, start=start - timedelta(days=2)),
            warm,
            labels=labels,
        )
        write_traffic(
            TrafficConfig(consignments=per_run * args.runs + 100, seed=12, start=start), probe
        )
        platform = SmartCustoms(load_settings(database_url=url))
        platform.clear([warm])
        if args.model:
            import polars as pl

            rows = pl.read_parquet(labels).head(6_000)
            platform.targeting.record_inspections(
                [
                    {
                        "consignment_id": r["consignment_id"],
                        "result": "noncompliant" if r["is_noncompliant"] else "compliant",
                        "revenue_recovered": r["revenue_at_stake"]
                        if r["is_noncompliant"]
                        else None,
                        "finding": r["fraud_type"],
                        "officer": "bench",
                    }
                    for r in rows.iter_rows(named=True)
                ]
            )
            report["model_version"] = platform.targeting.train(seed=3).version
            platform.targeting.refresh_values()
        lines = [line for line in probe.read_bytes().splitlines() if line]
        tokens: dict[str, str] = {}
        for line in lines:
            filer_id = orjson.loads(line)["filer"]["id"]
            if filer_id not in tokens:
                user = f"filer-{len(tokens)}"
                platform.access.add_user(user, Role.FILER, filer_id=filer_id)
                tokens[filer_id] = platform.access.issue_key(user).token
        platform.access.add_user("bulk-admin", Role.ADMIN)
        admin_token = platform.access.issue_key("bulk-admin").token
        platform.close()
        bodies = [(line, tokens[orjson.loads(line)["filer"]["id"]]) for line in lines]

        port = _free_port()
        gc_log = folder / "gc.log"
        server = subprocess.Popen(
            [
                "nice",
                "-n",
                str(args.server_nice),
                sys.executable,
                __file__,
                "--serve",
                url,
                str(port),
            ],
            env={
                **os.environ,
                "OMP_WAIT_POLICY": "PASSIVE",
                "SMARTCUSTOMS_FAST_DECISIONS": "false" if args.batch_only else "true",
                "BENCH_SWITCH_INTERVAL_MS": str(args.switch_interval_ms or ""),
                "BENCH_WORKERS": str(args.workers),
                "BENCH_FLOOR": "1" if args.floor else "",
                "BENCH_FLOOR_CPU_MS": str(args.floor_cpu_ms) if args.floor else "",
                "BENCH_FLOOR_THREAD": "1" if args.floor and args.floor_thread else "",
                "BENCH_SHARED_SOCKET": "1" if args.shared_socket else "",
                "BENCH_DECIDER": "1" if args.decider else "",
                "BENCH_NO_FREEZE_GC": "1" if args.no_freeze_gc else "",
                "BENCH_GC_LOG": str(gc_log) if args.gc_probe else "",
            },
        )
        try:
            asyncio.run(_wait_until_up(port))
            if args.workers > 1:
                _wait_for_workers(server.pid, args.workers + (1 if report["decider"] else 0))
            report["server_rss_mb_idle"] = _rss_mb(server.pid)
            runs = []
            for run in range(args.runs):
                chunk = bodies[run * per_run : (run + 1) * per_run]
                cpu_before = _cpu_seconds(server.pid)
                by_process, since = _cpu_by_process(server.pid), time.time()
                by_thread = _cpu_by_thread(server.pid)
                # The load generator's own heap (the platform it prepared, the traffic)
                # moved out of its collector's sight: a full collection of it paused the
                # sending and the timing of every request in flight for hundreds of ms.
                if not args.no_client_freeze:
                    gc.collect()
                    gc.freeze()
                timeline: list[tuple[float, float]] = []
                result = asyncio.run(
                    _open_loop(
                        port, chunk, rate=args.rate, connections=args.connections, timeline=timeline
                    )
                )
                if args.timeline is not None:
                    with args.timeline.open("a" if run else "w") as out:
                        if not run:
                            out.write("run,due_s,latency_ms\n")
                        out.writelines(f"{run},{d:.4f},{ms:.2f}\n" for d, ms in timeline)
                result["server_rss_mb_after"] = _rss_mb(server.pid)
                if args.workers > 1:  # how evenly the workers shared the load
                    result["server_cpu_s_by_process"] = sorted(
                        (
                            round(cpu - by_process.get(pid, 0.0), 1)
                            for pid, cpu in _cpu_by_process(server.pid).items()
                        ),
                        reverse=True,
                    )
                if args.gc_probe:
                    result["server_full_collections"] = _full_collections(
                        gc_log, since, time.time()
                    )
                user, system = (
                    a - b for a, b in zip(_cpu_seconds(server.pid), cpu_before, strict=True)
                )
                result["server_cpu_ms_per_request"] = round((user + system) * 1000 / len(chunk), 2)
                result["server_cpu_system_share"] = round(system / max(user + system, 1e-9), 2)
                result["server_cpu_ms_per_request_by_thread"] = _thread_split(
                    by_thread, _cpu_by_thread(server.pid), len(chunk)
                )
                runs.append(result)
                print(json.dumps(result), file=sys.stderr, flush=True)
            report["single_filings"] = runs
            if args.bulk:
                write_traffic(TrafficConfig(consignments=args.bulk, seed=13, start=start), bulk)
                report["bulk"] = asyncio.run(_bulk(port, bulk.read_bytes(), admin_token, args.bulk))
                report["server_rss_mb_after_bulk"] = _rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(30)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
