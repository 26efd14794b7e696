"""Column names and schemas of the assessment frames (:class:`smartcustoms.tariff.Assessment`).

Money columns are :data:`smartcustoms.model.MONEY` (``Decimal(18, 4)``) in the regime's
currency, each rounded half-up to the currency's minor unit. Rule columns hold rule ids: the
tariff line (``eu-demo:6109 ad-valorem 12%``) or the regime rule (``eu-2026-07:flat-duty ...``)
that produced the amount.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from smartcustoms.model import MONEY
from smartcustoms.model.columns import CONSIGNMENT_ID, HS_CODE, ITEM_NO

__all__ = [
    "ASSESSMENT_CONSIGNMENT_SCHEMA",
    "ASSESSMENT_DATE",
    "ASSESSMENT_ITEM_SCHEMA",
    "CONSIGNMENT_ID",
    "CURRENCY",
    "CUSTOMS_VALUE",
    "DECLARED_CURRENCY",
    "DUTY",
    "DUTY_RELIEF_APPLIED",
    "DUTY_RULE",
    "DUTY_TOTAL",
    "EXCHANGE_RATE",
    "EXCHANGE_RATE_DATE",
    "EXCISE",
    "EXCISE_RULE",
    "EXCISE_TOTAL",
    "FLAT_DUTY_APPLIED",
    "FLAT_DUTY_ITEMS",
    "HS_CODE",
    "INTRINSIC_VALUE",
    "IS_REGIME_IN_FORCE",
    "IS_SPECIFIC_BASIS_MISSING",
    "ITEM_COUNT",
    "ITEM_NO",
    "PCT",
    "RATE",
    "REGIME_ID",
    "RULES",
    "TARIFF_LINE_ID",
    "TOTAL_PAYABLE_AT_BORDER",
    "VALUATION_BASIS",
    "VAT",
    "VAT_AT_SALE",
    "VAT_AT_SALE_TOTAL",
    "VAT_COLLECTED_AT_SALE",
    "VAT_RATE_PCT",
    "VAT_RELIEF_APPLIED",
    "VAT_RULE",
    "VAT_TOTAL",
]

RATE: Final = pl.Decimal(38, 10)
"""Dtype of the exchange rate shown in results (10 decimal places, half-up)."""

PCT: Final = pl.Decimal(9, 4)
"""Dtype of percentages."""

# -- items -----------------------------------------------------------------------------------
TARIFF_LINE_ID: Final = "tariff_line_id"
"""``<schedule id>:<line id>`` of the line applied (null when no line matches)."""
CUSTOMS_VALUE: Final = "customs_value"
"""Customs value in the regime currency (CIF: with apportioned transport and insurance)."""
DUTY: Final = "duty"
DUTY_RULE: Final = "duty_rule"
EXCISE: Final = "excise"
EXCISE_RULE: Final = "excise_rule"
VAT_RATE_PCT: Final = "vat_rate_pct"
VAT: Final = "vat"
"""Import VAT payable at the border (0 when collected at sale or relieved)."""
VAT_RULE: Final = "vat_rule"
VAT_AT_SALE: Final = "vat_at_sale"
"""VAT the seller or marketplace should have collected at sale (same base; indicative)."""
TOTAL_PAYABLE_AT_BORDER: Final = "total_payable_at_border"
"""Duty + excise + VAT payable at the border."""
IS_SPECIFIC_BASIS_MISSING: Final = "is_specific_basis_missing"
"""A specific duty or excise could not be computed (net mass or quantity in its unit absent)."""

# -- consignments ----------------------------------------------------------------------------
REGIME_ID: Final = "regime_id"
IS_REGIME_IN_FORCE: Final = "is_regime_in_force"
"""Whether the assessment date falls in the regime's stated period."""
VALUATION_BASIS: Final = "valuation_basis"
CURRENCY: Final = "currency"
"""The regime currency every money column is in."""
DECLARED_CURRENCY: Final = "declared_currency"
"""The consignment's invoice currency."""
ASSESSMENT_DATE: Final = "assessment_date"
EXCHANGE_RATE: Final = "exchange_rate"
"""Regime-currency units per one declared-currency unit (display; computation is exact)."""
EXCHANGE_RATE_DATE: Final = "exchange_rate_date"
"""``valid_from`` of the rate row(s) used (the later of two for a cross rate); null if none."""
INTRINSIC_VALUE: Final = "intrinsic_value"
"""Price of the goods alone (sum of item values), converted and rounded once."""
DUTY_TOTAL: Final = "duty_total"
EXCISE_TOTAL: Final = "excise_total"
VAT_TOTAL: Final = "vat_total"
VAT_AT_SALE_TOTAL: Final = "vat_at_sale_total"
ITEM_COUNT: Final = "item_count"
FLAT_DUTY_ITEMS: Final = "flat_duty_items"
"""Number of flat-duty "items" (distinct truncated HS codes) charged."""
DUTY_RELIEF_APPLIED: Final = "duty_relief_applied"
VAT_RELIEF_APPLIED: Final = "vat_relief_applied"
FLAT_DUTY_APPLIED: Final = "flat_duty_applied"
VAT_COLLECTED_AT_SALE: Final = "vat_collected_at_sale"
RULES: Final = "rules"
"""Compact summary of the rules applied to the consignment."""

ASSESSMENT_ITEM_SCHEMA: Final = pl.Schema(
    [
        (CONSIGNMENT_ID, pl.String()),
        (ITEM_NO, pl.Int64()),
        (HS_CODE, pl.String()),
        (TARIFF_LINE_ID, pl.String()),
        (CUSTOMS_VALUE, MONEY),
        (DUTY, MONEY),
        (DUTY_RULE, pl.String()),
        (EXCISE, MONEY),
        (EXCISE_RULE, pl.String()),
        (VAT_RATE_PCT, PCT),
        (VAT, MONEY),
        (VAT_RULE, pl.String()),
        (VAT_AT_SALE, MONEY),
        (TOTAL_PAYABLE_AT_BORDER, MONEY),
        (IS_SPECIFIC_BASIS_MISSING, pl.Boolean()),
    ]
)
"""Schema of ``Assessment.items`` (one row per goods item)."""

ASSESSMENT_CONSIGNMENT_SCHEMA: Final = pl.Schema(
    [
        (CONSIGNMENT_ID, pl.String()),
        (REGIME_ID, pl.String()),
        (IS_REGIME_IN_FORCE, pl.Boolean()),
        (VALUATION_BASIS, pl.String()),
        (CURRENCY, pl.String()),
        (DECLARED_CURRENCY, pl.String()),
        (ASSESSMENT_DATE, pl.Date()),
        (EXCHANGE_RATE, RATE),
        (EXCHANGE_RATE_DATE, pl.Date()),
        (INTRINSIC_VALUE, MONEY),
        (CUSTOMS_VALUE, MONEY),
        (DUTY_TOTAL, MONEY),
        (EXCISE_TOTAL, MONEY),
        (VAT_TOTAL, MONEY),
        (VAT_AT_SALE_TOTAL, MONEY),
        (TOTAL_PAYABLE_AT_BORDER, MONEY),
        (ITEM_COUNT, pl.UInt32()),
        (FLAT_DUTY_ITEMS, pl.UInt32()),
        (DUTY_RELIEF_APPLIED, pl.Boolean()),
        (VAT_RELIEF_APPLIED, pl.Boolean()),
        (FLAT_DUTY_APPLIED, pl.Boolean()),
        (VAT_COLLECTED_AT_SALE, pl.Boolean()),
        (RULES, pl.String()),
    ]
)
"""Schema of ``Assessment.consignments`` (one row per consignment)."""
