"""Dated exchange-rate tables for converting declared values into a regime's currency.

**Convention.** A table has one *base* currency and each row gives the number of units of a
currency per **one unit of the base** — the quotation of the ECB's euro reference rates and of
the EU customs rates published under Art. 146 of Implementing Regulation (EU) 2015/2447
(``1 EUR = 1.0411 USD`` is ``currency = "USD", rate = 1.0411``). The base itself has rate 1.

Converting an amount ``a`` from currency ``X`` to currency ``R`` on day ``d`` uses, for each of
``X`` and ``R``, the row with the latest ``valid_from`` on or before ``d``::

    a_R = a_X * rate(R, d) / rate(X, d)

computed as one exact fraction (rounded once, where the caller rounds the amount).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import polars as pl

from smartcustoms.errors import MissingExchangeRateError, Problem
from smartcustoms.tariff._files import (
    CODE_INVALID,
    FileReader,
    currency_ok,
    data_path,
    read_text,
)
from smartcustoms.tariff._money import RATE_SCALE, round_half_up

__all__ = [
    "DEFAULT_RATES",
    "ExchangeRate",
    "ExchangeRates",
    "load_exchange_rates",
    "missing_rate_error",
]

DEFAULT_RATES: Final = "ecb-illustrative"
"""Id of the shipped, illustrative rate table."""

_RATE_PLACES: Final = 8
_SCHEMA: Final = pl.Schema(
    [
        ("currency", pl.String()),
        ("rate", pl.Decimal(24, _RATE_PLACES)),
        ("valid_from", pl.Date()),
        ("source", pl.String()),
    ]
)


@dataclass(frozen=True, slots=True)
class ExchangeRate:
    """One row of a rate table.

    Attributes:
        currency: ISO 4217 code.
        rate: Units of ``currency`` per one unit of the table's base.
        valid_from: First day the rate applies.
        source: Where the value comes from.
    """

    currency: str
    rate: Decimal
    valid_from: date
    source: str


@dataclass(frozen=True)
class ExchangeRates:
    """A dated exchange-rate table (see the module docstring for the convention).

    Attributes:
        id: Table id.
        base: The base currency (rate 1).
        frame: One row per rate: ``currency``, ``rate`` (Decimal), ``valid_from`` (Date),
            ``source``; sorted by currency and date.
        description: What the table is and how far it can be trusted.
        origin: The file it was loaded from.
    """

    id: str
    base: str
    frame: pl.DataFrame
    description: str = ""
    origin: str = field(default="")

    @classmethod
    def from_rows(
        cls,
        rows: list[ExchangeRate],
        *,
        base: str,
        id: str = "rates",
        description: str = "",
    ) -> ExchangeRates:
        """Build a table in code (tests, callers with their own rate feed)."""
        frame = pl.DataFrame(
            [
                {
                    "currency": r.currency,
                    "rate": r.rate,
                    "valid_from": r.valid_from,
                    "source": r.source,
                }
                for r in rows
            ],
            schema=_SCHEMA,
        ).sort("currency", "valid_from")
        return cls(id=id, base=base, frame=frame, description=description)

    @cached_property
    def _scaled(self) -> pl.DataFrame:
        """``_cur``, ``_valid_from``, ``_rate`` (Int128, x10^8) including the base at 1."""
        rows = self.frame.select(
            pl.col("currency").alias("_cur"),
            pl.col("valid_from").alias("_valid_from"),
            pl.col("rate")
            .cast(pl.Decimal(38, _RATE_PLACES))
            .to_physical()
            .cast(pl.Int128)
            .alias("_rate"),
        ).filter(pl.col("_cur") != self.base)
        base = pl.DataFrame(
            {"_cur": [self.base], "_valid_from": [date.min], "_rate": [RATE_SCALE]},
            schema={"_cur": pl.String, "_valid_from": pl.Date, "_rate": pl.Int128},
        )
        return pl.concat([base, rows]).sort("_valid_from")

    def currencies(self) -> list[str]:
        """Every currency the table can convert, base included, sorted."""
        return sorted({self.base, *self.frame["currency"].to_list()})

    def rate(self, currency: str, on: date) -> ExchangeRate:
        """The row for ``currency`` in force on ``on`` (the base has rate 1).

        Raises:
            MissingExchangeRateError: When no row for ``currency`` starts on or before ``on``.
        """
        if currency == self.base:
            return ExchangeRate(currency, Decimal(1), date.min, f"{self.id}: base currency")
        rows = self.frame.filter(
            (pl.col("currency") == currency) & (pl.col("valid_from") <= on)
        ).sort("valid_from")
        if rows.is_empty():
            raise missing_rate_error(self.id, [(currency, on)])
        row = rows.row(-1, named=True)
        return ExchangeRate(currency, Decimal(row["rate"]), row["valid_from"], row["source"])

    def convert(self, amount: Decimal, from_currency: str, to_currency: str, on: date) -> Decimal:
        """Convert a scalar amount, rounded half-up to 4 decimal places (the MONEY scale)."""
        if from_currency == to_currency:
            return amount
        numerator = self.rate(to_currency, on).rate
        denominator = self.rate(from_currency, on).rate
        return round_half_up(amount * numerator / denominator, 4)

    def factors(self, keys: pl.DataFrame, currency: str, on: str, to: str) -> pl.DataFrame:
        """Conversion fractions from each ``(currency, on)`` row of ``keys`` into ``to``.

        Args:
            keys: Frame with a currency column and a Date column.
            currency: Name of the currency column.
            on: Name of the date column.
            to: Target currency.

        Returns:
            The distinct ``(currency, on)`` pairs with ``_num`` and ``_den`` (Int128; amount in
            ``to`` = amount x ``_num`` / ``_den``), ``_rate_date`` (the latest ``valid_from``
            used, null when no conversion was needed), ``_from_missing`` and ``_to_missing``
            (no rate for the source or target currency on that day).
        """
        pairs = (
            keys.select(pl.col(currency).alias("_cur"), pl.col(on).cast(pl.Date).alias("_on"))
            .unique()
            .sort("_on")
        )
        table = self._scaled
        source = pairs.join_asof(
            table,
            left_on="_on",
            right_on="_valid_from",
            by="_cur",
            strategy="backward",
            check_sortedness=False,  # both sides are sorted by date just above
        ).rename({"_rate": "_from_rate", "_valid_from": "_from_date"})
        target_table = table.filter(pl.col("_cur") == to).drop("_cur")
        days = pairs.select("_on").unique().sort("_on")
        target = days.join_asof(
            target_table, left_on="_on", right_on="_valid_from", strategy="backward"
        ).rename({"_rate": "_to_rate", "_valid_from": "_to_date"})
        one = pl.lit(1, dtype=pl.Int128)
        same = pl.col("_cur") == to
        dated = [
            pl.when(pl.col("_cur") != self.base).then(pl.col("_from_date")),
            pl.when(pl.lit(to != self.base)).then(pl.col("_to_date")),
        ]
        return (
            source.join(target, on="_on", how="left")
            .with_columns(
                _num=pl.when(same).then(one).otherwise(pl.col("_to_rate")),
                _den=pl.when(same).then(one).otherwise(pl.col("_from_rate")),
                _rate_date=pl.when(same)
                .then(pl.lit(None, dtype=pl.Date))
                .otherwise(pl.max_horizontal(dated)),
                _from_missing=~same & pl.col("_from_rate").is_null(),
                _to_missing=~same & pl.col("_to_rate").is_null(),
            )
            .select(
                pl.col("_cur").alias(currency),
                pl.col("_on").alias(on),
                "_num",
                "_den",
                "_rate_date",
                "_from_missing",
                "_to_missing",
            )
        )


def missing_rate_error(table_id: str, pairs: list[tuple[str, date]]) -> MissingExchangeRateError:
    """The error for every ``(currency, day)`` pair without a rate, sorted, one problem each."""
    ordered = sorted(set(pairs))
    problems = [
        Problem(
            code=MissingExchangeRateError.code,
            path=f"{cur}@{day.isoformat()}",
            message=f"no {cur} rate in table {table_id!r} valid on or before {day.isoformat()}",
        )
        for cur, day in ordered
    ]
    shown = ", ".join(f"{cur} on {day.isoformat()}" for cur, day in ordered[:5])
    more = f" and {len(ordered) - 5} more" if len(ordered) > 5 else ""
    return MissingExchangeRateError(
        f"no exchange rate for {len(ordered)} (currency, date) pair"
        f"{'s' if len(ordered) != 1 else ''}: {shown}{more}",
        tuple(problems),
    )


def load_exchange_rates(
    path: str | Path | None = None, *, base: str | None = None
) -> ExchangeRates:
    """Load a rate table: the shipped illustrative one when ``path`` is None.

    TOML files carry their base currency; CSV files (columns ``currency``, ``rate``,
    ``valid_from``, ``source`` and optionally ``base``) take it from a ``base`` column or the
    ``base`` argument.

    Raises:
        InvalidTariffFileError: Listing every problem with ``file:LINE``.
    """
    if path is None:
        return _load_toml(
            data_path("exchange-rates", f"{DEFAULT_RATES}.toml"), f"{DEFAULT_RATES}.toml"
        )
    candidate = Path(path)
    if candidate.suffix.lower() == ".csv":
        return _load_csv(candidate, str(path), base)
    return _load_toml(candidate, str(path))


_TOML_KEYS: Final = frozenset({"id", "base", "description", "source", "notes", "tables", "rates"})
_TABLE_KEYS: Final = frozenset({"valid_from", "source", "rates"})
_ROW_KEYS: Final = frozenset({"currency", "rate", "valid_from", "source"})


def _load_toml(path: Path, label: str) -> ExchangeRates:
    reader, data = FileReader.parse_toml(path, label)
    reader.check_keys(data, _TOML_KEYS)
    table_id = reader.text(data, "id", required=True) or ""
    base = reader.text(data, "base", required=True)
    if base is not None and not currency_ok(base):
        reader.add(CODE_INVALID, reader.where(key="base"), f"not an ISO 4217 code: {base}")
    rows: list[tuple[int, ExchangeRate]] = []
    for index, table in enumerate(_tables(reader, data, "tables")):
        reader.check_keys(table, _TABLE_KEYS, "tables", index)
        day = reader.day(table, "valid_from", table="tables", index=index, required=True)
        source = reader.text(table, "source", table="tables", index=index, required=True) or ""
        values = table.get("rates", {})
        line = reader.where("tables", index, "rates")
        if not isinstance(values, dict):
            reader.add(CODE_INVALID, line, "rates must be a table of CODE = rate")
            continue
        for code, raw in values.items():
            rate = _rate(reader, raw, code, line)
            if day is not None and rate is not None:
                rows.append((line, ExchangeRate(code, rate, day, source)))
    for index, row in enumerate(_tables(reader, data, "rates")):
        reader.check_keys(row, _ROW_KEYS, "rates", index)
        code = reader.text(row, "currency", table="rates", index=index, required=True)
        line = reader.where("rates", index, "rate")
        rate = None
        if "rate" in row:
            rate = _rate(reader, row["rate"], code or "rate", line)
        else:
            reader.add("tariff.missing_key", reader.where("rates", index), "rate is required")
        day = reader.day(row, "valid_from", table="rates", index=index, required=True)
        source = reader.text(row, "source", table="rates", index=index, required=True) or ""
        if code is not None and rate is not None and day is not None:
            rows.append((line, ExchangeRate(code, rate, day, source)))
    return _finish(reader, rows, table_id, base, reader.text(data, "description") or "")


def _tables(reader: FileReader, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    raw = data.get(key, [])
    if isinstance(raw, list) and all(isinstance(x, dict) for x in raw):
        return raw
    reader.add(CODE_INVALID, reader.where(key=key), f"{key} must be [[{key}]] tables")
    return []


def _rate(reader: FileReader, raw: Any, code: str, line: int) -> Decimal | None:
    if not currency_ok(code):
        reader.add(CODE_INVALID, line, f"not an ISO 4217 currency code: {code!r}")
        return None
    value = reader.to_decimal(raw, f"rate of {code}", line, places=_RATE_PLACES)
    if value is not None and value == 0:
        reader.add(CODE_INVALID, line, f"rate of {code} must be positive")
        return None
    return value


def _load_csv(path: Path, label: str, base: str | None) -> ExchangeRates:
    reader = FileReader(label)
    try:
        text = read_text(path)
    except OSError as exc:
        reader.add(CODE_INVALID, 1, f"cannot read the file: {exc}")
        reader.raise_if_any("exchange-rate table")
        raise  # pragma: no cover - raise_if_any always raises here
    records = list(csv.DictReader(text.splitlines()))
    header = set(records[0].keys()) if records else set()
    for needed in ("currency", "rate", "valid_from", "source"):
        if needed not in header:
            reader.add("tariff.missing_key", 1, f"column {needed!r} is required")
    bases = {r["base"].strip() for r in records if r.get("base")}
    if len(bases) > 1:
        reader.add(CODE_INVALID, 1, f"one base currency per table, found {sorted(bases)}")
    table_base = next(iter(bases)) if len(bases) == 1 else base
    if table_base is None:
        reader.add(
            "tariff.missing_key", 1, "the base currency is unknown: add a base column or pass base="
        )
    rows: list[tuple[int, ExchangeRate]] = []
    if not reader.problems:
        for index, record in enumerate(records):
            line = index + 2
            code = (record.get("currency") or "").strip()
            rate = _rate(reader, record.get("rate") or "", code, line)
            day = reader.to_date(record.get("valid_from") or "", "valid_from", line)
            source = (record.get("source") or "").strip()
            if not source:
                reader.add("tariff.missing_key", line, "source is required")
            if rate is not None and day is not None and source:
                rows.append((line, ExchangeRate(code, rate, day, source)))
    return _finish(reader, rows, path.stem, table_base, "")


def _finish(
    reader: FileReader,
    rows: list[tuple[int, ExchangeRate]],
    table_id: str,
    base: str | None,
    description: str,
) -> ExchangeRates:
    seen: dict[tuple[str, date], int] = {}
    for line, row in rows:
        key = (row.currency, row.valid_from)
        if key in seen:
            reader.add(
                CODE_INVALID,
                line,
                f"{row.currency} already has a rate from {row.valid_from}"
                f" at {reader.at(seen[key])}",
            )
        seen[key] = line
        if row.currency == base and row.rate != 1:
            reader.add(CODE_INVALID, line, f"the base currency {base} must have rate 1")
    reader.raise_if_any("exchange-rate table")
    assert base is not None
    table = ExchangeRates.from_rows(
        [row for _, row in rows], base=base, id=table_id, description=description
    )
    return ExchangeRates(
        id=table.id,
        base=table.base,
        frame=table.frame,
        description=description,
        origin=reader.label,
    )
