"""One decision process behind the workers of ``smartcustoms serve --workers N``.

A worker process of the service answers HTTP on its event loop and, without a decision
process, decides its single filings on a thread of its own (:class:`~smartcustoms.clearance.
batcher.DecisionBatcher`). Both threads take turns on the process's one interpreter lock,
so under load a filing's turn waits for the event loop, and the event loop for the turn:
measured at 500 filings a second on two cores, deciding one filing took a worker's decision
thread about four times longer on the clock than on the CPU. Each worker also wrote its
own small turns, queueing on SQLite's one writer, every turn paying the fixed cost of a
transaction (docs/benchmarks.md).

With a decision process, the workers only speak HTTP. Each sends its single filings over a
Unix socket to one more process, the **decider**, which runs the one
:class:`~smartcustoms.clearance.batcher.DecisionBatcher` of the service: the fast path and
the batch path exactly as a lone process runs them, with its interpreter to itself, and
the turns of all workers' filings together. Every filing keeps its tenant, its actor and
its audit entry, as in a lone process; lane capacity is counted by one fast path instead
of several.

**The wire.** Each message is a 12-byte header (request id, payload length) and a
:mod:`pickle` payload: a request is ``(body, fmt, tenant, actor)``, an answer
``(True, DecidedFiling)`` or ``(False, error)``. Pickle is safe here only because both ends
are this program: the socket lives in a directory only the service's user may enter
(``mkdtemp``, mode 0700) and is itself mode 0600. It is never a network protocol.

**Nothing lost when a process dies.** The supervisor (:mod:`smartcustoms.api.workers`)
starts the decider first and the workers once it listens, restarts it if it dies, and
stops it last, after the workers have answered what they hold. A worker that loses its
connection answers each filing it was waiting for with 503 problem details
(``decisions.unavailable``): the filing may or may not have been stored, and sending it
again is safe, because a filing already on file is answered with its decision (200,
``duplicate``). The next filing connects again, waiting up to ``connect_timeout`` seconds
for a restarted decider.

**When to use it** (``serve --workers N --decider``; per-worker deciding is the default).
One decider decides on one core, so it caps the service at one core's worth of decisions,
whatever the number of workers. Below that ceiling it answered faster at the tail on the
2-core development machine; near it, the workers deciding on every core did
(docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import signal
import socket
import struct
import threading
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Final

from smartcustoms.clearance.batcher import DecidedFiling, DecisionBatcher
from smartcustoms.errors import DecisionsUnavailableError, StoreError

if TYPE_CHECKING:
    from smartcustoms.platform import SmartCustoms

__all__ = ["DecisionServer", "RemoteDecisions", "platform_batcher", "run_decider"]

_log = logging.getLogger(__name__)

_HEADER: Final = struct.Struct("!QI")  # request id, payload length
_PROTOCOL: Final = pickle.HIGHEST_PROTOCOL
_RESEND: Final = (
    "send it again: a filing already on file is answered with its decision (200, duplicate)"
)


def platform_batcher(platform: SmartCustoms, *, freeze_gc: bool = False) -> DecisionBatcher:
    """The :class:`DecisionBatcher` a service decides ``platform``'s single filings with."""
    return DecisionBatcher(
        lambda: platform.clearance(actor="api"),
        fast=platform.single_filing_engine if platform.settings.fast_decisions else None,
        freeze_gc=freeze_gc,
    )


def _frame(request_id: int, value: object) -> bytes:
    payload = pickle.dumps(value, protocol=_PROTOCOL)
    return _HEADER.pack(request_id, len(payload)) + payload


# ------------------------------------------------------------------------------ the decider


class DecisionServer:
    """Serve a :class:`DecisionBatcher` to worker processes on a Unix socket at ``path``.

    Each connection is read on a thread of its own; answers are sent as the batcher's
    futures complete, on the thread that completed them. :meth:`close` answers every
    filing already received before it returns.

    Args:
        batcher: Decides the filings.
        path: Where the socket is made (an old socket file there is replaced).
    """

    def __init__(self, batcher: DecisionBatcher, path: str | os.PathLike[str]) -> None:
        self.batcher = batcher
        self.path = Path(path)
        self.path.unlink(missing_ok=True)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._listener.bind(str(self.path))
            os.chmod(self.path, 0o600)
            self._listener.listen(64)
        except BaseException:
            self._listener.close()
            raise
        self._connections: set[socket.socket] = set()
        self._readers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False
        self._acceptor = threading.Thread(
            target=self._accept, name="sc-decider-accept", daemon=True
        )

    def start(self) -> None:
        """Accept connections (on a thread of its own) until :meth:`close`."""
        self._acceptor.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed
                return
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                self._connections.add(conn)
                reader = threading.Thread(
                    target=self._serve, args=(conn,), name="sc-decider-conn", daemon=True
                )
                self._readers.append(reader)
            reader.start()

    def _serve(self, conn: socket.socket) -> None:
        """Read one worker's requests until it hangs up; answer each as it is decided."""
        send_lock = threading.Lock()
        stream = conn.makefile("rb")
        try:
            while True:
                header = stream.read(_HEADER.size)
                if len(header) < _HEADER.size:
                    return  # the worker hung up, or close() shut the connection down
                request_id, size = _HEADER.unpack(header)
                payload = stream.read(size)
                if len(payload) < size:
                    return
                body, fmt, tenant, actor = pickle.loads(payload)
                try:
                    future = self.batcher.submit(body, fmt=fmt, tenant=tenant, actor=actor)
                except Exception as error:  # closed, or an unknown format
                    failed: Future[DecidedFiling] = Future()
                    failed.set_exception(error)
                    future = failed
                future.add_done_callback(partial(self._answer, conn, send_lock, request_id))
        except OSError:
            return
        finally:
            stream.close()

    @staticmethod
    def _answer(
        conn: socket.socket, send_lock: threading.Lock, request_id: int, done: Future[DecidedFiling]
    ) -> None:
        error = done.exception()
        if error is None:
            frame = _frame(request_id, (True, done.result()))
        else:
            try:
                frame = _frame(request_id, (False, error))
                pickle.loads(frame[_HEADER.size :])  # an error must rebuild at the other end
            except Exception:  # it does not: its class and message, as a store error
                frame = _frame(request_id, (False, StoreError(f"{type(error).__name__}: {error}")))
        try:
            with send_lock:
                conn.sendall(frame)
        except OSError:  # the worker is gone: its caller's connection went with it
            _log.warning("a decision could not be answered: the worker hung up")

    def close(self) -> None:
        """Stop accepting, decide and answer what was received, then hang up."""
        with self._lock:
            self._closed = True
            connections = list(self._connections)
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for conn in connections:  # no more requests; answers may still be sent
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RD)
        for reader in list(self._readers):
            reader.join()
        self.batcher.close()  # every filing received is decided and answered by now
        for conn in connections:
            conn.close()
        self.path.unlink(missing_ok=True)


def run_decider(path: str, log_level: str = "info", database_url: str | None = None) -> None:
    """The decider process: serve decisions on ``path`` until SIGTERM or SIGINT."""
    from smartcustoms.config import load_settings
    from smartcustoms.platform import SmartCustoms

    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.INFO),
        format="%(levelname)s:     decider %(process)d: %(message)s",
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    platform = SmartCustoms(load_settings(database_url=database_url))
    try:
        batcher = platform_batcher(platform, freeze_gc=True)
        batcher.warm()
        server = DecisionServer(batcher, path)
        server.start()
        _log.info("deciding single filings for the workers on %s", path)
        while not stop.wait(1.0):
            pass
        server.close()
    finally:
        platform.close()


# ------------------------------------------------------------------------------ a worker's end


class RemoteDecisions:
    """A worker's end of the decider: :meth:`decide` as :class:`DecisionBatcher` decides.

    One connection per worker, used from its event loop; requests are answered in any
    order, matched by id.

    Args:
        path: The decider's socket.
        connect_timeout: How long a filing waits for the decider to accept a connection
            (when it is starting or restarting) before it is answered 503.
    """

    def __init__(self, path: str | os.PathLike[str], *, connect_timeout: float = 10.0) -> None:
        self.path = str(path)
        self.connect_timeout = connect_timeout
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[DecidedFiling]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._connecting: asyncio.Lock | None = None

    async def connect(self, *, timeout: float | None = None) -> None:
        """Connect now unless connected, waiting up to ``timeout`` (``connect_timeout``).

        Raises:
            DecisionsUnavailableError: The decider did not accept a connection in time.
        """
        if self._writer is not None:
            return
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._writer is not None:
                return
            loop = asyncio.get_running_loop()
            deadline = loop.time() + (self.connect_timeout if timeout is None else timeout)
            while True:
                try:
                    reader, writer = await asyncio.open_unix_connection(self.path)
                    break
                except OSError as error:
                    if loop.time() >= deadline:
                        raise DecisionsUnavailableError(
                            "the decision process does not answer "
                            f"({error.strerror or error}); nothing was stored: try again shortly"
                        ) from error
                    await asyncio.sleep(0.05)
            self._writer = writer
            self._reader_task = loop.create_task(self._read(reader, writer))

    async def decide(
        self, body: bytes, *, fmt: str, tenant: str | None, actor: str
    ) -> DecidedFiling:
        """Have the decider clear one filing (``fmt`` ``json`` or ``postal``).

        Raises:
            DecisionsUnavailableError: The decider could not be reached, or stopped before
                it answered (the filing may have been stored: sending it again is safe).
        """
        await self.connect()
        writer = self._writer
        assert writer is not None
        request_id = next(self._ids)
        answer: asyncio.Future[DecidedFiling] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = answer
        try:
            writer.write(_frame(request_id, (body, fmt, tenant, actor)))
            if writer.transport.get_write_buffer_size() > 1 << 20:
                await writer.drain()
            return await answer
        finally:
            self._pending.pop(request_id, None)

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Match answers to requests until the connection ends; then fail what is left."""
        try:
            while True:
                request_id, size = _HEADER.unpack(await reader.readexactly(_HEADER.size))
                payload = await reader.readexactly(size)
                answer = self._pending.get(request_id)
                if answer is None or answer.done():  # its caller went away
                    continue
                ok, value = pickle.loads(payload)
                if ok:
                    answer.set_result(value)
                else:
                    answer.set_exception(value)
        except (asyncio.IncompleteReadError, OSError):
            pass
        finally:
            if self._writer is writer:
                self._writer = None
            writer.close()
            lost = DecisionsUnavailableError(
                f"the decision process stopped before it answered; {_RESEND}"
            )
            for answer in list(self._pending.values()):
                if not answer.done():
                    answer.set_exception(lost)

    async def aclose(self) -> None:
        """Hang up (filings still waiting are answered :class:`DecisionsUnavailableError`)."""
        task, writer = self._reader_task, self._writer
        self._writer = None
        if writer is not None:
            writer.close()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
