"""The store: migrations in step with the tables, exact money, aware datetimes, both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import polars as pl
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from smartcustoms.errors import SchemaVersionError
from smartcustoms.store import Store
from smartcustoms.store import tables as t


def test_migrations_match_the_table_definitions(database_url: str) -> None:
    store = Store(database_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
    assert diff == []
    store.dispose()


def test_schema_version_is_checked(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/v.db"
    with pytest.raises(SchemaVersionError):
        Store(url, migrate=False)
    Store(url).dispose()
    Store(url, migrate=False).dispose()


def test_money_is_exact_and_times_are_aware(database_url: str) -> None:
    store = Store(database_url)
    at = datetime(2026, 11, 22, 10, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    big = Decimal("12345678901234.5678")
    frame = pl.DataFrame(
        {
            "consignment_id": ["C1", "C2"],
            "regime_id": ["r", "r"],
            "currency": ["EUR", "EUR"],
            "details": ["{}", "{}"],
            "duty_total": [Decimal("0.1"), big],
            "vat_total": [Decimal("0.2"), Decimal("0")],
            "excise_total": [Decimal("0"), Decimal("0")],
            "total_payable": [Decimal("0.3"), big],
            "assessed_at": [at, at],
        },
        schema_overrides={
            "duty_total": pl.Decimal(18, 4),
            "vat_total": pl.Decimal(18, 4),
            "excise_total": pl.Decimal(18, 4),
            "total_payable": pl.Decimal(18, 4),
            "assessed_at": pl.Datetime("us", "UTC"),
        },
    )
    with store.writer() as w:
        w.insert("assessments", frame)
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.assessments).order_by(t.assessments.c.consignment_id)).all()
    assert rows[0].duty_total + rows[0].vat_total == Decimal("0.3")
    assert rows[1].duty_total == big
    assert rows[0].assessed_at == at.astimezone(UTC)
    assert rows[0].assessed_at.tzinfo is not None
    store.dispose()


def test_writer_rolls_back_on_error(database_url: str) -> None:
    store = Store(database_url)
    frame = pl.DataFrame(
        {
            "party_id": ["P1"],
            "role": ["seller"],
            "name": ["x"],
            "country": ["CN"],
            "first_seen_at": [datetime(2026, 1, 1, tzinfo=UTC)],
            "last_seen_at": [datetime(2026, 1, 1, tzinfo=UTC)],
        }
    )

    def fail_midway() -> None:
        with store.writer() as w:
            w.insert("parties", frame)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_midway()
    assert store.counts()["parties"] == 0
    with store.writer() as w:
        w.upsert("parties", frame, ["party_id", "role"], ["name"])
        w.upsert(
            "parties", frame.with_columns(pl.lit("y").alias("name")), ["party_id", "role"], ["name"]
        )
    with store.engine.connect() as conn:
        assert conn.execute(select(t.parties.c.name)).scalar_one() == "y"
    store.dispose()


def test_lookup_finds_only_existing_keys(database_url: str) -> None:
    store = Store(database_url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    parties = pl.DataFrame(
        {
            "party_id": ["A", "B"],
            "role": ["seller", "seller"],
            "name": ["a", "b"],
            "country": ["CN", "CN"],
            "first_seen_at": [now, now],
            "last_seen_at": [now, now],
        }
    )
    with store.writer() as w:
        w.insert("parties", parties)
        found = w.lookup("parties", "party_id", pl.Series(["B", "Z", None, "B"]), ["name"])
    assert found.rows() == [("B", "b")]
    store.dispose()
