"""Behaviour of ``assess`` beyond the preset table: lines, dates, rates, order, errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from smartcustoms.errors import InvalidInputError, MissingExchangeRateError
from smartcustoms.tariff import ExchangeRates, assess, columns, load_regime
from tests.tariff.conftest import AssessFn, make_consignments, make_items

D = Decimal


@pytest.mark.parametrize(
    ("filed", "hs_code", "line", "duty"),
    [
        # 610910 has its own 8 % line only from 2026-08-01; before that 6109 (10 %) wins.
        (datetime(2026, 7, 31, 23, 59, tzinfo=UTC), "610910", "test:6109", D("10.00")),
        (datetime(2026, 8, 1, 0, 0, tzinfo=UTC), "610910", "test:610910", D("8.00")),
        # 611020 matches only the chapter line 61 (12 %).
        (datetime(2026, 8, 1, tzinfo=UTC), "611020", "test:61", D("12.00")),
        # National 10-digit line: still the longest prefix, 610910.
        (datetime(2026, 8, 1, tzinfo=UTC), "6109100010", "test:610910", D("8.00")),
        # No line at all: duty 0.
        (datetime(2026, 8, 1, tzinfo=UTC), "010121", None, D("0")),
    ],
)
def test_longest_prefix_in_force_wins(
    run: AssessFn, filed: datetime, hs_code: str, line: str | None, duty: Decimal
) -> None:
    result = run(
        "plain-national",
        [{"consignment_id": "C1", "filed_at": filed}],
        [{"consignment_id": "C1", "hs_code": hs_code, "value": "100"}],
    )
    item = result.items.row(0, named=True)
    assert item["tariff_line_id"] == line
    assert item["duty"] == duty
    if line is None:
        assert item["duty_rule"] == "test:no-line duty 0"


def test_specific_duty_per_kg(run: AssessFn) -> None:
    # cheese 2.50 EUR/kg x 0.4 kg = 1.00; VAT (10 + 1) x 20% = 2.20
    result = run(
        "plain-national",
        [{"consignment_id": "C1"}],
        [{"consignment_id": "C1", "hs_code": "040690", "value": "10", "net_mass_kg": 0.4}],
    )
    item = result.items.row(0, named=True)
    assert (item["duty"], item["vat"]) == (D("1.00"), D("2.20"))
    assert item["duty_rule"] == "test:0406 specific 2.5 EUR/kg"
    assert item["is_specific_basis_missing"] is False


@pytest.mark.parametrize(
    ("hs_code", "extra"),
    [
        ("040690", {}),  # no net mass
        ("220421", {"quantity": 2.0, "quantity_unit": "H87"}),  # litres expected
        ("220421", {"quantity_unit": "LTR"}),  # no quantity
    ],
)
def test_missing_specific_basis_is_flagged(
    run: AssessFn, hs_code: str, extra: dict[str, object]
) -> None:
    result = run(
        "plain-national",
        [{"consignment_id": "C1"}],
        [{"consignment_id": "C1", "hs_code": hs_code, "value": "10", **extra}],
    )
    item = result.items.row(0, named=True)
    assert item["duty"] == D("0")
    assert item["is_specific_basis_missing"] is True
    assert item["duty_rule"].endswith("(specific basis missing)")


def test_cif_apportions_transport_and_insurance_by_value(run: AssessFn) -> None:
    # 1 EUR of transport over items worth 1 and 2: 1.3333 -> 1.33 and 2.6667 -> 2.67
    result = run(
        "plain-national",
        [{"consignment_id": "C1", "transport_cost": "0.6", "insurance_cost": "0.4"}],
        [
            {"consignment_id": "C1", "hs_code": "950300", "value": "1"},
            {"consignment_id": "C1", "hs_code": "950300", "value": "2"},
        ],
    )
    assert result.items["customs_value"].to_list() == [D("1.33"), D("2.67")]
    assert result.consignments["customs_value"].item() == D("4.00")


@pytest.mark.parametrize(
    ("filed", "rate", "rate_date", "customs_value"),
    [
        # 1 EUR = 1.25 USD until 2026-07-14, then 1.6: 100 USD = 80.00, then 62.50 EUR
        (datetime(2026, 7, 14, 23, 59, 59, tzinfo=UTC), D("0.8"), date(2020, 1, 1), D("80")),
        (datetime(2026, 7, 15, 0, 0, tzinfo=UTC), D("0.625"), date(2026, 7, 15), D("62.50")),
    ],
)
def test_latest_rate_on_or_before_the_filing_date(
    run: AssessFn, filed: datetime, rate: Decimal, rate_date: date, customs_value: Decimal
) -> None:
    result = run(
        "plain-national",
        [{"consignment_id": "C1", "filed_at": filed, "currency": "USD"}],
        [{"consignment_id": "C1", "hs_code": "950300", "value": "100"}],
    )
    row = result.consignments.row(0, named=True)
    assert (row["exchange_rate"], row["exchange_rate_date"]) == (rate, rate_date)
    assert row["customs_value"] == customs_value
    assert row["assessment_date"] == filed.date()


def test_missing_filing_time_falls_back_to_on(run: AssessFn) -> None:
    result = run(
        "plain-national",
        [{"consignment_id": "C1", "filed_at": None, "currency": "USD"}],
        [{"consignment_id": "C1", "hs_code": "950300", "value": "100"}],
        on=date(2026, 8, 1),
    )
    row = result.consignments.row(0, named=True)
    assert row["assessment_date"] == date(2026, 8, 1)
    assert row["exchange_rate"] == D("0.625")


def test_missing_rates_lists_every_pair(run: AssessFn) -> None:
    early = datetime(2019, 12, 31, tzinfo=UTC)
    later = datetime(2026, 7, 3, tzinfo=UTC)
    consignments = [
        {"consignment_id": "C1", "currency": "JPY"},
        {"consignment_id": "C2", "currency": "JPY", "filed_at": later},
        {"consignment_id": "C3", "currency": "KRW"},
        {"consignment_id": "C4", "currency": "USD", "filed_at": early},
        {"consignment_id": "C5", "currency": "JPY"},  # same pair as C1: listed once
        {"consignment_id": "C6", "currency": "EUR", "filed_at": early},  # needs no rate
    ]
    items = [{"consignment_id": f"C{i}", "hs_code": "950300", "value": "1"} for i in range(1, 7)]
    with pytest.raises(MissingExchangeRateError) as info:
        run("plain-national", consignments, items)
    assert [p.path for p in info.value.problems] == [
        "JPY@2026-07-02",
        "JPY@2026-07-03",
        "KRW@2026-07-02",
        "USD@2019-12-31",
    ]
    assert info.value.code == "exchange_rate.missing"
    assert "4 (currency, date) pairs" in str(info.value)


def test_missing_rate_of_the_regime_currency_is_reported(run: AssessFn) -> None:
    rates = ExchangeRates.from_rows([], base="EUR", id="empty")
    with pytest.raises(MissingExchangeRateError) as info:
        run(
            "uk-2021",
            [{"consignment_id": "C1", "currency": "EUR"}],
            [{"consignment_id": "C1", "hs_code": "950300", "value": "1"}],
            rates=rates,
        )
    assert [p.path for p in info.value.problems] == ["GBP@2026-07-02"]


def test_results_follow_input_order_even_when_items_are_shuffled(run: AssessFn) -> None:
    consignments = [{"consignment_id": c} for c in ("B", "A", "C")]
    items = [
        {"consignment_id": "A", "item_no": 2, "hs_code": "610990", "value": "30"},
        {"consignment_id": "B", "item_no": 1, "hs_code": "950300", "value": "5"},
        {"consignment_id": "A", "item_no": 1, "hs_code": "610990", "value": "20"},
        {"consignment_id": "C", "item_no": 1, "hs_code": "040690", "value": "7"},
    ]
    shuffled = run("eu-2026-07", consignments, items)
    ordered_items = sorted(
        items, key=lambda r: ("BAC".index(str(r["consignment_id"])), r["item_no"])
    )
    ordered = run("eu-2026-07", consignments, ordered_items)
    assert shuffled.consignments["consignment_id"].to_list() == ["B", "A", "C"]
    assert shuffled.items.select("consignment_id", "item_no").rows() == [
        ("A", 2),
        ("B", 1),
        ("A", 1),
        ("C", 1),
    ]
    # Flat duty goes to the lowest item_no of a subheading, whatever the row order.
    a_rules = dict(
        shuffled.items.filter(pl.col("consignment_id") == "A").select("item_no", "duty").iter_rows()
    )
    assert a_rules == {1: D("3"), 2: D("0")}
    assert shuffled.consignments.equals(ordered.consignments)
    by_key = ["consignment_id", "item_no"]
    assert shuffled.items.sort(by_key).equals(ordered.items.sort(by_key))


def test_frames_have_the_documented_schemas_and_extra_columns_are_ignored(
    run: AssessFn, schedule: object, rates: ExchangeRates
) -> None:
    cons = make_consignments([{"consignment_id": "C1"}]).with_columns(_record=pl.lit(7))
    items = make_items([{"consignment_id": "C1", "hs_code": "950300", "value": "1"}])
    result = assess(
        cons,
        items.with_columns(_record=pl.lit(7)),
        regime=load_regime("eu-2026-07"),
        schedule=schedule,  # type: ignore[arg-type]
        rates=rates,
    )
    assert result.items.schema == columns.ASSESSMENT_ITEM_SCHEMA
    assert result.consignments.schema == columns.ASSESSMENT_CONSIGNMENT_SCHEMA


def test_empty_batch(run: AssessFn) -> None:
    result = run("eu-2026-07", [], [])
    assert result.items.is_empty()
    assert result.consignments.is_empty()
    assert result.items.schema == columns.ASSESSMENT_ITEM_SCHEMA


def test_consignment_without_items_assesses_to_zero(run: AssessFn) -> None:
    result = run(
        "plain-national",
        [{"consignment_id": "C1"}, {"consignment_id": "C2"}],
        [{"consignment_id": "C2", "hs_code": "950300", "value": "10"}],
    )
    first = result.consignments.row(0, named=True)
    assert (first["item_count"], first["total_payable_at_border"]) == (0, D("0"))
    assert result.consignments.row(1, named=True)["vat_total"] == D("2.00")


def test_items_of_unknown_consignments_are_rejected(run: AssessFn) -> None:
    with pytest.raises(InvalidInputError) as info:
        run(
            "plain-national",
            [{"consignment_id": "C1"}],
            [
                {"consignment_id": "C1", "hs_code": "950300", "value": "1"},
                {"consignment_id": "ZZ", "hs_code": "950300", "value": "1"},
            ],
        )
    assert [p.path for p in info.value.problems] == ["items[ZZ#1].consignment_id"]


def test_missing_columns_are_reported(
    run: AssessFn, schedule: object, rates: ExchangeRates
) -> None:
    cons = make_consignments([{"consignment_id": "C1"}]).drop("currency", "ioss_number")
    with pytest.raises(InvalidInputError) as info:
        assess(
            cons,
            make_items([]),
            regime=load_regime("plain-national"),
            schedule=schedule,  # type: ignore[arg-type]
            rates=rates,
        )
    assert {p.path for p in info.value.problems} == {
        "consignments.currency",
        "consignments.ioss_number",
    }


def test_regime_out_of_its_period_is_flagged_not_refused(run: AssessFn) -> None:
    result = run(
        "eu-2026-07",
        [{"consignment_id": "C1", "filed_at": datetime(2025, 1, 1, tzinfo=UTC)}],
        [{"consignment_id": "C1", "hs_code": "950300", "value": "10"}],
    )
    assert result.consignments["is_regime_in_force"].item() is False


def test_flat_duty_item_key_can_be_configured(run: AssessFn, tmp_path: object) -> None:
    """With item_digits = 10, two 10-digit lines of one subheading are two items."""
    from pathlib import Path

    source = Path(load_regime("eu-2026-07").origin)
    text = (Path(__file__).parents[2] / "src/smartcustoms/tariff/data" / source).read_text()
    path = Path(str(tmp_path)) / "ten.toml"
    path.write_text(text.replace("item_digits = 6", "item_digits = 10"), encoding="utf-8")
    items = [
        {"consignment_id": "C1", "hs_code": "6109100010", "value": "10"},
        {"consignment_id": "C1", "hs_code": "6109100090", "value": "10"},
    ]
    six = run("eu-2026-07", [{"consignment_id": "C1"}], items)
    ten = run(str(path), [{"consignment_id": "C1"}], items)
    assert six.consignments["duty_total"].item() == D("3.00")
    assert ten.consignments["duty_total"].item() == D("6.00")


def test_totals(run: AssessFn) -> None:
    result = run(
        "plain-national",
        [{"consignment_id": "C1"}, {"consignment_id": "C2"}],
        [
            {"consignment_id": "C1", "hs_code": "610990", "value": "10"},
            {"consignment_id": "C2", "hs_code": "610990", "value": "20"},
        ],
    )
    totals = result.totals()
    # duties 1.00 + 2.00; VAT 2.20 + 4.40
    assert totals["duty_total"] == D("3.00")
    assert totals["vat_total"] == D("6.60")
    assert totals["total_payable_at_border"] == D("9.60")


def test_shipped_schedule_rates_and_regime_work_together() -> None:
    """The shipped defaults assess a USD parcel of two T-shirts and a watch."""
    from smartcustoms.tariff import load_exchange_rates, load_schedule

    cons = make_consignments(
        [{"consignment_id": "P1", "currency": "USD", "ioss_number": "IM2760000001"}]
    )
    items = make_items(
        [
            {"consignment_id": "P1", "hs_code": "610910", "value": "12.00"},
            {"consignment_id": "P1", "hs_code": "610910", "value": "12.00"},
            {"consignment_id": "P1", "hs_code": "910211", "value": "40.00"},
        ]
    )
    result = assess(
        cons,
        items,
        regime=load_regime("eu-2026-07"),
        schedule=load_schedule(),
        rates=load_exchange_rates(),
    )
    row = result.consignments.row(0, named=True)
    # two subheadings -> EUR 6; VAT collected at sale under IOSS
    assert row["duty_total"] == D("6.00")
    assert row["vat_collected_at_sale"] is True
    assert row["exchange_rate_date"] == date(2025, 2, 28)


def test_currency_without_minor_unit_rounds_to_whole_units(
    run: AssessFn, tmp_path: object, schedule: object
) -> None:
    from pathlib import Path

    from smartcustoms.tariff import ExchangeRate, load_schedule

    regime = Path(str(tmp_path)) / "jp.toml"
    regime.write_text(
        'id = "jp-test"\ncurrency = "JPY"\nminor_unit = 0\nvaluation_basis = "CIF"\n'
        'legal_basis = "test"\n\n[vat]\nrate_pct = "10"\n',
        encoding="utf-8",
    )
    empty = Path(str(tmp_path)) / "empty.toml"
    empty.write_text(
        'id = "empty"\nversion = "1"\ncurrency = "EUR"\neffective_from = 2020-01-01\n'
        'legal_basis = "t"\n',
        encoding="utf-8",
    )
    rates = ExchangeRates.from_rows(
        [ExchangeRate("JPY", D("160"), date(2020, 1, 1), "test")], base="EUR", id="jpy"
    )
    items = [{"consignment_id": "C1", "hs_code": "610990", "value": "0.03"}]
    # 0.03 EUR x 160 = 4.8 -> 5 JPY; duty 10% x 5 = 0.5 -> 1; VAT (5 + 1) x 10% = 0.6 -> 1
    result = run(str(regime), [{"consignment_id": "C1"}], items, rates=rates)
    item = result.items.row(0, named=True)
    assert (item["customs_value"], item["duty"], item["vat"]) == (D(5), D(1), D(1))
    # With a schedule without lines: no duty, VAT (5 x 10% = 0.5 -> 1).
    bare = run(
        str(regime), [{"consignment_id": "C1"}], items, rates=rates, schedule=load_schedule(empty)
    )
    assert bare.items.row(0, named=True)["duty"] == D(0)
    assert bare.items.row(0, named=True)["vat"] == D(1)
    assert bare.items.row(0, named=True)["duty_rule"] == "empty:no-line duty 0"
