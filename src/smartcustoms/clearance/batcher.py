"""Micro-batching of single filings: many callers, one batch pipeline.

The clearance core is batch-first: its cost per call is mostly fixed (a few hundred
Polars operations and one write transaction, about the same for 1 record as for 100), and
its cost per record small. A service that cleared each synchronous filing on its own
would pay the fixed cost per request, and its requests would queue on SQLite's single
writer. :class:`DecisionBatcher` instead takes the filings that arrive while a batch is
being cleared and clears them together as the next batch (group commit): under load the
batches grow and the fixed cost is shared; with one caller at a time each batch holds one
filing and nothing waits.

Every filing keeps its own identity through the batch: its own tenant (the filer
submitting it, checked against the filer id it carries), its own result rows, its own
quarantine entry, its own audit-log entry under the user who sent it. A filing that is not
valid JSON is cleared on its own, so its raw bytes are kept whole in quarantine exactly as
they were received. What the caller answers with is read for the whole batch at once
(:meth:`~smartcustoms.store.Store.consignment_outcomes`), and the audit entries are written
in one transaction, so a batch costs a fixed number of round trips to the store.

**The fast path first.** Given a :class:`~smartcustoms.clearance.single.SingleFilingEngine`
(``fast``), the batcher first offers each filing of a batch to it: clean, new filings are
decided row by row in microseconds and written together in one transaction (group commit);
every filing it declines (any problem, a duplicate, a configuration it does not cover) is
then cleared through the batch pipeline above, which stays the reference. The filings it
decides are written with their audit entries in one transaction, and their answers are
built from the rows written (:func:`~smartcustoms.clearance.single.rows.written_outcomes`):
one commit and no read per group. The fast path's answers are the batch path's, proven by
the differential tests in ``tests/clearance/single``.

**A turn commits while the next one is decided.** Committing makes a turn durable: on
SQLite a commit waits for ``fsync``, about a millisecond on the development machine, with
the interpreter lock released. The fast path's thread writes a turn's rows and hands the
open transaction to a third thread (``sc-decisions-commit``), which commits it and only
then answers the turn's callers. Meanwhile the fast path decides the next turn; it writes
that one only once the one before has committed (one turn written and not committed at
most), so turns are stored in order and the check under the lock sees every turn before.
A commit that fails sends its turn's filings down the batch path, as any failure of the
fast path does. No caller is answered before its filing is committed.

**The batch path on a thread of its own.** A filing the fast path declines (a problem to
report, a duplicate, a shape it does not cover) costs the batch pipeline a few hundred
milliseconds. It is handed to a second thread, so the clean filings behind it are decided
meanwhile instead of waiting. Both threads write under the store's writer lock, and the
fast path re-reads lane usage at its next turn after the batch thread stored decisions
(those it did not make): lane capacity may be passed by the batch-path decisions of that
one turn, as with another worker process (see :mod:`smartcustoms.api.workers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl

from smartcustoms.clearance.runner import Clearance
from smartcustoms.clearance.single.engine import FastFiling, OnFile, SingleFilingEngine
from smartcustoms.clearance.single.rows import TableRows, written_outcomes
from smartcustoms.clearance.summary import ACCEPTED, QUARANTINED, RESULT_SCHEMA
from smartcustoms.intake._json import parse_json_lines
from smartcustoms.intake.layouts import POSTAL_LAYOUT, WCO_JSON_LAYOUT
from smartcustoms.store import BulkWriter
from smartcustoms.store.bulk import KeyReader
from smartcustoms.store.database import ConsignmentOutcome, audit_rows

__all__ = ["DecidedFiling", "DecisionBatcher"]

_log = logging.getLogger(__name__)

_LAYOUTS = {"json": WCO_JSON_LAYOUT, "postal": POSTAL_LAYOUT}
_SOURCE = "api"


@dataclass(frozen=True)
class DecidedFiling:
    """What became of one filing sent through :class:`DecisionBatcher`.

    Attributes:
        rows: Its result rows as dicts (:data:`~smartcustoms.clearance.summary.RESULT_SCHEMA`
            columns, ``record`` 0), one per consignment (one row when the filing was
            rejected).
        outcomes: Where each of its consignments on file stands, by consignment id (as the
            batch was committed; a duplicate's are those already on file).
    """

    rows: list[dict[str, Any]]
    outcomes: dict[str, ConsignmentOutcome]

    @property
    def results(self) -> pl.DataFrame:
        """:attr:`rows` as a frame of :data:`~smartcustoms.clearance.summary.RESULT_SCHEMA`."""
        return pl.DataFrame(self.rows, schema=RESULT_SCHEMA, orient="row")


@dataclass(frozen=True)
class _Pending:
    """A fast-path turn written but not yet committed: its open transaction and filings."""

    transaction: contextlib.ExitStack
    decided: list[tuple[_Request, FastFiling]]
    dialect: str


@dataclass
class _Request:
    body: bytes
    fmt: str
    tenant: str | None
    actor: str
    future: Future[DecidedFiling] = field(default_factory=Future)


class DecisionBatcher:
    """Clear single filings from concurrent callers in micro-batches.

    The fast path runs on one thread (``sc-decisions``), its commits on another
    (``sc-decisions-commit``), the batch path on a third (``sc-decisions-batch``); each is
    started the first time it is needed.

    Args:
        clearance: Makes the :class:`~smartcustoms.clearance.Clearance` for a batch (called
            once per batch, so configuration changes such as a newly activated ruleset
            reach the next batch).
        max_batch: Most filings cleared together.
        via: Recorded in each filing's audit entry (``details.via``): the channel it came by.
        fast: Gives the current single-filing fast path (called once per batch, so it can
            be rebuilt when the configuration changes); ``None``: batch path only.
        freeze_gc: After each new fast path is built, move every object then alive out of
            the garbage collector's sight (:func:`gc.freeze`). For a long-running service:
            a full collection then scans only what was made since, not the platform's
            reference data and engine. A collection of the whole heap took up to 153 ms
            with the service under load (``bench_api_load.py --gc-probe --no-freeze-gc``),
            a pause every waiting request paid.

    :meth:`submit` returns a future of the :class:`DecidedFiling`.
    """

    def __init__(
        self,
        clearance: Callable[[], Clearance],
        *,
        max_batch: int = 256,
        via: str = "api",
        fast: Callable[[], SingleFilingEngine] | None = None,
        freeze_gc: bool = False,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._clearance = clearance
        self._fast = fast
        self._freeze_gc = freeze_gc
        self._engine: SingleFilingEngine | None = None
        self.max_batch = max_batch
        self.via = via
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._batch_queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._batch_thread: threading.Thread | None = None
        self._batch_wrote = threading.Event()  # usage changed outside the engine's memory
        self._commits: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._commit_thread: threading.Thread | None = None
        self._writing = threading.Semaphore(1)  # one fast turn written, not committed, at most
        self._counts = threading.Lock()
        self._closed = False
        self.batches = 0
        """Batches cleared so far."""
        self.filings = 0
        """Filings cleared so far."""
        self.fast_filings = 0
        """Filings decided by the fast path so far (also counted in :attr:`filings`)."""

    def submit(
        self, body: bytes, *, fmt: str, tenant: str | None, actor: str
    ) -> Future[DecidedFiling]:
        """Queue one filing (``fmt`` ``json`` or ``postal``) sent by user ``actor``.

        Raises:
            RuntimeError: The batcher is closed.
            ValueError: An unknown format.
        """
        if fmt not in _LAYOUTS:
            raise ValueError(f"unknown single-filing format {fmt!r}")
        request = _Request(body=body, fmt=fmt, tenant=tenant, actor=actor)
        with self._lock:
            if self._closed:
                raise RuntimeError("the decision batcher is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sc-decisions", daemon=True)
                self._thread.start()
            self._queue.put(request)
        return request.future

    async def decide(
        self, body: bytes, *, fmt: str, tenant: str | None, actor: str
    ) -> DecidedFiling:
        """:meth:`submit`, awaited on the running event loop."""
        return await asyncio.wrap_future(self.submit(body, fmt=fmt, tenant=tenant, actor=actor))

    def warm(self) -> None:
        """Build the fast path now, so that the first filing does not wait for it.

        A service calls this as it starts: building the engine takes a hundred milliseconds
        or more, which every filing queued behind the first one would otherwise pay. A
        configuration the fast path cannot be built from is logged; the batch path reports
        it with the first filing, as it would have anyway.
        """
        if self._fast is None:
            return
        try:
            self._fast()
        except Exception:
            _log.exception("the single-filing fast path could not be built")

    def close(self) -> None:
        """Finish the filings already queued, then stop the worker threads."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._queue.put(None)
        if thread is not None:
            thread.join()  # all it took is decided or handed on to the batch thread by now
        with self._lock:
            batch_thread = self._batch_thread
            self._batch_queue.put(None)
        if batch_thread is not None:
            batch_thread.join()

    @staticmethod
    def _take(source: queue.SimpleQueue[_Request | None], most: int) -> tuple[list[_Request], bool]:
        """Wait for the first request, then take what else is queued: ``(taken, stop)``."""
        first = source.get()
        if first is None:
            return [], True
        taken = [first]
        while len(taken) < most:
            try:
                more = source.get_nowait()
            except queue.Empty:
                break
            if more is None:
                return taken, True
            taken.append(more)
        return taken, False

    def _run(self) -> None:
        stop = False
        try:
            while not stop:
                taken, stop = self._take(self._queue, self.max_batch)
                if taken:
                    self._clear(taken)
        finally:
            if self._commit_thread is not None:
                self._commits.put(None)
                self._commit_thread.join()  # every turn committed and answered

    def _run_commits(self) -> None:
        while (pending := self._commits.get()) is not None:
            self._commit(pending)

    def _run_batch(self) -> None:
        stop = False
        while not stop:
            taken, stop = self._take(self._batch_queue, self.max_batch)
            if taken:
                try:
                    self._clear_batch(taken)
                finally:
                    self._batch_wrote.set()

    def _clear(self, requests: list[_Request]) -> None:
        """Decide what the fast path can now; hand the rest to the batch-path thread."""
        requests = [r for r in requests if r.future.set_running_or_notify_cancel()]
        if self._fast is not None and requests:
            requests, pending = self._write_fast(requests)
            if pending is not None:  # committed and answered while the next turn is decided
                if self._commit_thread is None:
                    self._commit_thread = threading.Thread(
                        target=self._run_commits, name="sc-decisions-commit", daemon=True
                    )
                    self._commit_thread.start()
                self._commits.put(pending)
        if requests:
            self._to_batch(requests)

    def _to_batch(self, requests: list[_Request]) -> None:
        """Hand filings to the batch-path thread (started the first time one is needed)."""
        with self._lock:
            if self._batch_thread is None:
                self._batch_thread = threading.Thread(
                    target=self._run_batch, name="sc-decisions-batch", daemon=True
                )
                self._batch_thread.start()
        for request in requests:
            self._batch_queue.put(request)

    def _clear_batch(self, requests: list[_Request]) -> None:
        """Clear filings through the batch pipeline (the reference), grouped by format."""
        groups: dict[str, list[tuple[_Request, bytes]]] = {}
        singles: list[_Request] = []
        for request in requests:
            try:
                doc = orjson.loads(request.body.removeprefix(b"\xef\xbb\xbf"))
            except orjson.JSONDecodeError:
                singles.append(request)
                continue
            groups.setdefault(request.fmt, []).append((request, orjson.dumps(doc)))
        for fmt, group in groups.items():
            self._clear_group(fmt, [r for r, _ in group], [line for _, line in group])
        for request in singles:
            body = request.body.removeprefix(b"\xef\xbb\xbf")
            truncated = not body.rstrip().endswith((b"}", b"]"))
            self._clear_group(request.fmt, [request], [body], truncated_last=truncated)

    def _clear_fast(self, requests: list[_Request]) -> list[_Request]:
        """Decide what the fast path can, write and commit it, answer it; return the rest."""
        rest, pending = self._write_fast(requests)
        if pending is not None:
            self._commit(pending)
        return rest

    def _write_fast(self, requests: list[_Request]) -> tuple[list[_Request], _Pending | None]:
        """Decide what the fast path can and write it, uncommitted: ``(rest, pending)``.

        The transaction stays open, holding the writers' lock, until :meth:`_commit`.
        """
        assert self._fast is not None
        try:
            engine = self._fast()
        except Exception:  # the batch path reports configuration errors itself
            _log.exception("the single-filing fast path could not be built")
            return requests, None
        if engine is not self._engine:
            self._engine = engine
            if self._freeze_gc:
                gc.freeze()
        if self._batch_wrote.is_set():  # decisions the engine did not make went on file
            self._batch_wrote.clear()
            engine.forget_usage()
        now = datetime.now(UTC)
        batch_id = now.strftime("a%Y%m%dT%H%M%S%f")
        store = engine.clearance.store
        engine.begin_group()
        pending: _Pending | None = None
        writing = False
        try:
            # Decide outside the write lock (other writers, other processes of the service,
            # go on meanwhile), then check inside it that no filing went on file since.
            # The group is looked up in the store once, after deciding: a filing found on
            # file (a resend, rare) makes the group be decided again knowing it.
            decided, rest = self._decide_group(engine, requests, now, batch_id, _nowhere)
            if decided:
                with KeyReader(store.engine) as reader:
                    filed, consigned = reader.on_file(
                        [f.filing_id for _, f in decided],
                        [x for _, f in decided for x in f.consignment_ids],
                    )
                if filed or consigned:
                    engine.forget_usage()  # the group's decisions counted the resends
                    decided, rest = self._decide_group(
                        engine,
                        requests,
                        now,
                        batch_id,
                        lambda f, ids: f in filed or not consigned.isdisjoint(ids),
                    )
            self._writing.acquire()  # the turn before has committed (see _commit)
            writing = True
            with contextlib.ExitStack() as transaction:  # rolled back on an error
                writer = transaction.enter_context(store.writer())
                if decided and _stored(
                    writer,
                    [f.filing_id for _, f in decided],
                    [x for _, f in decided for x in f.consignment_ids],
                ):
                    # another writer got there first: decide again, now holding the lock
                    engine.forget_usage()
                    decided, rest = self._decide_group(
                        engine, requests, now, batch_id, lambda f, ids: _stored(writer, [f], ids)
                    )
                if decided:
                    _write(writer, [f.rows for _, f in decided])
                    writer.insert_rows(
                        "audit_log",
                        audit_rows(
                            [
                                {
                                    "actor": request.actor,
                                    "action": "filing.submit",
                                    "subject_type": "filing",
                                    "subject_id": f.filing_id,
                                    "details": {
                                        "via": self.via,
                                        "outcome": ACCEPTED,
                                        "quarantine_id": None,
                                        "consignments": f.consignment_ids,
                                        "batch_id": batch_id,
                                    },
                                }
                                for request, f in decided
                            ],
                            datetime.now(UTC),
                        ),
                    )
                    # the open transaction is _commit's now
                    pending = _Pending(transaction.pop_all(), decided, store.dialect)
        except Exception:
            _log.exception("the fast path failed on %d filing(s): batch path", len(requests))
            engine.forget_usage()
            return requests, None
        finally:
            if writing and pending is None:
                self._writing.release()
        return rest, pending

    def _commit(self, pending: _Pending) -> None:
        """Commit a turn :meth:`_write_fast` wrote, then answer its filings.

        A failed commit sends the turn's filings down the batch path, and the fast path
        reads lane usage again at its next turn (its memory counted them).
        """
        decided = pending.decided
        try:
            pending.transaction.close()
        except Exception:
            _log.exception("committing %d filing(s) failed: batch path", len(decided))
            self._batch_wrote.set()
            self._to_batch([request for request, _ in decided])
            return
        finally:
            self._writing.release()  # the next turn may write
        with self._counts:
            self.batches += 1
            self.filings += len(decided)
            self.fast_filings += len(decided)
        for request, f in decided:
            try:
                answer = DecidedFiling(
                    rows=f.results, outcomes=written_outcomes(f.rows, pending.dialect)
                )
            except Exception as error:  # stored, but this caller cannot be answered
                _log.exception("answering fast-path filing %s failed", f.filing_id)
                request.future.set_exception(error)
            else:
                request.future.set_result(answer)

    @staticmethod
    def _decide_group(
        engine: SingleFilingEngine,
        requests: list[_Request],
        now: datetime,
        batch_id: str,
        stored: OnFile,
    ) -> tuple[list[tuple[_Request, FastFiling]], list[_Request]]:
        """Offer each request to the fast path, in order: ``(decided, rest)``.

        ``stored`` says whether a filing (or one of its consignments) is on file; the
        group's own filings count as on file for the ones after them.
        """
        decided: list[tuple[_Request, FastFiling]] = []
        rest: list[_Request] = []
        filings: set[str] = set()
        consignments: set[str] = set()

        def on_file(filing_id: str, ids: list[str]) -> bool:
            if filing_id in filings or not consignments.isdisjoint(ids):
                return True
            return stored(filing_id, ids)

        for request in requests:
            try:
                doc = orjson.loads(request.body.removeprefix(b"\xef\xbb\xbf"))
            except orjson.JSONDecodeError:
                rest.append(request)
                continue
            found = engine.decide(
                doc,
                fmt=request.fmt,
                tenant=request.tenant,
                now=now,
                batch_id=batch_id,
                on_file=on_file,
            )
            if found is None:
                rest.append(request)
                continue
            filings.add(found.filing_id)
            consignments.update(found.consignment_ids)
            decided.append((request, found))
        return decided, rest

    def _clear_group(
        self,
        fmt: str,
        requests: list[_Request],
        lines: list[bytes],
        *,
        truncated_last: bool = False,
    ) -> None:
        try:
            batch = parse_json_lines(
                lines,
                [None] * len(lines),
                first_record=0,
                source=_SOURCE,
                fmt=fmt,
                layout=_LAYOUTS[fmt],
                truncated_last=truncated_last,
            )
            batch_id = datetime.now(UTC).strftime("a%Y%m%dT%H%M%S%f")
            clearance = self._clearance()
            _, results = clearance.clear_batch(
                batch, batch_id=batch_id, tenant=[r.tenant for r in requests]
            )
            parts = {
                int(part["record"][0]): part.with_columns(pl.lit(0, dtype=pl.Int64).alias("record"))
                for part in results.partition_by("record", maintain_order=True)
            }
            stored = results.filter(
                (pl.col("status") != QUARANTINED) & pl.col("consignment_id").is_not_null()
            )["consignment_id"].to_list()
            outcomes = clearance.store.consignment_outcomes(stored)
            decided = []
            audits = []
            for i, request in enumerate(requests):
                part = parts.get(i, results.clear())
                ids = [x for x in part["consignment_id"].to_list() if x]
                first = part.row(0, named=True) if part.height else {}
                decided.append(
                    DecidedFiling(
                        rows=part.rows(named=True),
                        outcomes={x: outcomes[x] for x in ids if x in outcomes},
                    )
                )
                audits.append(
                    {
                        "actor": request.actor,
                        "action": "filing.submit",
                        "subject_type": "filing",
                        "subject_id": first.get("filing_id"),
                        "details": {
                            "via": self.via,
                            "outcome": first.get("status"),
                            "quarantine_id": first.get("quarantine_id"),
                            "consignments": ids,
                            "batch_id": batch_id,
                        },
                    }
                )
            clearance.store.record_audits(audits)
        except BaseException as error:  # every caller learns of the failure
            _log.exception("a batch of %d filing(s) failed", len(requests))
            for request in requests:
                request.future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        with self._counts:
            self.batches += 1
            self.filings += len(requests)
        for request, result in zip(requests, decided, strict=True):
            request.future.set_result(result)


# the order write_accepted then write_decisions write in, parties upserted in between
_ACCEPTED_TABLES = ("filings", "consignments", "goods_items", "assessments", "lifecycle_events")
_DECISION_TABLES = ("risk_decisions", "rule_hits")


def _nowhere(filing_id: str, consignment_ids: list[str]) -> bool:
    """No filing is on file: the group's own earlier filings are the only ones checked."""
    return False


def _stored(writer: BulkWriter, filing_ids: list[str], consignment_ids: list[str]) -> bool:
    """Whether any of these filings or consignments is on file, in ``writer``'s transaction."""
    return bool(
        writer.existing("filings", "filing_id", filing_ids)
        or writer.existing("consignments", "consignment_id", consignment_ids)
    )


def _write(writer: BulkWriter, parts: list[TableRows]) -> None:
    """Write the rows of several filings, table by table, in the batch path's order."""
    merged = TableRows()
    for part in parts:
        merged.extend(part)
    for table in _ACCEPTED_TABLES:
        writer.insert_rows(table, merged.inserts.get(table, []))
    parties: dict[tuple[str, str], dict[str, object]] = {}
    for row in merged.parties:  # the last of each party wins, as in one upsert per filing
        key = (str(row["party_id"]), str(row["role"]))
        parties.pop(key, None)
        parties[key] = row
    writer.upsert_rows(
        "parties", list(parties.values()), ["party_id", "role"], ["name", "country", "last_seen_at"]
    )
    for table in _DECISION_TABLES:
        writer.insert_rows(table, merged.inserts.get(table, []))
