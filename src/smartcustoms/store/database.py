"""The store: one database (SQLite file by default, PostgreSQL by URL) and its queries.

:class:`Store` owns the SQLAlchemy engine, brings the schema to the current Alembic revision
on open, and answers the queries the CLI and services need. Bulk writes go through
:class:`~.bulk.BulkWriter` (ADBC), one transaction per chunk.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Engine,
    create_engine,
    event,
    exists,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import Select

from smartcustoms.errors import (
    Problem,
    QuarantineEntryNotFoundError,
    SchemaVersionError,
    StoreError,
)
from smartcustoms.store import tables as t
from smartcustoms.store.bulk import BulkWriter, KeyReader

__all__ = ["ConsignmentOutcome", "QuarantineEntry", "Store", "audit_rows"]

_IN_CHUNK = 500


@dataclass(frozen=True)
class QuarantineEntry:
    """A rejected filing as kept in quarantine.

    Attributes:
        quarantine_id: Stable id (derived from the payload, so the same bad record sent twice
            is one entry seen twice).
        status: ``open``, or ``resolved`` once a resubmission was accepted.
        filing_id: The filing id, when the record got far enough to have one.
        source: File the record came from.
        line: Line where the record starts in that file (null when not line-based).
        record_no: Position of the record in its run.
        fmt: Input format (``jsonl``, ``json``, ``csv``, ``postal``).
        column_map: Column map used for CSV input.
        payload: The record exactly as received.
        problems: Every problem found.
        received_at: First time the record was received.
        updated_at: Last time it was received or resubmitted.
        attempts: How many times it was received or resubmitted.
        resolved_filing_id: Filing accepted in its place.
        tenant: The filer id of the filer who submitted it through the service (``None`` for
            files cleared by an operator, which only administrators see).
    """

    quarantine_id: str
    status: str
    filing_id: str | None
    source: str | None
    line: int | None
    record_no: int | None
    fmt: str
    column_map: str | None
    payload: bytes
    problems: tuple[Problem, ...]
    received_at: datetime
    updated_at: datetime
    attempts: int
    resolved_filing_id: str | None
    tenant: str | None = None

    def as_dict(self, *, with_payload: bool = True) -> dict[str, Any]:
        """JSON-ready form (the payload decoded as UTF-8 with replacement)."""
        out: dict[str, Any] = {
            "quarantine_id": self.quarantine_id,
            "status": self.status,
            "filing_id": self.filing_id,
            "source": self.source,
            "line": self.line,
            "record_no": self.record_no,
            "format": self.fmt,
            "column_map": self.column_map,
            "problems": [p.as_dict() for p in self.problems],
            "received_at": self.received_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "attempts": self.attempts,
            "resolved_filing_id": self.resolved_filing_id,
        }
        if with_payload:
            out["payload"] = self.payload.decode("utf-8", errors="replace")
        return out


@dataclass(frozen=True)
class ConsignmentOutcome:
    """Where an accepted consignment stands, as its filer may learn it.

    Attributes:
        consignment_id: The consignment.
        filing_id: The filing it came in.
        filer_id: The filer of that filing (the tenant).
        office: Office of arrival.
        lane: The current lane: the latest officer re-routing, else the risk decision
            (``None`` when no lane was decided).
        is_released: A ``release`` event is on file.
        dq_score: Data-quality score, 0-100.
        dq_reasons: Data-quality reasons (``code@path`` joined by ``;``).
        currency: Currency of the amounts (``None`` when not assessed).
        duty: Customs duty.
        vat: Import VAT.
        excise: Excise.
        total_payable: Total payable at the border.
    """

    consignment_id: str
    filing_id: str
    filer_id: str | None
    office: str | None
    lane: str | None
    is_released: bool
    dq_score: int | None
    dq_reasons: str | None
    currency: str | None
    duty: Decimal | None
    vat: Decimal | None
    excise: Decimal | None
    total_payable: Decimal | None


def _configuration_stamp_query() -> Select[Any]:
    r, m, v = t.rulesets.c, t.risk_models.c, t.value_references.c
    active = r.status == literal_column("'active'")  # a literal: the partial index serves
    return select(
        select(r.id).where(active).scalar_subquery(),
        select(r.sha256).where(active).scalar_subquery(),
        select(func.max(t.aeo_acts.c.id)).scalar_subquery(),
        select(func.max(t.mra_partners.c.id)).scalar_subquery(),
        select(m.version)
        .where(m.is_active)
        .order_by(m.created_at.desc())
        .limit(1)
        .scalar_subquery(),
        select(v.version)
        .where(v.is_active)
        .order_by(v.computed_at.desc())
        .limit(1)
        .scalar_subquery(),
    )


# built once: constructing a statement costs more than running this one
_CONFIGURATION_STAMP: Final = _configuration_stamp_query()


def audit_rows(entries: Sequence[Mapping[str, Any]], at: datetime) -> list[dict[str, Any]]:
    """``audit_log`` rows for entries keyed as :meth:`Store.record_audit`'s arguments.

    For writers that append audit entries inside their own transaction (the decision
    batcher writes a filing and its audit entry together).
    """
    return [
        {
            "at": at,
            "actor": e["actor"],
            "action": e["action"],
            "subject_type": e["subject_type"],
            "subject_id": e.get("subject_id"),
            "details": json.dumps(e.get("details") or {}, default=str),
        }
        for e in entries
    ]


def _pool_options(url: URL) -> dict[str, Any]:
    """Connection-pool options: a SQLite file keeps more connections open.

    A service reads a SQLite file from many threads at once (request handlers, the decision
    batcher, bulk jobs). SQLAlchemy's default pool keeps 5 connections and closes any extra
    one when it is returned, so under load connections would be opened (with their pragmas)
    and closed again on every burst; opening one is cheap on disk but not free.
    """
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return {"pool_size": 16, "max_overflow": 32}
    return {}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class Store:
    """The platform's database.

    Args:
        url: SQLAlchemy URL. A SQLite file is created (with its folder) on first use.
        migrate: Bring the schema to the current revision on open (default). With ``False``
            a schema at another revision raises :class:`~smartcustoms.errors.SchemaVersionError`
            when used.
    """

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = make_url(url)
        if self.url.get_backend_name() == "sqlite" and self.url.database not in (
            None,
            "",
            ":memory:",
        ):
            Path(self.url.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(self.url, **_pool_options(self.url))
        # the stamp's SQL, compiled once for this dialect (no bound values: run on a raw cursor)
        self._stamp_sql = str(
            _CONFIGURATION_STAMP.compile(
                dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}
            )
        )
        if self.url.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if migrate:
            self.migrate()
        else:
            self.check_schema()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.url.get_backend_name()

    def _alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option(
            "script_location", str(resources.files("smartcustoms.store") / "migrations")
        )
        return cfg

    def migrate(self) -> None:
        """Upgrade the schema to the newest Alembic revision (creating it on a new database)."""
        cfg = self._alembic_config()
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def check_schema(self) -> None:
        """Raise :class:`SchemaVersionError` unless the schema is at the newest revision."""
        head = ScriptDirectory.from_config(self._alembic_config()).get_current_head()
        with self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        if current != head:
            raise SchemaVersionError(
                f"database schema is at {current or 'no revision'}, this code needs {head}; "
                "run `smartcustoms db upgrade`"
            )

    def writer(self) -> BulkWriter:
        """A bulk-write transaction (use with ``with``)."""
        return BulkWriter(self.engine)

    def ping(self) -> None:
        """Run a trivial query (raises :class:`StoreError` when the database does not answer)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise StoreError(f"the database does not answer: {exc.__class__.__name__}") from exc

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()

    # ---------------------------------------------------------------- counts and audit

    def counts(self) -> dict[str, int]:
        """Row count of every table."""
        with self.engine.connect() as conn:
            return {
                name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for name, table in t.metadata.tables.items()
            }

    def record_audit(
        self,
        *,
        actor: str,
        action: str,
        subject_type: str,
        subject_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry to the audit log."""
        self.record_audits(
            [
                {
                    "actor": actor,
                    "action": action,
                    "subject_type": subject_type,
                    "subject_id": subject_id,
                    "details": details,
                }
            ]
        )

    def record_audits(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Append several audit-log entries in one transaction (keys as :meth:`record_audit`)."""
        if not entries:
            return
        with self.engine.begin() as conn:
            conn.execute(insert(t.audit_log), audit_rows(entries, datetime.now(UTC)))

    def audit_entries(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The newest audit-log entries, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(limit)
            ).mappings()
            return [dict(r) for r in rows]

    # ---------------------------------------------------------------- quarantine

    @staticmethod
    def _entry(row: Any) -> QuarantineEntry:
        return QuarantineEntry(
            quarantine_id=row.quarantine_id,
            status=row.status,
            filing_id=row.filing_id,
            source=row.source,
            line=row.line,
            record_no=row.record_no,
            fmt=row.fmt,
            column_map=row.column_map,
            payload=bytes(row.payload),
            problems=tuple(Problem.from_dict(p) for p in json.loads(row.problems)),
            received_at=row.received_at,
            updated_at=row.updated_at,
            attempts=row.attempts,
            resolved_filing_id=row.resolved_filing_id,
            tenant=row.tenant,
        )

    def quarantine_entries(
        self,
        *,
        status: str | None = "open",
        code: str | None = None,
        limit: int = 50,
        offset: int = 0,
        tenant: str | None = None,
    ) -> list[QuarantineEntry]:
        """Quarantine entries, oldest first, optionally by status, problem code and tenant.

        Args:
            status: ``open``, ``resolved``, or ``None`` for both.
            code: Only entries with this problem code.
            limit: Page size.
            offset: Entries skipped.
            tenant: Only the entries of this filer (``None``: every entry).
        """
        q = select(t.quarantine).order_by(t.quarantine.c.received_at, t.quarantine.c.record_no)
        if status is not None:
            q = q.where(t.quarantine.c.status == status)
        if code is not None:
            q = q.where(t.quarantine.c.problem_codes.contains(code))
        if tenant is not None:
            q = q.where(t.quarantine.c.tenant == tenant)
        with self.engine.connect() as conn:
            return [self._entry(r) for r in conn.execute(q.limit(limit).offset(offset))]

    def iter_quarantine(self, *, status: str | None = "open") -> Iterator[QuarantineEntry]:
        """Every quarantine entry with ``status`` (streamed in pages)."""
        offset = 0
        while True:
            page = self.quarantine_entries(status=status, limit=500, offset=offset)
            yield from page
            if len(page) < 500:
                return
            offset += 500

    def quarantine_count(self, *, status: str | None = "open", tenant: str | None = None) -> int:
        """How many quarantine entries have ``status`` (of ``tenant`` only, when given)."""
        q = select(func.count()).select_from(t.quarantine)
        if status is not None:
            q = q.where(t.quarantine.c.status == status)
        if tenant is not None:
            q = q.where(t.quarantine.c.tenant == tenant)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def quarantine_entry(self, quarantine_id: str) -> QuarantineEntry:
        """One quarantine entry.

        Raises:
            QuarantineEntryNotFoundError: No entry has that id.
        """
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.quarantine).where(t.quarantine.c.quarantine_id == quarantine_id)
            ).first()
        if row is None:
            raise QuarantineEntryNotFoundError(f"no quarantine entry {quarantine_id!r}")
        return self._entry(row)

    def resolve_quarantine(self, quarantine_id: str, *, filing_id: str) -> None:
        """Mark an entry resolved by the accepted filing ``filing_id``."""
        with self.engine.begin() as conn:
            conn.execute(
                update(t.quarantine)
                .where(t.quarantine.c.quarantine_id == quarantine_id)
                .values(
                    status="resolved",
                    resolved_filing_id=filing_id,
                    updated_at=datetime.now(UTC),
                    attempts=t.quarantine.c.attempts + 1,
                )
            )

    def retry_failed(self, quarantine_id: str, *, payload: bytes, problems: list[Problem]) -> None:
        """Record a resubmission that was rejected again: new payload and problems."""
        with self.engine.begin() as conn:
            conn.execute(
                update(t.quarantine)
                .where(t.quarantine.c.quarantine_id == quarantine_id)
                .values(
                    payload=payload,
                    problems=json.dumps([p.as_dict() for p in problems]),
                    problem_codes=",".join(sorted({p.code for p in problems})),
                    updated_at=datetime.now(UTC),
                    attempts=t.quarantine.c.attempts + 1,
                )
            )

    # ---------------------------------------------------------------- reads

    def consignment_ids(self, *, limit: int = 100, offset: int = 0) -> list[str]:
        """Consignment ids in acceptance order."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(t.consignments.c.consignment_id)
                    .order_by(t.consignments.c.accepted_at, t.consignments.c.consignment_id)
                    .limit(limit)
                    .offset(offset)
                ).scalars()
            )

    def consignment(self, consignment_id: str) -> dict[str, Any] | None:
        """One consignment with its items, assessment and events, or ``None``."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(t.consignments).where(t.consignments.c.consignment_id == consignment_id)
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            items = conn.execute(
                select(t.goods_items)
                .where(t.goods_items.c.consignment_id == consignment_id)
                .order_by(t.goods_items.c.item_no)
            ).mappings()
            assessment = (
                conn.execute(
                    select(t.assessments).where(t.assessments.c.consignment_id == consignment_id)
                )
                .mappings()
                .first()
            )
            events = conn.execute(
                select(t.lifecycle_events)
                .where(t.lifecycle_events.c.consignment_id == consignment_id)
                .order_by(t.lifecycle_events.c.occurred_at)
            ).mappings()
            return {
                **dict(row),
                "items": [dict(i) for i in items],
                "assessment": dict(assessment) if assessment else None,
                "events": [dict(e) for e in events],
            }

    def filing_consignment_ids(self, filing_id: str) -> list[str]:
        """The consignment ids of an accepted filing, in id order (empty when not on file)."""
        cons = t.consignments
        q = (
            select(cons.c.consignment_id)
            .where(cons.c.filing_id == filing_id)
            .order_by(cons.c.consignment_id)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(q).scalars())

    def configuration_stamp(self) -> tuple[Any, ...]:
        """What clearance configuration is in force, in one query: changes when any part does.

        The active ruleset (id and hash), the newest AEO act and MRA partner ids, and the
        active model and value reference versions. A long-lived decision engine asks for it
        before each group of filings and rebuilds itself only when it changed, so it runs
        its precompiled SQL on a pooled DB-API connection, a fraction of the cost of a Core
        statement (``configuration_stamp_us`` in ``benchmarks/bench_single.py``).
        """
        with KeyReader(self.engine) as reader:
            row = reader.first_row(self._stamp_sql)
        assert row is not None
        return row

    def consignment_outcomes(self, consignment_ids: Sequence[str]) -> dict[str, ConsignmentOutcome]:
        """Where each of ``consignment_ids`` stands (ids not on file are left out)."""
        cons, fil, asm = t.consignments, t.filings, t.assessments
        dec, lc, ev = t.risk_decisions, t.lane_changes, t.lifecycle_events
        rerouted = (
            select(lc.c.to_lane)
            .where(lc.c.consignment_id == cons.c.consignment_id)
            .order_by(lc.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        released = exists().where(
            ev.c.consignment_id == cons.c.consignment_id, ev.c.event_type == "release"
        )
        q = (
            select(
                cons.c.consignment_id,
                cons.c.filing_id,
                fil.c.filer_id,
                cons.c.office_of_arrival,
                func.coalesce(rerouted, dec.c.lane).label("lane"),
                released.label("is_released"),
                cons.c.dq_score,
                cons.c.dq_reasons,
                asm.c.currency,
                asm.c.duty_total,
                asm.c.vat_total,
                asm.c.excise_total,
                asm.c.total_payable,
            )
            .join(fil, fil.c.filing_id == cons.c.filing_id)
            .outerjoin(asm, asm.c.consignment_id == cons.c.consignment_id)
            .outerjoin(dec, dec.c.consignment_id == cons.c.consignment_id)
        )
        wanted = list(dict.fromkeys(consignment_ids))
        out: dict[str, ConsignmentOutcome] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                part = wanted[start : start + _IN_CHUNK]
                for r in conn.execute(q.where(cons.c.consignment_id.in_(part))):
                    out[r.consignment_id] = ConsignmentOutcome(
                        consignment_id=r.consignment_id,
                        filing_id=r.filing_id,
                        filer_id=r.filer_id,
                        office=r.office_of_arrival,
                        lane=r.lane,
                        is_released=bool(r.is_released),
                        dq_score=r.dq_score,
                        dq_reasons=r.dq_reasons,
                        currency=r.currency,
                        duty=r.duty_total,
                        vat=r.vat_total,
                        excise=r.excise_total,
                        total_payable=r.total_payable,
                    )
        return out
