"""Several processes of the service on one port: ``smartcustoms serve --workers N``.

One Python process runs Python code on one core at a time, so one process of the service
tops out at one core's worth of requests. With ``--workers N`` a supervisor starts N
worker processes, each a whole service (:func:`~smartcustoms.api.create_app` on its own
platform object), all listening on the same port:

* **Each worker opens its own listening socket** with ``SO_REUSEPORT``, and the kernel
  spreads new connections over them by their addresses. Measured even to within 1%; one
  shared socket, as ``uvicorn --workers`` has, split the work about 54/46 (see
  docs/benchmarks.md).
* **The store is the only thing they share.** Writes queue on the database (see
  :mod:`smartcustoms.store.bulk`); bulk jobs are claimed in the store, so any worker
  answers for any job; portal sessions are signed cookies. Each worker's single-filing
  fast path reads the lane usage the others wrote within ``usage_ttl`` (one second), as
  it does a bulk job's: near the end of a day's capacity, two workers may together select
  a few consignments more than the capacity, at most what the others selected in that
  second.
* **The supervisor brings the schema to the newest revision once**, before any worker
  starts, restarts a worker that dies, and stops them all (each finishing the filings it
  holds) on SIGTERM or SIGINT. A worker that dies within :data:`QUICK_DEATH_S` of
  starting three times running (a port taken, a broken configuration) stops the service
  instead of restarting it forever.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Final

__all__ = ["QUICK_DEATH_S", "listening_socket", "run_workers"]

_log = logging.getLogger(__name__)

QUICK_DEATH_S: Final = 10.0
"""A worker that dies sooner than this after starting counts towards giving up."""

_GIVE_UP_AFTER: Final = 3
_STOP_WAIT_S: Final = 30.0


def listening_socket(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """A TCP socket listening on ``host:port`` that other workers may listen on too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def _worker(host: str, port: int, log_level: str, database_url: str | None) -> None:
    """One worker process: the whole service on its own socket."""
    import uvicorn

    from smartcustoms.api.app import create_app
    from smartcustoms.config import load_settings
    from smartcustoms.platform import SmartCustoms

    sock = listening_socket(host, port)
    platform = SmartCustoms(load_settings(database_url=database_url))
    try:
        config = uvicorn.Config(create_app(platform, freeze_gc=True), log_level=log_level)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        platform.close()
        sock.close()


def run_workers(
    workers: int,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    database_url: str | None = None,
) -> int:
    """Run ``workers`` processes of the service on ``host:port`` until told to stop.

    The caller has already opened the platform once (which migrates the schema). Returns
    the exit status: 0 after SIGTERM or SIGINT, 1 when a worker kept dying on start.

    Raises:
        ValueError: ``workers`` below 1.
        OSError: ``host:port`` cannot be listened on.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    listening_socket(host, port).close()  # fail here, clearly, if the port is taken
    context = multiprocessing.get_context("spawn")
    args = (host, port, log_level, database_url)
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}

    def start() -> tuple[BaseProcess, float]:
        process = context.Process(target=_worker, args=args, name="smartcustoms-worker")
        process.start()
        return process, time.monotonic()

    running = [start() for _ in range(workers)]
    quick_deaths = 0
    status = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for i, (process, started) in enumerate(running):
                if process.is_alive() or stopping:
                    continue
                lived = time.monotonic() - started
                quick_deaths = quick_deaths + 1 if lived < QUICK_DEATH_S else 0
                _log.error(
                    "worker %s exited with %s after %.1f s", process.pid, process.exitcode, lived
                )
                if quick_deaths >= _GIVE_UP_AFTER:
                    _log.error("workers keep dying on start: stopping the service")
                    stopping, status = True, 1
                    break
                running[i] = start()
    finally:
        for process, _ in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn stops, the batcher finishes its filings
        deadline = time.monotonic() + _STOP_WAIT_S
        for process, _ in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return status
