"""Invariants of ``assess`` over random batches (Hypothesis)."""

from __future__ import annotations

import functools
import tempfile
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcustoms.tariff import (
    ExchangeRates,
    TariffSchedule,
    assess,
    list_regimes,
    load_regime,
    load_schedule,
)
from tests.tariff.conftest import RATE_ROWS, SCHEDULE_TOML, make_consignments, make_items

CODES = ["610910", "610990", "611020", "040690", "220421", "220830", "240220", "490199",
         "950300", "010121", "620610"]  # fmt: skip
DAYS = [date(2021, 3, 1), date(2025, 3, 1), date(2026, 7, 2), date(2026, 8, 2)]
REGIMES = [regime.id for regime in list_regimes()]
MONEY_COLUMNS = ("customs_value", "duty", "excise", "vat", "vat_at_sale", "total_payable_at_border")

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("3000"), places=2)
item = st.fixed_dictionaries(
    {
        "hs_code": st.sampled_from(CODES),
        "value": amounts,
        "net_mass_kg": st.none() | st.floats(0.001, 50),
        "quantity": st.none() | st.integers(1, 400).map(float),
        "quantity_unit": st.sampled_from([None, "LTR", "H87"]),
    }
)
consignment = st.fixed_dictionaries(
    {
        "currency": st.sampled_from(["EUR", "USD", "GBP", "CNY"]),
        "transport_cost": st.none() | st.decimals(min_value=0, max_value=50, places=2),
        "insurance_cost": st.none() | st.decimals(min_value=0, max_value=5, places=2),
        "ioss_number": st.sampled_from([None, "", "IM2760000001"]),
        "country_of_destination": st.sampled_from([None, "DE", "FR", "FI", "GB"]),
        "day": st.sampled_from(DAYS),
        "items": st.lists(item, min_size=1, max_size=4),
    }
)


def _frames(batch: list[dict[str, Any]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    cons_rows: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []
    for i, row in enumerate(batch):
        cid = f"C{i}"
        day = row["day"]
        cons_rows.append(
            {
                **{k: v for k, v in row.items() if k not in ("items", "day")},
                "consignment_id": cid,
                "filed_at": datetime(day.year, day.month, day.day, 9, tzinfo=UTC),
            }
        )
        item_rows.extend({"consignment_id": cid, **it} for it in row["items"])
    return make_consignments(cons_rows), make_items(item_rows)


@functools.cache
def _schedule() -> TariffSchedule:
    path = Path(tempfile.mkdtemp()) / "test.toml"
    path.write_text(SCHEDULE_TOML, encoding="utf-8")
    return load_schedule(path)


RATES = ExchangeRates.from_rows(RATE_ROWS, base="EUR", id="test-rates")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(consignment, min_size=1, max_size=5), st.sampled_from(REGIMES))
def test_amounts_are_never_negative_and_totals_add_up(
    batch: list[dict[str, Any]], regime_id: str
) -> None:
    cons, items = _frames(batch)
    result = assess(cons, items, regime=load_regime(regime_id), schedule=_schedule(), rates=RATES)
    out_items, out_cons = result.items, result.consignments
    assert out_items.height == items.height
    assert out_cons.height == cons.height
    for name in MONEY_COLUMNS:
        assert out_items[name].min() >= 0, name  # type: ignore[operator]
    parts = out_items.select(pl.col("duty") + pl.col("excise") + pl.col("vat"))
    assert parts.to_series().equals(out_items["total_payable_at_border"], check_names=False)
    sums = out_items.group_by("consignment_id").agg(
        pl.col("customs_value", "duty", "excise", "vat", "vat_at_sale").sum()
    )
    joined = out_cons.join(sums, on="consignment_id")
    for total, part in [
        ("customs_value", "customs_value_right"),
        ("duty_total", "duty"),
        ("excise_total", "excise"),
        ("vat_total", "vat"),
        ("vat_at_sale_total", "vat_at_sale"),
    ]:
        assert joined[total].equals(joined[part], check_names=False), total
    summed = out_cons.select(pl.col("duty_total") + pl.col("excise_total") + pl.col("vat_total"))
    assert summed.to_series().equals(out_cons["total_payable_at_border"], check_names=False)
    # Amounts are whole cents.
    for name in MONEY_COLUMNS:
        cents = out_items[name].cast(pl.Decimal(18, 2)).cast(pl.Decimal(18, 4))
        assert cents.equals(out_items[name], check_names=False), name
    # A consignment never both collects VAT at sale and relieves it, nor flat duty and relief.
    assert not (out_cons["flat_duty_applied"] & out_cons["duty_relief_applied"]).any()


@settings(max_examples=40, deadline=None)
@given(st.lists(consignment, min_size=1, max_size=4))
def test_flat_duty_counts_distinct_subheadings(batch: list[dict[str, Any]]) -> None:
    cons, items = _frames(batch)
    result = assess(
        cons, items, regime=load_regime("eu-2026-07"), schedule=_schedule(), rates=RATES
    )
    distinct = items.group_by("consignment_id").agg(
        pl.col("hs_code").str.slice(0, 6).n_unique().alias("n")
    )
    joined = result.consignments.join(distinct, on="consignment_id")
    for row in joined.iter_rows(named=True):
        if row["flat_duty_applied"]:
            assert row["flat_duty_items"] == row["n"]
            assert row["duty_total"] == 3 * row["n"]
        else:
            assert row["intrinsic_value"] > 150


def _half_up(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["610990", "611020", "950300", "010121"]),
            st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999"), places=4),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_matches_a_decimal_reference(rows: list[tuple[str, Decimal]]) -> None:
    """Plain regime, EUR, no freight: duty and VAT equal a Python Decimal computation."""
    rate = {
        "610990": Decimal(10),
        "611020": Decimal(12),
        "950300": Decimal(0),
        "010121": Decimal(0),
    }
    cons = make_consignments([{"consignment_id": f"C{i}"} for i in range(len(rows))])
    items = make_items(
        [{"consignment_id": f"C{i}", "hs_code": hs, "value": v} for i, (hs, v) in enumerate(rows)]
    )
    result = assess(
        cons, items, regime=load_regime("plain-national"), schedule=_schedule(), rates=RATES
    )
    for (hs, value), out in zip(rows, result.items.iter_rows(named=True), strict=True):
        customs_value = _half_up(value)
        duty = _half_up(customs_value * rate[hs] / 100)
        vat = _half_up((customs_value + duty) * Decimal(20) / 100)
        assert (out["customs_value"], out["duty"], out["vat"]) == (customs_value, duty, vat)
