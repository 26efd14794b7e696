"""Column types that behave the same on SQLite and PostgreSQL.

* :class:`Money` - exact decimal amounts: ``NUMERIC(18, 4)`` on PostgreSQL, canonical text on
  SQLite (whose ``NUMERIC`` affinity would turn them into binary floats).
* :class:`UTCDateTime` - timezone-aware UTC datetimes: ``TIMESTAMPTZ`` on PostgreSQL, naive
  UTC text on SQLite, always handed back aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String, TypeDecorator
from sqlalchemy.types import TypeEngine

__all__ = ["SQLITE_DATETIME_FORMAT", "Money", "UTCDateTime"]

SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
"""How datetimes are written on SQLite (the format SQLAlchemy itself uses there)."""


class Money(TypeDecorator[Decimal]):
    """An exact amount with four decimals."""

    impl = Numeric(18, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Text on SQLite, ``NUMERIC(18, 4)`` elsewhere."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(24))
        return dialect.type_descriptor(Numeric(18, 4, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Quantise to four decimals; text on SQLite."""
        if value is None:
            return None
        amount = Decimal(value).quantize(Decimal("0.0001"))
        return format(amount, "f") if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Always a :class:`~decimal.Decimal`."""
        return None if value is None else Decimal(str(value))


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, stored as UTC and returned timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Refuse naive datetimes; convert aware ones to UTC."""
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Always aware UTC."""
        if value is None:
            return None
        moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
