"""Fixtures for the tariff tests: canonical frames, a small schedule and exact exchange rates."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from smartcustoms.model import CONSIGNMENT_SCHEMA, ITEM_SCHEMA
from smartcustoms.tariff import (
    Assessment,
    ExchangeRate,
    ExchangeRates,
    TariffSchedule,
    assess,
    load_regime,
    load_schedule,
)

# Rates chosen so conversions are exact: 1 USD = 0.8 EUR, 1 EUR = 0.8 GBP, 1 USD = 0.64 GBP.
# From 2026-07-15, 1 EUR = 1.6 USD (1 USD = 0.625 EUR).
RATE_ROWS = [
    ExchangeRate("USD", Decimal("1.25"), date(2020, 1, 1), "test"),
    ExchangeRate("USD", Decimal("1.6"), date(2026, 7, 15), "test, second rate"),
    ExchangeRate("GBP", Decimal("0.8"), date(2020, 1, 1), "test"),
    ExchangeRate("CNY", Decimal("8"), date(2020, 1, 1), "test"),
]

SCHEDULE_TOML = """\
id = "test"
version = "1"
currency = "EUR"
effective_from = 2020-01-01
legal_basis = "test schedule"

[[lines]]
hs_prefix = "61"
description = "knitted apparel"
ad_valorem_pct = "12"

[[lines]]
hs_prefix = "6109"
description = "T-shirts"
ad_valorem_pct = "10"

[[lines]]
hs_prefix = "610910"
description = "cotton T-shirts, from August 2026"
ad_valorem_pct = "8"
effective_from = 2026-08-01

[[lines]]
hs_prefix = "0406"
description = "cheese"
specific_per_kg = "2.5"

[[lines]]
hs_prefix = "2204"
description = "wine"
specific_per_unit = "0.5"
unit = "LTR"

[[lines]]
hs_prefix = "2208"
description = "spirits"
excise_per_unit = "2"
excise_unit = "LTR"

[[lines]]
hs_prefix = "240220"
description = "cigarettes"
ad_valorem_pct = "50"
excise_pct = "10"
excise_per_unit = "0.1"
excise_unit = "H87"

[[lines]]
hs_prefix = "4901"
description = "books, reduced VAT set by the schedule"
vat_pct = "5.5"

[[lines]]
hs_prefix = "9503"
description = "toys"
ad_valorem_pct = "0"
"""

DAY = datetime(2026, 7, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def schedule(tmp_path_factory: pytest.TempPathFactory) -> TariffSchedule:
    path = tmp_path_factory.mktemp("schedule") / "test.toml"
    path.write_text(SCHEDULE_TOML, encoding="utf-8")
    return load_schedule(path)


@pytest.fixture(scope="session")
def rates() -> ExchangeRates:
    return ExchangeRates.from_rows(RATE_ROWS, base="EUR", id="test-rates")


def make_consignments(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """A canonical consignments frame; unspecified columns are null, a few get defaults."""
    defaults: dict[str, Any] = {
        "filing_id": "F1",
        "filed_at": DAY,
        "currency": "EUR",
        "total_value": Decimal("0"),
        "country_of_destination": "DE",
    }
    full = [
        {name: {**defaults, **row}.get(name) for name in CONSIGNMENT_SCHEMA.names()} for row in rows
    ]
    return pl.DataFrame(full, schema=CONSIGNMENT_SCHEMA)


def make_items(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """A canonical items frame; ``item_no`` defaults to the position within the consignment."""
    counters: dict[str, int] = {}
    full = []
    for row in rows:
        cid = str(row.get("consignment_id", "C1"))
        counters[cid] = counters.get(cid, 0) + 1
        defaults: dict[str, Any] = {
            "consignment_id": cid,
            "item_no": counters[cid],
            "description": "goods",
            "origin_country": "CN",
        }
        merged = {**defaults, **row}
        if isinstance(merged.get("value"), str | int):
            merged["value"] = Decimal(str(merged["value"]))
        full.append({name: merged.get(name) for name in ITEM_SCHEMA.names()})
    return pl.DataFrame(full, schema=ITEM_SCHEMA)


AssessFn = Callable[..., Assessment]


@pytest.fixture
def run(schedule: TariffSchedule, rates: ExchangeRates) -> AssessFn:
    """Assess consignment/item rows under a regime id with the test schedule and rates."""

    def _run(
        regime: str,
        consignments: Sequence[Mapping[str, Any]],
        items: Sequence[Mapping[str, Any]],
        **kwargs: Any,
    ) -> Assessment:
        cons = make_consignments(
            [
                {
                    **row,
                    **{
                        k: Decimal(str(v))
                        for k, v in row.items()
                        if k in ("transport_cost", "insurance_cost", "total_value")
                        and isinstance(v, str | int)
                    },
                }
                for row in consignments
            ]
        )
        return assess(
            cons,
            make_items(items),
            regime=load_regime(regime),
            schedule=kwargs.pop("schedule", schedule),
            rates=kwargs.pop("rates", rates),
            **kwargs,
        )

    return _run


@pytest.fixture
def shipped_schedule() -> TariffSchedule:
    return load_schedule()
