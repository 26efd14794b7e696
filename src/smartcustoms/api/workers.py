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
  answers for any job; portal sessions are signed cookies. Without the decider (below),
  each worker's fast path reads the lane usage the others wrote within ``usage_ttl`` (one
  second), as it does a bulk job's: near the end of a day's capacity, two workers may
  together select a few consignments more than the capacity, at most what the others
  selected in that second.
* **One decision process**, with ``--decider``, decides the single filings of every
  worker (:mod:`smartcustoms.api.decider`), so the workers only speak HTTP. It starts
  before the workers, which start once it listens, and stops after them.
* **The supervisor brings the schema to the newest revision once**, before any worker
  starts, restarts a worker or the decider when it dies, and stops them all (each
  finishing the filings it holds) on SIGTERM or SIGINT. A process that dies within
  :data:`QUICK_DEATH_S` of starting three times running (a port taken, a broken
  configuration) stops the service instead of restarting it forever.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Final

from smartcustoms.api.decider import run_decider

__all__ = ["QUICK_DEATH_S", "listening_socket", "run_workers"]

_log = logging.getLogger(__name__)

QUICK_DEATH_S: Final = 10.0
"""A worker that dies sooner than this after starting counts towards giving up."""

_GIVE_UP_AFTER: Final = 3
_Started = tuple[BaseProcess, float]  # a process and when it was started (monotonic)
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


def _worker(
    host: str, port: int, log_level: str, database_url: str | None, decider: str | None
) -> None:
    """One worker process: the whole service on its own socket."""
    import uvicorn

    from smartcustoms.api.app import create_app
    from smartcustoms.config import load_settings
    from smartcustoms.platform import SmartCustoms

    sock = listening_socket(host, port)
    platform = SmartCustoms(load_settings(database_url=database_url))
    try:
        app = create_app(platform, freeze_gc=True, decider=decider)
        config = uvicorn.Config(app, log_level=log_level)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        platform.close()
        sock.close()


def _decider_listens(path: str) -> bool:
    """Whether the decision process accepts connections on ``path`` yet."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def run_workers(
    workers: int,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    database_url: str | None = None,
    decider: bool = False,
) -> int:
    """Run ``workers`` processes of the service on ``host:port`` until told to stop.

    With ``decider``, one more process decides the workers' single filings
    (:mod:`smartcustoms.api.decider`): it starts first, the workers once it listens, and
    it stops last. The caller has already opened the platform once (which migrates the
    schema). Returns the exit status: 0 after SIGTERM or SIGINT, 1 when a worker or the
    decider kept dying on start.

    Raises:
        ValueError: ``workers`` below 1.
        OSError: ``host:port`` cannot be listened on.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    listening_socket(host, port).close()  # fail here, clearly, if the port is taken
    context = multiprocessing.get_context("spawn")
    folder = tempfile.mkdtemp(prefix="smartcustoms-") if decider else None  # mode 0700
    path = os.path.join(folder, "decisions.sock") if folder else None
    args = (host, port, log_level, database_url, path)
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}

    def launch(target: Callable[..., None], args: tuple[object, ...], name: str) -> _Started:
        process = context.Process(target=target, args=args, name=name)
        process.start()
        return process, time.monotonic()

    def start() -> _Started:
        return launch(_worker, args, "smartcustoms-worker")

    def start_decider() -> _Started:
        return launch(run_decider, (path, log_level, database_url), "smartcustoms-decider")

    decider_process = start_decider() if path else None
    running: list[_Started] = []
    quick_deaths = 0
    status = 0

    def died(process: BaseProcess, started: float, what: str) -> bool:
        """Log a death; whether the service should give up."""
        nonlocal quick_deaths, stopping, status
        lived = time.monotonic() - started
        quick_deaths = quick_deaths + 1 if lived < QUICK_DEATH_S else 0
        _log.error("%s %s exited with %s after %.1f s", what, process.pid, process.exitcode, lived)
        if quick_deaths >= _GIVE_UP_AFTER:
            _log.error("%ss keep dying on start: stopping the service", what)
            stopping, status = True, 1
        return stopping

    try:
        while decider_process is not None and path is not None and not stopping:
            if _decider_listens(path):
                break
            process, started = decider_process
            if not process.is_alive() and not died(process, started, "decider"):
                decider_process = start_decider()
            time.sleep(0.05)
        if not stopping:
            running = [start() for _ in range(workers)]
        while not stopping:
            time.sleep(0.2)
            if decider_process is not None and not decider_process[0].is_alive():
                if died(*decider_process, "decider"):
                    break
                decider_process = start_decider()  # the workers connect again
            for i, (process, started) in enumerate(running):
                if process.is_alive() or stopping:
                    continue
                if died(process, started, "worker"):
                    break
                running[i] = start()
    finally:
        # the workers first: they answer what they hold, with the decider's help
        _stop([p for p, _ in running])
        if decider_process is not None:
            _stop([decider_process[0]])  # SIGTERM: it decides what it received, then exits
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return status


def _stop(processes: list[BaseProcess]) -> None:
    """SIGTERM each live process, wait up to :data:`_STOP_WAIT_S` in all, then kill."""
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn stops, the batcher finishes its filings
    deadline = time.monotonic() + _STOP_WAIT_S
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
