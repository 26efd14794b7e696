"""Bulk writes: whole Polars frames into SQLite or PostgreSQL, one transaction per chunk.

SQLAlchemy owns the schema and every ordinary query; the bulk path of ``clear`` writes
frames with the fastest safe method of each database:

* **PostgreSQL** - Arrow Database Connectivity (ADBC), which streams Arrow columns with
  ``COPY``.
* **SQLite** - ``executemany`` on the standard library driver, through the SQLAlchemy
  engine's own connection. ADBC's SQLite driver is about twice as fast but bundles its own
  copy of the SQLite library, and two copies of SQLite in one process break each other's
  POSIX locks: we reproduced "database disk image is malformed" with it. One library per
  process, always.

Each :class:`BulkWriter` is one transaction: a chunk is written whole or not at all, so a
process that dies mid-run loses nothing that was reported stored, and a re-run turns the
filings already stored into idempotent no-ops.

**Writers queue on a lock file (SQLite).** SQLite lets one writer in at a time; a writer
that finds the database locked sleeps in SQLite's busy handler (1, 2, 5, 10 ... 100 ms) and
tries again, so under steady contention, between the processes of ``smartcustoms serve
--workers N`` say, waits would be rounded up to those sleeps. A :class:`BulkWriter` on a
SQLite file first takes an exclusive ``flock`` on ``<database>-writers`` beside it, which
wakes the next writer as soon as the previous one lets go; the lock goes with the process
if it dies.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from types import TracebackType
from typing import Any, Final, Self

import orjson
import polars as pl
from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

from smartcustoms.errors import StoreError
from smartcustoms.model.columns import MONEY
from smartcustoms.store.types import SQLITE_DATETIME_FORMAT

__all__ = ["BulkWriter", "KeyReader", "adbc_connect", "writers_lock_path"]


def adbc_connect(url: str | URL) -> Any:
    """Open an ADBC DB-API connection to the PostgreSQL database of a SQLAlchemy URL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise StoreError(f"ADBC is used for PostgreSQL only, not {parsed.get_backend_name()!r}")
    import adbc_driver_postgresql.dbapi as pg_dbapi

    uri = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return pg_dbapi.connect(uri)


def _match_postgres_types(frame: pl.DataFrame, table: str | None) -> pl.DataFrame:
    """Binary ``COPY`` wants exact types: cast to the table's column types."""
    from sqlalchemy import BigInteger, Boolean, Float, Integer, SmallInteger

    from smartcustoms.store.tables import metadata
    from smartcustoms.store.types import Money, UTCDateTime

    sql_table = metadata.tables.get(table or "")
    if sql_table is None:
        return frame
    casts: list[pl.Expr] = []
    for name in frame.columns:
        column = sql_table.columns.get(name)
        if column is None:
            continue
        kind = column.type
        target: pl.DataType
        if isinstance(kind, Money):
            target = MONEY
        elif isinstance(kind, UTCDateTime):
            target = pl.Datetime("us", "UTC")
        elif isinstance(kind, BigInteger):
            target = pl.Int64()
        elif isinstance(kind, SmallInteger):
            target = pl.Int16()
        elif isinstance(kind, Integer):
            target = pl.Int32()
        elif isinstance(kind, Float):
            target = pl.Float64()
        elif isinstance(kind, Boolean):
            target = pl.Boolean()
        else:
            continue
        if frame.schema[name] != target:
            casts.append(pl.col(name).cast(target))
    return frame.with_columns(casts) if casts else frame


_AS_IS: Final = frozenset({str, int, float, type(None), bytes})


def _sqlite_value(value: Any) -> Any:
    """One Python value as :meth:`BulkWriter._prepare` stores its column on SQLite."""
    if type(value) in _AS_IS:  # most values: one set look-up
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return _sqlite_datetime(value)
    return value


@lru_cache(maxsize=256)
def _sqlite_datetime(value: datetime) -> str:
    # Polars renders %f as nanoseconds: nine digits. Cached: a group's rows share a few
    # times (its receipt time above all).
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond:06d}000"


def _table_schema(table: str, columns: Sequence[str]) -> dict[str, pl.DataType]:
    """Polars dtypes of ``columns`` of ``table``, as the batch frames carry them."""
    from sqlalchemy import BigInteger, Boolean, Date, Float, Integer, SmallInteger

    from smartcustoms.store.tables import metadata
    from smartcustoms.store.types import Money, UTCDateTime

    sql_table = metadata.tables[table]
    schema: dict[str, pl.DataType] = {}
    for name in columns:
        kind = sql_table.columns[name].type
        if isinstance(kind, Money):
            schema[name] = MONEY
        elif isinstance(kind, UTCDateTime):
            schema[name] = pl.Datetime("us", "UTC")
        elif isinstance(kind, Boolean):
            schema[name] = pl.Boolean()
        elif isinstance(kind, Integer | BigInteger | SmallInteger):
            schema[name] = pl.Int64()
        elif isinstance(kind, Float):
            schema[name] = pl.Float64()
        elif isinstance(kind, Date):
            schema[name] = pl.Date()
        else:
            schema[name] = pl.String()
    return schema


def _rows_frame(table: str, rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """``rows`` as a frame typed like ``table``'s columns (for the PostgreSQL path)."""
    columns = list(rows[0])
    return pl.DataFrame(
        [[row[c] for c in columns] for row in rows],
        schema=_table_schema(table, columns),
        orient="row",
    )


def writers_lock_path(url: str | URL) -> str | None:
    """The lock file writers of a SQLite file queue on (``None``: not a SQLite file)."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return f"{url.database}-writers"


def _existing(cur: Any, mark: str, table: str, key: str, values: Sequence[str]) -> set[str]:
    """Which of a few ``values`` of ``key`` are in ``table``, on a DB-API cursor."""
    if not values:
        return set()
    marks = ", ".join([mark] * len(values))
    cur.execute(f"SELECT {key} FROM {table} WHERE {key} IN ({marks})", tuple(values))
    return {str(r[0]) for r in cur.fetchall()}


class KeyReader:
    """Look keys up outside any write transaction (use with ``with``).

    What it sees may change before a write begins: a caller that acts on it checks again
    inside the :class:`BulkWriter` (:meth:`BulkWriter.existing`).

    Args:
        engine: The store's engine.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._conn: Any = None
        self._cur: Any = None

    def __enter__(self) -> Self:
        self._conn = self._engine.raw_connection()
        self._cur = self._conn.cursor()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._conn.rollback()  # read only: end the read transaction the driver opened
        finally:
            self._cur.close()
            self._conn.close()

    def existing(self, table: str, key: str, values: Sequence[str]) -> set[str]:
        """Which of a few ``values`` of ``key`` are in ``table`` now."""
        return _existing(self._cur, self._mark, table, key, values)

    def first_row(self, sql: str) -> tuple[Any, ...] | None:
        """The first row of a query that takes no values (``None``: no row)."""
        self._cur.execute(sql)
        row = self._cur.fetchone()
        return None if row is None else tuple(row)

    def on_file(
        self, filing_ids: Sequence[str], consignment_ids: Sequence[str]
    ) -> tuple[set[str], set[str]]:
        """Which of these filings and which of these consignments are on file now.

        One query for a whole group of filings: ``(filing ids, consignment ids)`` found.
        """
        if not filing_ids and not consignment_ids:
            return set(), set()
        parts: list[str] = []
        values: list[str] = []
        if filing_ids:
            marks = ", ".join([self._mark] * len(filing_ids))
            parts.append(f"SELECT 'f', filing_id FROM filings WHERE filing_id IN ({marks})")
            values += filing_ids
        if consignment_ids:
            marks = ", ".join([self._mark] * len(consignment_ids))
            parts.append(
                f"SELECT 'c', consignment_id FROM consignments WHERE consignment_id IN ({marks})"
            )
            values += consignment_ids
        self._cur.execute(" UNION ALL ".join(parts), tuple(values))
        filings: set[str] = set()
        consignments: set[str] = set()
        for kind, key in self._cur.fetchall():
            (filings if kind == "f" else consignments).add(str(key))
        return filings, consignments


class BulkWriter:
    """One bulk transaction: look keys up, insert frames, upsert small tables.

    Use as a context manager; the transaction commits when the block exits normally and rolls
    back on an exception.

    Args:
        engine: The store's engine (its URL picks the method).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._url = make_url(engine.url)
        self._dialect = self._url.get_backend_name()
        self._conn: Any = None
        self._cur: Any = None
        self._lock_path = writers_lock_path(self._url)
        self._lock: int | None = None

    def __enter__(self) -> Self:
        if self._dialect == "sqlite":
            if self._lock_path is not None:
                self._lock = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(self._lock, fcntl.LOCK_EX)  # waits without the GIL
                except BaseException:
                    os.close(self._lock)
                    self._lock = None
                    raise
            try:
                self._conn = self._engine.raw_connection()
                self._cur = self._conn.cursor()
                # IMMEDIATE: take the write lock now, so the look-ups below see what we then write
                self._cur.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._release()
                raise
            return self
        if self._dialect == "postgresql":
            self._conn = adbc_connect(self._url)
            self._cur = self._conn.cursor()
            return self
        raise StoreError(f"no bulk path for {self._dialect!r} databases")

    def _release(self) -> None:
        """Close the connection (if open) and leave the writers' queue."""
        try:
            if self._cur is not None:
                self._cur.close()
            if self._conn is not None:
                self._conn.close()
        finally:
            self._cur = self._conn = None
            if self._lock is not None:
                os.close(self._lock)  # closing the descriptor releases the flock
                self._lock = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self._conn.commit()
            else:
                self._conn.rollback()
        finally:
            self._release()

    # ------------------------------------------------------------------ internals

    def _prepare(self, frame: pl.DataFrame, table: str | None = None) -> pl.DataFrame:
        """Cast columns to what the driver stores (see :mod:`.types`)."""
        if self._dialect != "sqlite":
            return _match_postgres_types(frame, table)
        casts = []
        for name, dtype in frame.schema.items():
            if dtype == MONEY or isinstance(dtype, pl.Decimal):
                casts.append(pl.col(name).cast(pl.String))
            elif isinstance(dtype, pl.Datetime):
                casts.append(
                    pl.col(name).dt.convert_time_zone("UTC").dt.to_string(SQLITE_DATETIME_FORMAT)
                )
            elif dtype == pl.Boolean:
                casts.append(pl.col(name).cast(pl.Int64))
        return frame.with_columns(casts) if casts else frame

    def _sqlite_insert(self, table: str, frame: pl.DataFrame, suffix: str = "") -> None:
        prepared = self._prepare(frame)
        cols = ", ".join(f'"{c}"' for c in prepared.columns)
        marks = ", ".join("?" * prepared.width)
        rows = zip(*(prepared.get_column(c).to_list() for c in prepared.columns), strict=True)
        self._cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks}) {suffix}", rows)

    def _keys_table(self, frame: pl.DataFrame) -> str:
        """Load ``frame`` into a temporary table private to this connection."""
        if self._dialect == "sqlite":
            self._cur.execute("DROP TABLE IF EXISTS temp._sc_keys")
            cols = ", ".join(f'"{c}"' for c in frame.columns)
            self._cur.execute(f"CREATE TEMP TABLE _sc_keys ({cols})")
            self._sqlite_insert("temp._sc_keys", frame)
            return "temp._sc_keys"
        self._cur.adbc_ingest(
            "_sc_keys", self._prepare(frame).to_arrow(), mode="replace", temporary=True
        )
        return "_sc_keys"

    # ------------------------------------------------------------------ API

    def insert(self, table: str, frame: pl.DataFrame) -> int:
        """Append ``frame`` (columns named as the table's) to ``table``; return rows written."""
        if frame.is_empty():
            return 0
        if self._dialect == "sqlite":
            self._sqlite_insert(table, frame)
        else:
            self._cur.adbc_ingest(table, self._prepare(frame, table).to_arrow(), mode="append")
        return frame.height

    def insert_rows(self, table: str, rows: Sequence[Mapping[str, Any]], suffix: str = "") -> int:
        """Append ``rows`` (dicts with the same keys, Python values) to ``table``.

        The row-wise twin of :meth:`insert` for a few rows, with no frame to build: values are
        stored exactly as :meth:`insert` stores the same values in a frame (``Decimal`` as
        fixed-point text and datetimes as UTC text on SQLite). ``suffix`` (SQLite only) ends
        the statement, e.g. an ``ON CONFLICT`` clause.
        """
        if not rows:
            return 0
        columns = list(rows[0])
        if self._dialect == "sqlite":
            cols = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" * len(columns))
            self._cur.executemany(
                f"INSERT INTO {table} ({cols}) VALUES ({marks}) {suffix}",
                [tuple([_sqlite_value(row[c]) for c in columns]) for row in rows],
            )
            return len(rows)
        return self.insert(table, _rows_frame(table, rows))

    def upsert_rows(
        self, table: str, rows: Sequence[Mapping[str, Any]], keys: list[str], update: list[str]
    ) -> None:
        """:meth:`upsert` for rows given as dicts (keys unique within ``rows``)."""
        if not rows:
            return
        if self._dialect == "sqlite":
            sets = ", ".join(f"{c} = excluded.{c}" for c in update)
            self.insert_rows(table, rows, f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}")
            return
        self.upsert(table, _rows_frame(table, rows), keys, update)

    def query(self, sql: str) -> pl.DataFrame:
        """Run a query inside the transaction and return the result as a frame (all text)."""
        self._cur.execute(sql)
        if self._dialect == "sqlite":
            names = [d[0] for d in self._cur.description]
            rows = self._cur.fetchall()
            return pl.DataFrame(
                {
                    n: [None if r[i] is None else str(r[i]) for r in rows]
                    for i, n in enumerate(names)
                },
                schema={n: pl.String() for n in names},
            )
        result = pl.from_arrow(self._cur.fetch_arrow_table())
        assert isinstance(result, pl.DataFrame)
        return result.cast({c: pl.String() for c in result.columns})

    def existing(self, table: str, key: str, values: Sequence[str]) -> set[str]:
        """Which of a few ``values`` of ``key`` are in ``table`` (seen by this transaction)."""
        if not values:
            return set()
        if self._dialect == "sqlite":
            return _existing(self._cur, "?", table, key, values)
        found = self.lookup(table, key, pl.Series(list(values), dtype=pl.String), [])
        return set(found[key].to_list())

    def lookup(self, table: str, key: str, keys: pl.Series, columns: list[str]) -> pl.DataFrame:
        """Rows of ``table`` whose ``key`` is in ``keys``, with ``columns`` (key first)."""
        wanted = keys.drop_nulls().unique()
        schema = {key: pl.String(), **{c: pl.String() for c in columns}}
        if wanted.is_empty():
            return pl.DataFrame(schema=schema)
        cols = ", ".join(f"t.{c}" for c in [key, *columns])
        if self._dialect == "sqlite":
            # one parameter, parsed in C: much cheaper than filling a temporary table
            self._cur.execute(
                f"SELECT {cols} FROM json_each(?) k JOIN {table} t ON t.{key} = k.value",
                (orjson.dumps(wanted.cast(pl.String).to_list()).decode(),),
            )
            rows = self._cur.fetchall()
            out = pl.DataFrame(
                {n: [r[i] for r in rows] for i, n in enumerate([key, *columns])},
                schema=schema,
            )
        else:
            tmp = self._keys_table(pl.DataFrame({"k": wanted.cast(pl.String)}))
            out = self.query(f"SELECT {cols} FROM {table} t JOIN {tmp} k ON k.k = t.{key}")
        return out if out.height else pl.DataFrame(schema=schema)

    def upsert(
        self,
        table: str,
        frame: pl.DataFrame,
        keys: list[str],
        update: list[str],
        *,
        increment: list[str] | None = None,
    ) -> None:
        """Insert ``frame`` into ``table``; on a key clash update ``update`` columns.

        Args:
            table: Target table.
            frame: Rows (keys must be unique within the frame).
            keys: The conflict target (primary key columns).
            update: Columns overwritten with the new row's values on a clash.
            increment: Counter columns increased by one on a clash.
        """
        if frame.is_empty():
            return
        sets = [f"{c} = excluded.{c}" for c in update]
        sets += [f"{c} = {table}.{c} + 1" for c in increment or []]
        action = "DO UPDATE SET " + ", ".join(sets) if sets else "DO NOTHING"
        cols = ", ".join(frame.columns)
        if self._dialect == "sqlite":
            self._sqlite_insert(table, frame, f"ON CONFLICT ({', '.join(keys)}) {action}")
            return
        tmp = self._keys_table(frame)
        self._cur.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {tmp} "
            f"ON CONFLICT ({', '.join(keys)}) {action}"
        )
