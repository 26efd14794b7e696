"""Hand-computed assessments for every regime preset.

All cases use the test schedule and rates of ``conftest.py``: 6109 at 10 %, 61 at 12 %,
610910 at 8 % from 2026-08-01, wine 0.50 EUR/litre, spirits excise 2 EUR/litre, cigarettes
50 % + excise 10 % + 0.10 EUR/stick, books with VAT 5.5 %, toys 0 %; 1 USD = 0.8 EUR,
1 EUR = 0.8 GBP, 1 USD = 0.64 GBP. Destination DE (VAT 19 %) unless stated. Every amount is
rounded half-up to the cent; the arithmetic is written next to each expectation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from smartcustoms.tariff import list_regimes
from tests.tariff.conftest import AssessFn

D = Decimal
IOSS = "IM2760000001"


@dataclass
class Case:
    """One consignment, its items and the expected results."""

    regime: str
    filed: datetime
    consignment: dict[str, Any]
    items: list[dict[str, Any]]
    expect: dict[str, Any]
    item_expect: list[dict[str, Any]] = field(default_factory=list)


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


CASES: dict[str, Case] = {
    # ---- eu-2021-07: duty relief <= EUR 150, no VAT de minimis, IOSS at sale -------------
    "eu-2021-07 relief, VAT at border without IOSS": Case(
        "eu-2021-07",
        at(2025, 3, 1),
        {"transport_cost": "10"},
        [{"hs_code": "610990", "value": "100"}],
        # IV 100 <= 150 -> duty 0; CV = 100 + 10 = 110; VAT 110 x 19% = 20.90
        {
            "intrinsic_value": D("100"),
            "customs_value": D("110"),
            "duty_total": D("0"),
            "vat_total": D("20.90"),
            "vat_at_sale_total": D("0"),
            "total_payable_at_border": D("20.90"),
            "duty_relief_applied": True,
            "vat_collected_at_sale": False,
        },
        [{"duty_rule": "eu-2021-07:duty-de-minimis intrinsic value <= 150.00 EUR"}],
    ),
    "eu-2021-07 IOSS: VAT collected at sale": Case(
        "eu-2021-07",
        at(2025, 3, 1),
        {"transport_cost": "10", "ioss_number": IOSS},
        [{"hs_code": "610990", "value": "100"}],
        # same amounts; the 20.90 VAT was collected at sale, nothing due at the border
        {
            "vat_total": D("0"),
            "vat_at_sale_total": D("20.90"),
            "total_payable_at_border": D("0"),
            "vat_collected_at_sale": True,
        },
        [{"vat_rule": "eu-2021-07:vat-at-sale 19% collected at sale (IOSS-like number)"}],
    ),
    "eu-2021-07 exactly EUR 150 is relieved": Case(
        "eu-2021-07",
        at(2025, 3, 1),
        {},
        [{"hs_code": "610990", "value": "150"}],
        # 150.00 does not exceed 150 -> duty 0; VAT 150 x 19% = 28.50
        {"duty_total": D("0"), "vat_total": D("28.50"), "duty_relief_applied": True},
    ),
    "eu-2021-07 EUR 150.01 pays duty; IOSS no longer applies": Case(
        "eu-2021-07",
        at(2025, 3, 1),
        {"ioss_number": IOSS},
        [{"hs_code": "610990", "value": "150.01"}],
        # duty 150.01 x 10% = 15.001 -> 15.00; VAT (150.01 + 15.00) x 19% = 31.3519 -> 31.35
        {
            "duty_total": D("15.00"),
            "vat_total": D("31.35"),
            "total_payable_at_border": D("46.35"),
            "duty_relief_applied": False,
            "vat_collected_at_sale": False,
        },
        [{"duty_rule": "test:6109 ad-valorem 10%"}],
    ),
    "eu-2021-07 tobacco: no relief, excise, VAT at border despite IOSS": Case(
        "eu-2021-07",
        at(2025, 3, 1),
        {"ioss_number": IOSS},
        [{"hs_code": "240220", "value": "20", "quantity": 200.0, "quantity_unit": "H87"}],
        # 24 is excluded from relief: duty 20 x 50% = 10.00
        # excise (20 + 10) x 10% = 3.00 + 200 sticks x 0.10 = 20.00 -> 23.00
        # excise goods cannot use IOSS: VAT (20 + 10 + 23) x 19% = 10.07
        {
            "duty_total": D("10.00"),
            "excise_total": D("23.00"),
            "vat_total": D("10.07"),
            "total_payable_at_border": D("43.07"),
            "duty_relief_applied": False,
            "vat_collected_at_sale": False,
        },
        [{"excise_rule": "test:240220 excise 10% + excise 0.1 EUR/H87"}],
    ),
    "eu-2021-07 USD converted at 0.8, France 20%": Case(
        "eu-2021-07",
        at(2025, 3, 1),
        {"currency": "USD", "transport_cost": "25", "country_of_destination": "FR"},
        [{"hs_code": "610990", "value": "100"}],
        # IV 100 x 0.8 = 80.00 -> relief; CV (100 + 25) x 0.8 = 100.00; VAT 20% = 20.00
        {
            "intrinsic_value": D("80"),
            "customs_value": D("100"),
            "vat_total": D("20.00"),
            "exchange_rate": D("0.8"),
            "declared_currency": "USD",
        },
        [{"vat_rule": "eu-2021-07:vat 20% at border (destination FR)"}],
    ),
    # ---- eu-2026-07: EUR 3 per tariff subheading <= EUR 150 --------------------------------
    "eu-2026-07 two subheadings in three items": Case(
        "eu-2026-07",
        at(2026, 7, 2),
        {"ioss_number": IOSS},
        [
            {"hs_code": "610910", "value": "30"},
            {"hs_code": "610910", "value": "20"},
            {"hs_code": "950300", "value": "10"},
        ],
        # IV 60 <= 150: subheadings {610910, 950300} -> 2 x 3.00 = 6.00 (on items 1 and 3)
        # VAT at sale: (30 + 3) x 19% = 6.27; 20 x 19% = 3.80; (10 + 3) x 19% = 2.47 -> 12.54
        {
            "duty_total": D("6.00"),
            "vat_total": D("0"),
            "vat_at_sale_total": D("12.54"),
            "total_payable_at_border": D("6.00"),
            "flat_duty_items": 2,
            "flat_duty_applied": True,
            "vat_collected_at_sale": True,
            "rules": "eu-2026-07 CIF; duty flat 2 x 3.00 EUR; VAT at sale",
        },
        [
            {"duty": D("3"), "vat_at_sale": D("6.27")},
            {
                "duty": D("0"),
                "duty_rule": "eu-2026-07:flat-duty subheading already charged on an earlier item",
            },
            {
                "duty": D("3"),
                "duty_rule": "eu-2026-07:flat-duty 3.00 EUR per tariff subheading (6-digit)",
            },
        ],
    ),
    "eu-2026-07 Council example: silk blouse + 2 wool blouses = EUR 6": Case(
        "eu-2026-07",
        at(2026, 7, 2),
        {"country_of_destination": "FR"},
        [
            {"hs_code": "620610", "value": "40"},
            {"hs_code": "620620", "value": "25"},
            {"hs_code": "620620", "value": "25"},
        ],
        # 2 subheadings -> 6.00; no IOSS -> VAT at border, France 20%:
        # (40 + 3) x 20% = 8.60; (25 + 3) x 20% = 5.60; 25 x 20% = 5.00 -> 19.20
        {"duty_total": D("6.00"), "vat_total": D("19.20"), "total_payable_at_border": D("25.20")},
    ),
    "eu-2026-07 above EUR 150: normal tariff": Case(
        "eu-2026-07",
        at(2026, 7, 2),
        {"ioss_number": IOSS},
        [{"hs_code": "610990", "value": "200"}],
        # duty 200 x 10% = 20.00; VAT (200 + 20) x 19% = 41.80 at the border
        {
            "duty_total": D("20.00"),
            "vat_total": D("41.80"),
            "flat_duty_applied": False,
            "vat_collected_at_sale": False,
        },
    ),
    "eu-2026-07 exactly EUR 150: flat duty": Case(
        "eu-2026-07",
        at(2026, 7, 2),
        {},
        [{"hs_code": "610990", "value": "150"}],
        # flat 3.00; VAT (150 + 3) x 19% = 29.07
        {"duty_total": D("3.00"), "vat_total": D("29.07"), "total_payable_at_border": D("32.07")},
    ),
    "eu-2026-07 spirits: flat duty, excise, VAT at border": Case(
        "eu-2026-07",
        at(2026, 7, 2),
        {"ioss_number": IOSS},
        [{"hs_code": "220830", "value": "30", "quantity": 1.0, "quantity_unit": "LTR"}],
        # flat 3.00 (no exclusion); excise 1 l x 2 = 2.00; VAT (30 + 3 + 2) x 19% = 6.65
        {
            "duty_total": D("3.00"),
            "excise_total": D("2.00"),
            "vat_total": D("6.65"),
            "total_payable_at_border": D("11.65"),
            "rules": "eu-2026-07 CIF; duty flat 1 x 3.00 EUR; VAT at border; excise",
        },
    ),
    # ---- uk-2021: GBP 135, VAT at the point of sale ---------------------------------------
    "uk-2021 below GBP 135: no duty, VAT at sale without a number": Case(
        "uk-2021",
        at(2026, 7, 2),
        {"currency": "USD"},
        [{"hs_code": "610990", "value": "100"}],
        # 100 USD x 0.64 = 64.00 GBP -> relief; VAT 20% x 64 = 12.80 collected at sale
        {
            "currency": "GBP",
            "intrinsic_value": D("64"),
            "exchange_rate": D("0.64"),
            "duty_total": D("0"),
            "vat_total": D("0"),
            "vat_at_sale_total": D("12.80"),
            "total_payable_at_border": D("0"),
            "vat_collected_at_sale": True,
        },
        [{"vat_rule": "uk-2021:vat-at-sale 20% collected at sale (mandatory below threshold)"}],
    ),
    "uk-2021 above GBP 135": Case(
        "uk-2021",
        at(2026, 7, 2),
        {"currency": "USD"},
        [{"hs_code": "610990", "value": "250"}],
        # 250 x 0.64 = 160.00; duty 10% = 16.00; VAT (160 + 16) x 20% = 35.20
        {"duty_total": D("16.00"), "vat_total": D("35.20"), "total_payable_at_border": D("51.20")},
    ),
    "uk-2021 exactly GBP 135": Case(
        "uk-2021",
        at(2026, 7, 2),
        {"currency": "EUR"},
        [{"hs_code": "610990", "value": "168.75"}],
        # 168.75 EUR x 0.8 = 135.00 -> relief, VAT 27.00 at sale
        {"duty_total": D("0"), "vat_at_sale_total": D("27.00"), "total_payable_at_border": D("0")},
    ),
    "uk-2021 GBP 135.01": Case(
        "uk-2021",
        at(2026, 7, 2),
        {"currency": "EUR"},
        [{"hs_code": "610990", "value": "168.7625"}],
        # 168.7625 x 0.8 = 135.01; duty 13.501 -> 13.50; VAT (135.01 + 13.50) x 20% = 29.702
        # -> 29.70
        {"duty_total": D("13.50"), "vat_total": D("29.70"), "vat_collected_at_sale": False},
    ),
    "uk-2021 spirits below GBP 135: excise, VAT at border": Case(
        "uk-2021",
        at(2026, 7, 2),
        {"currency": "USD"},
        [{"hs_code": "220830", "value": "50", "quantity": 1.0, "quantity_unit": "LTR"}],
        # 50 x 0.64 = 32.00; 2208 excluded from relief, line duty 0; excise 2 EUR x 0.8 =
        # 1.60 GBP; VAT (32 + 0 + 1.60) x 20% = 6.72 at border
        {
            "duty_total": D("0"),
            "excise_total": D("1.60"),
            "vat_total": D("6.72"),
            "total_payable_at_border": D("8.32"),
            "duty_relief_applied": False,
        },
    ),
    # ---- plain-national: no de minimis, VAT 20 % at the border -----------------------------
    "plain-national tiny consignment pays everything at the border": Case(
        "plain-national",
        at(2026, 7, 2),
        {"transport_cost": "5", "ioss_number": IOSS},
        [{"hs_code": "610990", "value": "10"}],
        # CV 10 + 5 = 15.00; duty 1.50; VAT (15 + 1.50) x 20% = 3.30
        {
            "customs_value": D("15"),
            "duty_total": D("1.50"),
            "vat_total": D("3.30"),
            "total_payable_at_border": D("4.80"),
            "rules": "plain-national CIF; duty tariff test; VAT at border",
        },
    ),
    "plain-national rounds half up": Case(
        "plain-national",
        at(2026, 7, 2),
        {},
        [{"hs_code": "610990", "value": "0.25"}],
        # duty 0.25 x 10% = 0.025 -> 0.03 (half-even would give 0.02)
        # VAT (0.25 + 0.03) x 20% = 0.056 -> 0.06
        {"duty_total": D("0.03"), "vat_total": D("0.06")},
    ),
    "plain-national VAT rate from the schedule line": Case(
        "plain-national",
        at(2026, 7, 2),
        {},
        [{"hs_code": "490199", "value": "20"}],
        # no duty fields -> 0; VAT 20 x 5.5% = 1.10
        {"duty_total": D("0"), "vat_total": D("1.10")},
        [{"vat_rule": "plain-national:vat 5.5% at border (tariff line)", "vat_rate_pct": D("5.5")}],
    ),
    # ---- us-section321: USD 800, FOB, no VAT ----------------------------------------------
    "us-section321 below USD 800, FOB ignores freight": Case(
        "us-section321",
        at(2024, 5, 1),
        {"currency": "USD", "transport_cost": "50"},
        [{"hs_code": "610990", "value": "500"}],
        # IV 500 <= 800 -> relief; FOB: CV 500; no VAT
        {
            "customs_value": D("500"),
            "duty_total": D("0"),
            "vat_total": D("0"),
            "valuation_basis": "FOB",
            "duty_relief_applied": True,
        },
    ),
    "us-section321 exactly USD 800": Case(
        "us-section321",
        at(2024, 5, 1),
        {"currency": "USD"},
        [{"hs_code": "610990", "value": "800"}],
        {"duty_total": D("0"), "duty_relief_applied": True},
    ),
    "us-section321 above USD 800": Case(
        "us-section321",
        at(2024, 5, 1),
        {"currency": "USD"},
        [{"hs_code": "610990", "value": "1000"}],
        # duty 1000 x 10% = 100.00 USD; VAT 0%
        {"duty_total": D("100.00"), "vat_total": D("0"), "total_payable_at_border": D("100")},
    ),
    "us-section321 specific duty converted EUR to USD, half up": Case(
        "us-section321",
        at(2024, 5, 1),
        {"currency": "USD"},
        [{"hs_code": "220421", "value": "900", "quantity": 3.0, "quantity_unit": "LTR"}],
        # 0.50 EUR/l x 1.25 = 0.625 USD/l x 3 l = 1.875 -> 1.88
        {"duty_total": D("1.88")},
        [{"duty_rule": "test:2204 specific 0.5 EUR/LTR"}],
    ),
    # ---- eu-pre-2021: duty <= EUR 150 and VAT <= EUR 22, set separately -------------------
    "eu-pre-2021 EUR 22: duty and VAT relieved": Case(
        "eu-pre-2021",
        at(2021, 3, 1),
        {},
        [{"hs_code": "610990", "value": "22"}],
        {
            "duty_total": D("0"),
            "vat_total": D("0"),
            "duty_relief_applied": True,
            "vat_relief_applied": True,
        },
        [{"vat_rule": "eu-pre-2021:vat-de-minimis intrinsic value <= 22.00 EUR"}],
    ),
    "eu-pre-2021 EUR 22.01: VAT due, duty still relieved": Case(
        "eu-pre-2021",
        at(2021, 3, 1),
        {},
        [{"hs_code": "610990", "value": "22.01"}],
        # VAT 22.01 x 19% = 4.1819 -> 4.18
        {"duty_total": D("0"), "vat_total": D("4.18"), "vat_relief_applied": False},
    ),
    "eu-pre-2021 spirits excluded from both reliefs": Case(
        "eu-pre-2021",
        at(2021, 3, 1),
        {},
        [{"hs_code": "220830", "value": "10", "quantity": 1.0, "quantity_unit": "LTR"}],
        # duty line 0%; excise 2.00; VAT (10 + 0 + 2) x 19% = 2.28
        {"excise_total": D("2.00"), "vat_total": D("2.28"), "vat_relief_applied": False},
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hand_computed_case(name: str, run: AssessFn) -> None:
    """Each preset produces the amounts computed by hand in the table above."""
    case = CASES[name]
    result = run(
        case.regime,
        [{"consignment_id": "C1", "filed_at": case.filed, **case.consignment}],
        [{"consignment_id": "C1", **item} for item in case.items],
    )
    row = result.consignments.row(0, named=True)
    for key, expected in case.expect.items():
        assert row[key] == expected, f"{key}: {row[key]!r} != {expected!r}"
    assert row["regime_id"] == case.regime
    assert row["is_regime_in_force"] is True
    for item_row, expected_item in zip(
        result.items.iter_rows(named=True), case.item_expect, strict=False
    ):
        for key, expected in expected_item.items():
            assert item_row[key] == expected, f"item {item_row['item_no']} {key}"


def test_every_preset_has_a_hand_computed_case() -> None:
    """No preset ships without at least one hand-computed case here."""
    covered = {case.regime for case in CASES.values()}
    assert {regime.id for regime in list_regimes()} <= covered
