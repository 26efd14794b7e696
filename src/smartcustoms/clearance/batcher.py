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
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
import polars as pl

from smartcustoms.clearance.runner import Clearance
from smartcustoms.clearance.summary import QUARANTINED
from smartcustoms.intake._json import parse_json_lines
from smartcustoms.intake.layouts import POSTAL_LAYOUT, WCO_JSON_LAYOUT
from smartcustoms.store.database import ConsignmentOutcome

__all__ = ["DecidedFiling", "DecisionBatcher"]

_log = logging.getLogger(__name__)

_LAYOUTS = {"json": WCO_JSON_LAYOUT, "postal": POSTAL_LAYOUT}
_SOURCE = "api"


@dataclass(frozen=True)
class DecidedFiling:
    """What became of one filing sent through :class:`DecisionBatcher`.

    Attributes:
        results: Its result rows (:data:`~smartcustoms.clearance.summary.RESULT_SCHEMA`,
            ``record`` 0), one per consignment (one row when the filing was rejected).
        outcomes: Where each of its consignments on file stands, by consignment id (read
            after the batch was committed; a duplicate's are those already on file).
    """

    results: pl.DataFrame
    outcomes: dict[str, ConsignmentOutcome]


@dataclass
class _Request:
    body: bytes
    fmt: str
    tenant: str | None
    actor: str
    future: Future[DecidedFiling] = field(default_factory=Future)


class DecisionBatcher:
    """Clear single filings from concurrent callers in micro-batches, on one thread.

    Args:
        clearance: Makes the :class:`~smartcustoms.clearance.Clearance` for a batch (called
            once per batch, so configuration changes such as a newly activated ruleset
            reach the next batch).
        max_batch: Most filings cleared together.
        via: Recorded in each filing's audit entry (``details.via``): the channel it came by.

    :meth:`submit` returns a future of the :class:`DecidedFiling`.
    """

    def __init__(
        self, clearance: Callable[[], Clearance], *, max_batch: int = 256, via: str = "api"
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._clearance = clearance
        self.max_batch = max_batch
        self.via = via
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.batches = 0
        """Batches cleared so far."""
        self.filings = 0
        """Filings cleared so far."""

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

    def close(self) -> None:
        """Finish the filings already queued, then stop the worker thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._queue.put(None)
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            taken = [first]
            stop = False
            while len(taken) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                taken.append(more)
            self._clear(taken)
            if stop:
                return

    def _clear(self, requests: list[_Request]) -> None:
        groups: dict[str, list[tuple[_Request, bytes]]] = {}
        singles: list[_Request] = []
        for request in requests:
            if not request.future.set_running_or_notify_cancel():
                continue
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
                        results=part, outcomes={x: outcomes[x] for x in ids if x in outcomes}
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
        self.batches += 1
        self.filings += len(requests)
        for request, result in zip(requests, decided, strict=True):
            request.future.set_result(result)
