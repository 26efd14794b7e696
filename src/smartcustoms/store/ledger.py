"""The ledger's outbox in the store: statements waiting for the log, and their documents.

A statement is stored (``ledger_statements``) in the same transaction as the act it
publishes; :meth:`StatementRecords.publish` appends those not yet in the log, in the order
they were stored, and records each one's log index (and the index of the AEO act it
publishes). A process killed between the append and the bookkeeping loses nothing and logs
nothing twice: the next publish first finds, in the log's tail, the entries already appended
(statement bytes are unique, every one carries a random salt) and only records their index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import func, insert, select, update

from smartcustoms.errors import LedgerRangeError
from smartcustoms.store import tables as t
from smartcustoms.store.database import Store

__all__ = ["EntryLog", "PublishResult", "StatementRecords"]


class EntryLog(Protocol):
    """The part of the log the outbox needs."""

    @property
    def size(self) -> int:
        """Entries in the log."""

    def entry(self, index: int) -> bytes:
        """Entry ``index``."""

    def append_batch(self, entries: Sequence[bytes]) -> range:
        """Append durably; the new indices."""


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What a publish did.

    Attributes:
        appended: Statements appended now.
        recovered: Statements found already appended by an interrupted publish.
        size: The log's size afterwards.
    """

    appended: int
    recovered: int
    size: int


class StatementRecords:
    """Our ledger statements in the store.

    Args:
        store: The platform's store.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, kind: str, subject: str, entry: bytes, document: bytes, opening: bytes) -> int:
        """Store a statement for the log; its id."""
        s = t.ledger_statements
        with self.store.engine.begin() as conn:
            key = conn.execute(
                insert(s).values(
                    kind=kind,
                    subject=subject,
                    entry=entry,
                    document=document,
                    opening=opening,
                    created_at=datetime.now(UTC),
                )
            ).inserted_primary_key
        assert key is not None
        return int(key[0])

    def log_index(self, statement_id: int) -> int | None:
        """Where statement ``statement_id`` went in the log (``None``: not appended yet)."""
        s = t.ledger_statements
        with self.store.engine.connect() as conn:
            value = conn.execute(
                select(s.c.log_index).where(s.c.statement_id == statement_id)
            ).scalar()
        return None if value is None else int(value)

    def pending(self) -> list[tuple[int, bytes]]:
        """Statements not yet in the log: ``(statement_id, entry)`` in the order stored."""
        s = t.ledger_statements
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(s.c.statement_id, s.c.entry)
                .where(s.c.log_index.is_(None))
                .order_by(s.c.statement_id)
            ).all()
        return [(int(r[0]), bytes(r[1])) for r in rows]

    def publish(self, log: EntryLog, *, batch: int = 4096) -> PublishResult:
        """Append every pending statement to ``log`` and record where each went."""
        pending = self.pending()
        if not pending:
            return PublishResult(0, 0, log.size)
        s = t.ledger_statements
        with self.store.engine.connect() as conn:
            last = conn.execute(select(func.max(s.c.log_index))).scalar()
        start = 0 if last is None else int(last) + 1
        placed: list[tuple[int, int]] = []
        waiting = list(pending)
        position = 0
        for index in range(start, log.size):
            if position < len(waiting) and log.entry(index) == waiting[position][1]:
                placed.append((waiting[position][0], index))
                position += 1
        recovered = len(placed)
        self._record(placed)
        rest = waiting[position:]
        for begin in range(0, len(rest), batch):
            part = rest[begin : begin + batch]
            indices = log.append_batch([entry for _, entry in part])
            self._record([(sid, i) for (sid, _), i in zip(part, indices, strict=True)])
        return PublishResult(len(rest), recovered, log.size)

    def _record(self, placed: list[tuple[int, int]]) -> None:
        if not placed:
            return
        s, a = t.ledger_statements, t.aeo_acts
        with self.store.engine.begin() as conn:
            for statement_id, index in placed:
                conn.execute(
                    update(s).where(s.c.statement_id == statement_id).values(log_index=index)
                )
                conn.execute(
                    update(a).where(a.c.statement_id == statement_id).values(log_index=index)
                )

    def document(self, log_index: int) -> bytes:
        """The business document of the statement at ``log_index``.

        Raises:
            LedgerRangeError: No statement of ours is at that index.
        """
        s = t.ledger_statements
        with self.store.engine.connect() as conn:
            found = conn.execute(select(s.c.document).where(s.c.log_index == log_index)).first()
        if found is None:
            raise LedgerRangeError(f"no statement of ours at log index {log_index}")
        return bytes(found[0])

    def counts(self) -> dict[str, int]:
        """Statements stored, appended and pending."""
        s = t.ledger_statements
        with self.store.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(s)).scalar_one()
            waiting = conn.execute(
                select(func.count()).select_from(s).where(s.c.log_index.is_(None))
            ).scalar_one()
        return {"stored": int(total), "appended": int(total - waiting), "pending": int(waiting)}
