"""Column names and schema of the ground-truth labels synthetic traffic comes with.

Labels are written to their own file and never appear in the filings: they are what a risk
model is trained and evaluated against, and what a perfect control would have found.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from smartcustoms.model.columns import MONEY

__all__ = [
    "DECLARED_HS_CODES",
    "DECLARED_TOTAL_VALUE",
    "FRAUD_TYPE",
    "HAS_RESTRICTED_GOODS",
    "IS_NONCOMPLIANT",
    "LABEL_SCHEMA",
    "REVENUE_AT_STAKE",
    "SELLER_IS_REPEAT_OFFENDER",
    "SPLIT_GROUP_ID",
    "TRUE_HS_CODES",
    "TRUE_TOTAL_VALUE",
]

IS_NONCOMPLIANT: Final = "is_noncompliant"
FRAUD_TYPE: Final = "fraud_type"
SELLER_IS_REPEAT_OFFENDER: Final = "seller_is_repeat_offender"
SPLIT_GROUP_ID: Final = "split_group_id"
TRUE_TOTAL_VALUE: Final = "true_total_value"
DECLARED_TOTAL_VALUE: Final = "declared_total_value"
TRUE_HS_CODES: Final = "true_hs_codes"
DECLARED_HS_CODES: Final = "declared_hs_codes"
HAS_RESTRICTED_GOODS: Final = "has_restricted_goods"
REVENUE_AT_STAKE: Final = "revenue_at_stake"

LABEL_SCHEMA: Final = pl.Schema(
    [
        ("consignment_id", pl.String()),
        ("filing_id", pl.String()),
        (IS_NONCOMPLIANT, pl.Boolean()),
        (FRAUD_TYPE, pl.String()),
        ("seller_id", pl.String()),
        (SELLER_IS_REPEAT_OFFENDER, pl.Boolean()),
        (SPLIT_GROUP_ID, pl.String()),
        ("currency", pl.String()),
        (TRUE_TOTAL_VALUE, MONEY),
        (DECLARED_TOTAL_VALUE, MONEY),
        (TRUE_HS_CODES, pl.List(pl.String())),
        (DECLARED_HS_CODES, pl.List(pl.String())),
        (HAS_RESTRICTED_GOODS, pl.Boolean()),
        (REVENUE_AT_STAKE, MONEY),
    ]
)
"""One row per consignment.

* ``fraud_type`` - null when compliant, else a :class:`~smartcustoms.synth.config.FraudType`.
* ``split_group_id`` - for split shipments, an id shared by the parts of one order.
* ``true_total_value`` / ``declared_total_value`` - in the consignment ``currency``.
* ``true_hs_codes`` / ``declared_hs_codes`` - one code per goods item, in ``item_no`` order.
* ``has_restricted_goods`` - the parcel really holds restricted goods (declared or not).
* ``revenue_at_stake`` - EUR: duties and taxes on the true facts minus those on the declared
  facts, from :func:`smartcustoms.tariff.assess`; null until that stage has run.
"""
